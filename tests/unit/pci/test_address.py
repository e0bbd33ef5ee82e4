"""PciAddress: strict parsing, canonical printing, value semantics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.address import PciAddress

addresses = st.builds(
    PciAddress,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 0x1F),
    st.integers(0, 0x7),
)


@given(addresses)
def test_parse_str_round_trip(addr: PciAddress) -> None:
    assert PciAddress.parse(str(addr)) == addr


@given(addresses)
def test_parse_accepts_upper_case_and_short_fields(addr: PciAddress) -> None:
    text = f"{addr.domain:X}:{addr.bus:X}:{addr.slot:X}.{addr.function:X}"
    assert PciAddress.parse(text) == addr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000:81:00.1", PciAddress(0, 0x81, 0, 1)),
        ("  0000:81:00.1 ", PciAddress(0, 0x81, 0, 1)),
        ("ffff:ff:1f.7", PciAddress(0xFFFF, 0xFF, 0x1F, 7)),
        ("0:0:0.0", PciAddress(0, 0, 0, 0)),
        ("ABCD:0A:1F.7", PciAddress(0xABCD, 0x0A, 0x1F, 7)),
    ],
)
def test_parse_valid(text: str, expected: PciAddress) -> None:
    assert PciAddress.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "81:00.1",
        "0000:81:00",
        "0000:81:20.0",
        "0000:81:00.8",
        "10000:81:00.0",
        "0000:181:00.0",
        "0000:81:00.1.1",
        "g000:81:00.0",
        "*:81:00.0",
    ],
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(exception.InvalidPciAddress):
        PciAddress.parse(text)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(exception.InvalidPciAddress):
        PciAddress.parse(0x81)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        (0x10000, 0, 0, 0),
        (0, 0x100, 0, 0),
        (0, 0, 0x20, 0),
        (0, 0, 0, 8),
        (-1, 0, 0, 0),
    ],
)
def test_constructor_range_checks(fields: tuple[int, int, int, int]) -> None:
    with pytest.raises(exception.InvalidPciAddress):
        PciAddress(*fields)


def test_out_of_range_field_is_reported_in_hex() -> None:
    # Issue 7, 2.12: "0000:81:20.0" was reported as "0:129:32.0".
    with pytest.raises(exception.InvalidPciAddress) as info:
        PciAddress.parse("0000:81:20.0")
    assert str(info.value) == (
        "Invalid PCI address '0000:81:20.0': slot 0x20 is above the "
        "maximum 0x1f"
    )
    with pytest.raises(exception.InvalidPciAddress) as info:
        PciAddress(0x10000, 0, 0, 0)
    assert str(info.value) == (
        "Invalid PCI address '10000:00:00.0': domain 0x10000 is above the "
        "maximum 0xffff"
    )
    with pytest.raises(exception.InvalidPciAddress) as info:
        PciAddress(0, -1, 0, 0)
    assert str(info.value) == (
        "Invalid PCI address '0000:-1:00.0': bus -1 is not an integer in "
        "0..0xff"
    )
    with pytest.raises(exception.InvalidPciAddress) as info:
        PciAddress(0, 0, "1", 0)  # type: ignore[arg-type]
    assert str(info.value) == (
        "Invalid PCI address \"0000:00:'1'.0\": slot '1' is not an integer "
        "in 0..0x1f"
    )


def test_str_and_repr_are_canonical() -> None:
    addr = PciAddress(0, 0x81, 2, 3)
    assert str(addr) == "0000:81:02.3"
    assert repr(addr) == "PciAddress('0000:81:02.3')"


@given(addresses, addresses)
def test_order_follows_fields(a: PciAddress, b: PciAddress) -> None:
    key = (a.domain, a.bus, a.slot, a.function)
    other = (b.domain, b.bus, b.slot, b.function)
    assert (a < b) == (key < other)
    assert (a == b) == (key == other)
    if a == b:
        assert hash(a) == hash(b)


_addrs = st.builds(
    PciAddress,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 0x1F),
    st.integers(0, 0x7),
)


@given(_addrs, _addrs)
def test_equality_hash_and_order_follow_the_four_fields(
    a: PciAddress, b: PciAddress
) -> None:
    fields_a = (a.domain, a.bus, a.slot, a.function)
    fields_b = (b.domain, b.bus, b.slot, b.function)
    # The packed key is what hashing and equality use: it must tell
    # every two addresses apart exactly when their fields differ.
    assert (a == b) == (fields_a == fields_b) == (a.key == b.key)
    if a == b:
        assert hash(a) == hash(b)
    assert (a < b) == (fields_a < fields_b)
    assert a != str(a) and a != fields_a
