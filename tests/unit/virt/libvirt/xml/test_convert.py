"""Converters: one XML string <-> one typed value, and their refusals."""

from __future__ import annotations

import pytest

from sriovirt.virt.libvirt.xml import convert


@pytest.mark.parametrize(
    ("conv", "text", "value", "written"),
    [
        (convert.HEX4, "0x0000", 0, "0x0000"),
        (convert.HEX2, "0x81", 0x81, "0x81"),
        (convert.HEX2, "0X8a", 0x8A, "0x8a"),
        (convert.HEX2, "129", 129, "0x81"),  # libvirt also reads decimal
        (convert.HEX2, "010", 8, "0x08"),  # ... and octal
        (convert.HEX1, "0x7", 7, "0x7"),
        (convert.Hex(6), "0x020000", 0x020000, "0x020000"),
        (convert.UINT, "42", 42, "42"),
        (convert.YES_NO, "yes", True, "yes"),
        (convert.YES_NO, "no", False, "no"),
        (convert.ON_OFF, "on", True, "on"),
        (convert.ON_OFF, "off", False, "off"),
        (
            convert.MAC,
            "52:54:00:AB:CD:EF",
            "52:54:00:ab:cd:ef",
            "52:54:00:ab:cd:ef",
        ),
        (convert.OneOf("a", "b"), "b", "b", "b"),
        (convert.STR, " x ", " x ", " x "),
    ],
)
def test_converters(
    conv: convert.Converter[object], text: str, value: object, written: str
) -> None:
    assert conv.parse(text) == value
    assert conv.format(value) == written


@pytest.mark.parametrize(
    ("conv", "text"),
    [
        (convert.HEX2, "0x100"),
        (convert.HEX2, "zz"),
        (convert.HEX1, "-1"),
        (convert.UINT, "-1"),
        (convert.UINT, "ten"),
        (convert.YES_NO, "on"),
        (convert.ON_OFF, "yes"),
        (convert.MAC, "52:54:00:ab:cd"),
        (convert.MAC, "52-54-00-ab-cd-ef"),
        (convert.OneOf("a"), "b"),
    ],
)
def test_converters_reject(conv: convert.Converter[object], text: str) -> None:
    with pytest.raises(ValueError):
        conv.parse(text)


def test_format_rejects_wrong_types() -> None:
    for conv, value in (
        (convert.HEX2, 256),
        (convert.HEX2, "1"),
        (convert.UINT, True),
        (convert.YES_NO, 1),
        (convert.STR, 3),
    ):
        with pytest.raises(ValueError):
            conv.format(value)  # type: ignore[arg-type]
