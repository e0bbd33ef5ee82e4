"""Test-wide settings: hypothesis profiles and shared fixtures."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VAR = "SRIOVIRT_HYPOTHESIS_PROFILE"

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)


def selected_profile(environ: dict[str, str]) -> str:
    """The profile for this run: the variable ``.ci/run`` sets, else CI."""
    chosen = environ.get(PROFILE_VAR)
    if chosen:
        return chosen
    return "ci" if environ.get("CI") else "dev"


settings.load_profile(selected_profile(dict(os.environ)))
