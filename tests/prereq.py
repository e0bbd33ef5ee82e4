"""Prerequisites of the functional and integration tiers.

A test that needs a real service (root, libvirtd, PostgreSQL, ...) calls
:func:`require`, and one that needs an optional Python module (libvirt
bindings) calls :func:`import_or_missing`.  On a developer machine a
missing prerequisite skips the test with the reason; with
``SRIOVIRT_REQUIRE_PREREQS=1`` (set by ``.ci/run``) it fails instead, so
CI cannot pass by skipping.  Tests must not call ``pytest.skip`` or
``pytest.importorskip`` themselves (tests/unit/test_prereq.py checks).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

STRICT_VAR = "SRIOVIRT_REQUIRE_PREREQS"


def strict() -> bool:
    return os.environ.get(STRICT_VAR, "") not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skip (developer run) or fail (CI) because ``reason`` is missing."""
    if strict():
        pytest.fail(
            f"prerequisite missing: {reason} ({STRICT_VAR} is set, so this "
            "is a failure, not a skip)",
            pytrace=False,
        )
    pytest.skip(f"prerequisite missing: {reason}")


def require(condition: object, reason: str) -> None:
    """Call :func:`missing` unless ``condition`` is true."""
    if not condition:
        missing(reason)


def import_or_missing(name: str) -> ModuleType:
    """Import module ``name``, or call :func:`missing` if it is absent.

    The strict counterpart of ``pytest.importorskip``.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"Python module {name!r} ({exc})")
