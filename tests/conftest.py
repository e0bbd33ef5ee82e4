"""Test-wide settings: hypothesis profiles and shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from oslo_context import context as oslo_context

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


@pytest.fixture(autouse=True)
def _request_context_reset() -> Iterator[None]:
    """No oslo.context request context outlives its test.

    Building a ``RequestContext`` makes it the thread's current one when
    none is (even with ``overwrite=False``), and oslo.log then formats
    every later line of the worker with it: the logging tests of the
    same worker would see another test's request id.  The store is
    oslo.context's own thread-local; there is no public way to empty
    it."""
    yield
    oslo_context._request_store.__dict__.pop("context", None)
