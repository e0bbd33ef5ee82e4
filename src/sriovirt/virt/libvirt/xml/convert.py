"""Converters: one XML string <-> one typed value (hex, decimal, ...).

A converter knows the spelling of a value (``0x81`` with two digits, ``yes``
or ``no``, a lowercase MAC) and nothing about elements or fields: the
engine (:mod:`~sriovirt.virt.libvirt.xml.base`) turns its
:class:`ValueError` into an ``InvalidXml`` naming element and field.

Mapping only: this module must not import libvirt, configuration,
objects or the database, and it must not touch lxml or decide anything.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from sriovirt.pci.netdev import mac_problem

T = TypeVar("T")


class Converter(Generic[T]):
    """Turns an XML string into a typed value and back.

    ``parse`` raises :class:`ValueError` on a malformed string; ``format``
    raises :class:`ValueError` on a value it cannot write.
    """

    __slots__ = ()

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def format(self, value: T) -> str:
        raise NotImplementedError


def c_int(text: str) -> int:
    """Parse an integer the way libvirt's ``strtol(..., 0)`` does.

    ``0x`` prefix is hex, a leading ``0`` is octal, anything else decimal;
    libvirt accepts all three in PCI address attributes.
    """
    if text[:2] in ("0x", "0X"):  # the common case, kept fast
        return int(text, 16)
    s = text.strip()
    sign = 1
    if s.startswith(("+", "-")):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    low = s.lower()
    if low.startswith("0x"):
        return sign * int(low[2:], 16)
    if len(s) > 1 and s.startswith("0"):
        return sign * int(s[1:], 8)
    return sign * int(s, 10)


class Hex(Converter[int]):
    """An unsigned integer written as ``0x`` + a fixed number of digits."""

    __slots__ = ("_fmt", "maximum", "width")

    def __init__(self, width: int) -> None:
        self.width = width
        self.maximum = 16**width - 1
        self._fmt = f"0x{{:0{width}x}}"

    def parse(self, text: str) -> int:
        value = c_int(text)
        if not 0 <= value <= self.maximum:
            raise ValueError(f"{text!r} is not in 0..{self.maximum:#x}")
        return value

    def format(self, value: int) -> str:
        if type(value) is not int or not 0 <= value <= self.maximum:
            raise ValueError(
                f"{value!r} is not an integer in 0..{self.maximum:#x}"
            )
        return self._fmt.format(value)


class Dec(Converter[int]):
    """A decimal integer, optionally bounded."""

    __slots__ = ("maximum", "minimum")

    def __init__(
        self, minimum: int | None = None, maximum: int | None = None
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def _check(self, value: int, shown: object) -> int:
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ValueError(
                f"{shown!r} is not in {self.minimum}..{self.maximum}"
            )
        return value

    def parse(self, text: str) -> int:
        return self._check(int(text.strip(), 10), text)

    def format(self, value: int) -> str:
        if type(value) is not int:
            raise ValueError(f"{value!r} is not an integer")
        return str(self._check(value, value))


class Bool(Converter[bool]):
    """A boolean spelled with a pair of words (``yes/no``, ``on/off``)."""

    __slots__ = ("false", "true")

    def __init__(self, true: str, false: str) -> None:
        self.true = true
        self.false = false

    def parse(self, text: str) -> bool:
        if text == self.true:
            return True
        if text == self.false:
            return False
        raise ValueError(
            f"{text!r} is neither {self.true!r} nor {self.false!r}"
        )

    def format(self, value: bool) -> str:
        if type(value) is not bool:
            raise ValueError(f"{value!r} is not a boolean")
        return self.true if value else self.false


class Str(Converter[str]):
    """Any string, kept exactly."""

    __slots__ = ()

    def parse(self, text: str) -> str:
        return text

    def format(self, value: str) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string")
        return value


class OneOf(Converter[str]):
    """A string from a closed set (an enumeration in the schema)."""

    __slots__ = ("values",)

    def __init__(self, *values: str) -> None:
        self.values = values

    def parse(self, text: str) -> str:
        if text not in self.values:
            raise ValueError(f"{text!r} is not one of {self.values}")
        return text

    def format(self, value: str) -> str:
        return self.parse(value)


class Mac(Converter[str]):
    """A MAC address, validated, normalised to lowercase."""

    __slots__ = ()

    def parse(self, text: str) -> str:
        low = text.strip().lower() if isinstance(text, str) else ""
        if mac_problem(low) is not None:
            raise ValueError(
                f"{text!r} is not a MAC address like 52:54:00:12:34:56"
            )
        return low

    def format(self, value: str) -> str:
        return self.parse(value)


STR = Str()
DEC = Dec()
UINT = Dec(0)
YES_NO = Bool("yes", "no")
ON_OFF = Bool("on", "off")
MAC = Mac()
HEX1 = Hex(1)
HEX2 = Hex(2)
HEX4 = Hex(4)
