"""Whitelist.problems: every error and warning in one pass."""

from __future__ import annotations

import pytest

from sriovirt import exception
from sriovirt.pci.whitelist import Whitelist

VALUES = [
    '{"vendor_id": 8086}',
    "{bad json",
    '{"address": "0000:81:00.0", "physical_netwrok": "p1"}',
    '[{"vendor_id": "8086"}, {"address": "0000:81:00.9"}]',
    '"just a string"',
]


def test_every_problem_is_reported_in_order() -> None:
    errors, warnings = Whitelist.problems(VALUES)
    texts = [str(e) for e in errors]
    assert len(texts) == 4
    assert "vendor_id" in texts[0] and "JSON number 8086" in texts[0]
    assert "not valid JSON" in texts[1] and "{bad json" in texts[1]
    assert "0000:81:00.9" in texts[2] and "function" in texts[2]
    assert "item 2 of value 4" in texts[2]
    assert "JSON object or a list of objects" in texts[3]
    assert all(isinstance(e, exception.InvalidDeviceSpec) for e in errors)
    assert len(warnings) == 1 and "physical_network" in warnings[0]


def test_problems_agree_with_from_config() -> None:
    # from_config stops at the first problem problems() reports.
    errors, _ = Whitelist.problems(VALUES)
    with pytest.raises(exception.InvalidDeviceSpec) as first:
        Whitelist.from_config(VALUES)
    assert str(first.value) == str(errors[0])
    good = ['{"address": "0000:81:00.0", "physical_network": "p1"}']
    assert Whitelist.problems(good) == ([], [])
    assert len(Whitelist.from_config(good).entries) == 1


def test_two_bad_lines_are_two_entries() -> None:
    # Issue 7, 2.12: both used to be called "entry 1".
    errors, _ = Whitelist.problems(["{bad", "[1", '{"vendor_id": 1}'])
    texts = [str(e) for e in errors]
    assert texts[0].startswith("Invalid [pci] device_spec: entry 1 {bad: ")
    assert texts[1].startswith("Invalid [pci] device_spec: entry 2 [1: ")
    assert texts[2].startswith(
        'Invalid [pci] device_spec: entry 3 {"vendor_id": 1}: vendor_id: '
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # A value continued on indented lines: the message stays on one
        # line and shows the text with the line breaks folded.
        (
            '{"vendor_id": "8086",\n    "address": 0000:81:00.0}',
            'Invalid [pci] device_spec: entry 1 {"vendor_id": "8086", '
            '"address": 0000:81:00.0}: value: not valid JSON: Expecting '
            "',' delimiter at line 2 column 17",
        ),
        (
            '{"vendor_id": "80\t86"}',
            'Invalid [pci] device_spec: entry 1 {"vendor_id": "80\\t86"}: '
            "value: not valid JSON: Invalid control character at line 1 "
            "column 18",
        ),
        (
            '{"vendor_id":\r\n "8086", "x": "\x00"}',
            'Invalid [pci] device_spec: entry 1 {"vendor_id": "8086", "x": '
            '"\\x00"}: value: not valid JSON: Invalid control character '
            "at line 2 column 16",
        ),
        (
            r'{"address": {"bus": "(\n"}}',
            'Invalid [pci] device_spec: entry 1 {"address": {"bus": "(\\n"}}:'
            " address.bus: '(\\n' is not a supported regular expression: "
            "missing ): (\\n",
        ),
    ],
)
def test_messages_are_one_exact_line(value: str, message: str) -> None:
    errors, _ = Whitelist.problems([value])
    assert [str(e) for e in errors] == [message]
