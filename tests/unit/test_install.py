"""The install promise: Debian's Python, every pin installable there.

A fresh Debian 12 machine has Python 3.11.2 at /usr/bin/python3; the
development machines have a newer ``python3`` first on PATH, which once hid
a pin that needs 3.11.5.  These tests hold the venv to Debian's
interpreter and every pin to the interpreter it runs on.
"""

from __future__ import annotations

import importlib.metadata
import pathlib
import platform
import subprocess
import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.conftest import PROFILE_VAR, selected_profile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = pathlib.Path("/usr/bin/python3")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "upper-constraints.txt").read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if pin:
            name, _, version = pin.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_make_builds_the_venv_with_debians_python() -> None:
    if sys.prefix != str(ROOT / ".venv") or not DEBIAN_PYTHON.exists():
        pytest.fail(
            f"run from the project's .venv ({ROOT / '.venv'}) on Debian; "
            f"this is {sys.prefix}"
        )
    debian = subprocess.run(
        [
            str(DEBIAN_PYTHON),
            "-c",
            "import platform;print(platform.python_version())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert platform.python_version() == debian


def test_every_pin_is_installed_and_allows_this_python() -> None:
    running = platform.python_version()
    wrong = []
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        requires = dist.metadata.get("Requires-Python")
        if requires and running not in SpecifierSet(requires):
            wrong.append(f"{name} needs Python {requires}")
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
    }
    for name, version in _pins().items():
        if installed.get(name) != version:
            wrong.append(f"{name}=={version} pinned, {installed.get(name)} in")
    assert wrong == []


def test_ci_selects_the_ci_hypothesis_profile() -> None:
    # .ci/run sources tools/ci-env; a runner that sets no CI variable must
    # still get the CI profile and strict prerequisites.
    out = subprocess.run(
        ["env", "-i", "bash", "-c", f". {ROOT / 'tools/ci-env'}; env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    environ = dict(
        line.split("=", 1) for line in out.splitlines() if "=" in line
    )
    assert "CI" not in environ
    assert environ.get(PROFILE_VAR) == "ci"
    assert selected_profile(environ) == "ci"
    assert environ.get("SRIOVIRT_REQUIRE_PREREQS") == "1"
    assert ". tools/ci-env" in (ROOT / ".ci/run").read_text()
