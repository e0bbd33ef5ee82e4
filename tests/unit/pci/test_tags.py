"""The one boolean vocabulary (oslo.utils' bool_from_string words)."""

from __future__ import annotations

import pytest
from oslo_utils import strutils

from sriovirt.pci.tags import FALSE_WORDS, TRUE_WORDS, parse_bool

TRUE = ["1", "t", "true", "on", "y", "yes", "TRUE", "Yes", " on ", True]
FALSE = ["0", "f", "false", "off", "n", "no", "FALSE", "No", "\toff\n", False]
NEITHER = [None, "", " ", "2", "-1", "1.0", "ture", "none", 1, 0, 1.0, []]


@pytest.mark.parametrize("value", TRUE, ids=repr)
def test_true(value: object) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", FALSE, ids=repr)
def test_false(value: object) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", NEITHER, ids=repr)
def test_not_a_boolean(value: object) -> None:
    assert parse_bool(value) is None


def test_the_words_are_oslos() -> None:
    # pci/ may not import oslo; the test checks the copy has not drifted
    # from the words Nova reads these values with.
    assert frozenset(strutils.TRUE_STRINGS) == TRUE_WORDS
    assert frozenset(strutils.FALSE_STRINGS) == FALSE_WORDS


@pytest.mark.parametrize("value", [*TRUE, *FALSE], ids=repr)
def test_agrees_with_oslo_strict(value: object) -> None:
    assert parse_bool(value) is strutils.bool_from_string(value, strict=True)
