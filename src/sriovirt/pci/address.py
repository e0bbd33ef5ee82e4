"""PCI addresses: the ``dddd:bb:ss.f`` value type.

A :class:`PciAddress` is an immutable, ordered, hashable value.  It is the
key the whitelist index, the tracker and the database use for devices, so
it must parse strictly and print canonically.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from sriovirt import exception

MAX_DOMAIN = 0xFFFF
MAX_BUS = 0xFF
MAX_SLOT = 0x1F
MAX_FUNCTION = 0x7

_FULL = re.compile(
    r"([0-9a-f]{1,4}):([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-9a-f])",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True, slots=True)
class PciAddress:
    """A PCI address; ``str(a)`` is the canonical ``dddd:bb:ss.f``."""

    domain: int
    bus: int
    slot: int
    function: int
    #: The four fields packed into one integer (domain, bus, slot,
    #: function from high to low): an index keyed by it hashes and
    #: compares in C, where the dataclass's own ``__hash__``/``__eq__``
    #: are Python calls on every lookup.
    key: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value, top in (
            ("domain", self.domain, MAX_DOMAIN),
            ("bus", self.bus, MAX_BUS),
            ("slot", self.slot, MAX_SLOT),
            ("function", self.function, MAX_FUNCTION),
        ):
            if type(value) is not int or value < 0:
                reason = f"{name} {value!r} is not an integer in 0..{top:#x}"
            elif value > top:
                reason = f"{name} {value:#x} is above the maximum {top:#x}"
            else:
                continue
            raise exception.InvalidPciAddress(
                address=_show(self), reason=reason
            )
        object.__setattr__(
            self,
            "key",
            self.domain << 16 | self.bus << 8 | self.slot << 3 | self.function,
        )

    @classmethod
    def parse(cls, text: str) -> PciAddress:
        """Parse ``[d]ddd:[b]b:[s]s.f`` (hex, any case)."""
        if not isinstance(text, str):
            raise exception.InvalidPciAddress(
                address=text, reason="expected a string like 0000:81:00.1"
            )
        return _parse(text.strip())

    # Explicit, so the dataclass keeps them: every tracker and index
    # lookup hashes or compares addresses, and one integer is cheaper
    # than a tuple of four built on each call.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is PciAddress:
            return self.key == other.key
        return NotImplemented

    def __hash__(self) -> int:
        return self.key

    def __str__(self) -> str:
        return (
            f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}."
            f"{self.function:x}"
        )

    def __repr__(self) -> str:
        return f"PciAddress('{self}')"


def _show(addr: PciAddress) -> str:
    """The fields as written in an address, even when out of range.

    Messages must show hex where an address is meant ("0000:81:20.0",
    not "0:129:32.0"); a value that is not a natural number is shown
    as it is.
    """
    shown = []
    for value, width in (
        (addr.domain, 4),
        (addr.bus, 2),
        (addr.slot, 2),
        (addr.function, 1),
    ):
        if type(value) is int and value >= 0:
            shown.append(f"{value:0{width}x}")
        else:
            shown.append(repr(value))
    return f"{shown[0]}:{shown[1]}:{shown[2]}.{shown[3]}"


@functools.lru_cache(maxsize=65536)
def _parse(text: str) -> PciAddress:
    match = _FULL.fullmatch(text)
    if match is None:
        raise exception.InvalidPciAddress(
            address=text,
            reason="expected domain:bus:slot.function in hex, "
            "like 0000:81:00.1",
        )
    domain, bus, slot, function = (int(part, 16) for part in match.groups())
    return PciAddress(domain, bus, slot, function)
