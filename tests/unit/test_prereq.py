"""tests/prereq.py: every skip goes through the strict helper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import prereq

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
# Direct skips that SRIOVIRT_REQUIRE_PREREQS cannot turn into failures.
DIRECT_SKIP = re.compile(
    r"pytest\s*\.\s*(?:importorskip|skip)\s*\(|mark\s*\.\s*skip(?:if)?\b"
)


def test_import_or_missing_returns_the_module() -> None:
    import json

    assert prereq.import_or_missing("json") is json


def test_import_or_missing_skips_on_a_developer_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(prereq.STRICT_VAR, raising=False)
    with pytest.raises(pytest.skip.Exception) as info:
        prereq.import_or_missing("sriovirt_no_such_module")
    assert "Python module 'sriovirt_no_such_module'" in str(info.value)


def test_import_or_missing_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(prereq.STRICT_VAR, "1")
    with pytest.raises(pytest.fail.Exception) as info:
        prereq.import_or_missing("sriovirt_no_such_module")
    assert "sriovirt_no_such_module" in str(info.value)
    assert prereq.STRICT_VAR in str(info.value)


def test_no_test_skips_around_the_strict_helper() -> None:
    offenders = []
    for path in sorted(
        [*TESTS.rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    ):
        if path in (TESTS / "prereq.py", Path(__file__).resolve()):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DIRECT_SKIP.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == [], (
        "skip through tests.prereq (missing/require/import_or_missing) so "
        f"that {prereq.STRICT_VAR} turns it into a failure: {offenders}"
    )
