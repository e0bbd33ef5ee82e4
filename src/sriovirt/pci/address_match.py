"""The ``address`` of a ``device_spec`` entry: glob and regex matchers.

An entry's ``address`` is either a glob string
(``"[[[[domain]:]bus]:][slot][.[function]]"``, :class:`AddressGlob`) or an
object of per-field regular expressions (:class:`AddressRegex`, whose
patterns :mod:`sriovirt.pci.fieldregex` compiles).  Both parse the
operator's text, say whether a PCI address matches, explain a mismatch
field by field, and name the one exact address they pin, if any (the
whitelist indexes entries by it).

This module must not know about devices or their PF/VF relations (an
entry naming a PF also selecting its VFs is :mod:`sriovirt.pci.devspec`'s
rule), nor about the rest of an entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sriovirt.pci import address as pci_address
from sriovirt.pci.address import PciAddress
from sriovirt.pci.config_entries import (
    SpecFieldError,
    describe_json,
    render_json,
    suggest,
)
from sriovirt.pci.fieldregex import FieldPattern, PatternError

_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    top: int
    width: int


_FIELDS = (
    _FieldSpec("domain", pci_address.MAX_DOMAIN, 4),
    _FieldSpec("bus", pci_address.MAX_BUS, 2),
    _FieldSpec("slot", pci_address.MAX_SLOT, 2),
    _FieldSpec("function", pci_address.MAX_FUNCTION, 1),
)


def _fields_of(addr: PciAddress) -> tuple[int, int, int, int]:
    return (addr.domain, addr.bus, addr.slot, addr.function)


@dataclass(frozen=True, slots=True)
class AddressGlob:
    """``[[[[domain]:]bus]:][slot][.[function]]``; ``None`` = any value.

    When all four fields are given (:attr:`exact`), the glob names one
    function; if that function is a PF, its VFs match too (Nova's rule).
    """

    domain: int | None = None
    bus: int | None = None
    slot: int | None = None
    function: int | None = None

    @classmethod
    def parse(cls, text: str) -> AddressGlob:
        stripped = text.strip()
        if not stripped:
            raise SpecFieldError(
                "address",
                "an empty address matches every device; write "
                '{"vendor_id": "*"} to whitelist everything on purpose',
            )
        head, dot, func = stripped.partition(".")
        parts = head.split(":") if head else []
        if len(parts) > 3:
            raise SpecFieldError(
                "address",
                f"{text!r} has {len(parts)} ':'-separated fields before "
                "the '.'; expected at most domain:bus:slot",
            )
        # Missing leading fields are wildcards: "81:00.0" is any domain.
        padded = [""] * (3 - len(parts)) + parts
        raws = [*padded, func if dot else ""]
        if not any(raw.strip() for raw in raws):
            # ":" or "::." name no field at all: as empty as "".
            raise SpecFieldError(
                "address",
                f"{text!r} gives no address field and matches every "
                'device; write "*" fields or {"vendor_id": "*"} to '
                "whitelist everything on purpose",
            )
        values: list[int | None] = []
        for spec, raw in zip(_FIELDS, raws, strict=True):
            values.append(_glob_field(text, spec, raw, len(parts)))
        return cls(*values)

    #: The one address this glob names when it has no wildcard; computed
    #: once because matching compares against it for every device.
    exact: PciAddress | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if (
            self.domain is not None
            and self.bus is not None
            and self.slot is not None
            and self.function is not None
        ):
            object.__setattr__(
                self,
                "exact",
                PciAddress(self.domain, self.bus, self.slot, self.function),
            )

    def _fields(self) -> tuple[int | None, ...]:
        return (self.domain, self.bus, self.slot, self.function)

    def matches_address(self, addr: PciAddress) -> bool:
        # Spelled out: this runs for every device an entry is tried on.
        return (
            (self.domain is None or self.domain == addr.domain)
            and (self.bus is None or self.bus == addr.bus)
            and (self.slot is None or self.slot == addr.slot)
            and (self.function is None or self.function == addr.function)
        )

    def mismatches(self, addr: PciAddress) -> list[str]:
        return [
            f"address {spec.name} {got:0{spec.width}x} != "
            f"{want:0{spec.width}x}"
            for spec, want, got in zip(
                _FIELDS, self._fields(), _fields_of(addr), strict=True
            )
            if want is not None and want != got
        ]

    def __str__(self) -> str:
        shown = [
            "*" if value is None else f"{value:0{spec.width}x}"
            for spec, value in zip(_FIELDS, self._fields(), strict=True)
        ]
        return f"{shown[0]}:{shown[1]}:{shown[2]}.{shown[3]}"


def _glob_field(
    text: str, spec: _FieldSpec, raw: str, given: int
) -> int | None:
    value = raw.strip().lower()
    if value in ("", "*"):
        return None
    if not _HEX.fullmatch(value):
        raise SpecFieldError(
            f"address.{spec.name}",
            f"{raw!r} in {text!r} is neither hex nor '*'",
        )
    number = int(value, 16)
    if number > spec.top:
        hint = ""
        if spec.name == "slot" and given == 1:
            hint = f" (a lone number is the slot; write '{value}:' for a bus)"
        raise SpecFieldError(
            f"address.{spec.name}",
            f"{raw!r} in {text!r} is above the maximum {spec.top:x}{hint}",
        )
    return number


@dataclass(frozen=True, slots=True)
class AddressRegex:
    """``{"domain": re, "bus": re, "slot": re, "function": re}``.

    Each expression must match the *whole* zero-padded lowercase hex field
    (domain 4 digits, bus 2, slot 2, function 1), case-insensitively; a
    missing field matches anything.  Expressions run on a linear-time
    engine (:mod:`sriovirt.pci.fieldregex`), so no pattern can make
    matching slow.  When all four fields are plain hex numbers the object
    names one exact address (:attr:`exact`) and, like the glob form and
    like Nova, a PF named so matches its VFs too.
    """

    domain: FieldPattern | None = None
    bus: FieldPattern | None = None
    slot: FieldPattern | None = None
    function: FieldPattern | None = None

    #: The one address named by four plain hex fields, else ``None``.
    exact: PciAddress | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        plain = [
            None if pattern is None else pattern.plain_value
            for pattern in self._fields()
        ]
        domain, bus, slot, function = plain
        if (
            domain is not None
            and bus is not None
            and slot is not None
            and function is not None
        ):
            object.__setattr__(
                self, "exact", PciAddress(domain, bus, slot, function)
            )

    @classmethod
    def parse(cls, value: Mapping[object, object]) -> AddressRegex:
        names = tuple(spec.name for spec in _FIELDS)
        for key in value:
            if key not in names:
                # Field names are short: one wrong letter is a big ratio.
                hint = (
                    suggest(key, names, cutoff=0.6)
                    if isinstance(key, str)
                    else None
                )
                raise SpecFieldError(
                    "address",
                    f"unknown key {render_json(key)} in the address object"
                    + (f" (did you mean {hint!r}?)" if hint else "")
                    + f"; allowed keys: {', '.join(names)}",
                )
        if not value:
            raise SpecFieldError(
                "address",
                "an empty address object matches every device; write "
                '{"vendor_id": "*"} to whitelist everything on purpose',
            )
        fields: dict[str, FieldPattern] = {}
        for spec in _FIELDS:
            if spec.name in value:
                fields[spec.name] = _regex_field(spec, value[spec.name])
        return cls(**fields)

    def _fields(self) -> tuple[FieldPattern | None, ...]:
        return (self.domain, self.bus, self.slot, self.function)

    def matches_address(self, addr: PciAddress) -> bool:
        for pattern, got in zip(self._fields(), _fields_of(addr), strict=True):
            if pattern is not None and not pattern.matches(got):
                return False
        return True

    def mismatches(self, addr: PciAddress) -> list[str]:
        out = []
        for spec, pattern, got in zip(
            _FIELDS, self._fields(), _fields_of(addr), strict=True
        ):
            if pattern is not None and not pattern.matches(got):
                out.append(
                    f"address {spec.name} {got:0{spec.width}x} does not "
                    f"fully match regex {pattern.source!r}"
                )
        return out

    def __str__(self) -> str:
        return render_json(
            {
                spec.name: pattern.source
                for spec, pattern in zip(_FIELDS, self._fields(), strict=True)
                if pattern is not None
            }
        )


def _regex_field(spec: _FieldSpec, value: object) -> FieldPattern:
    if not isinstance(value, str):
        raise SpecFieldError(
            f"address.{spec.name}",
            f"expected a regular expression string, got "
            f"{describe_json(value)}",
        )
    try:
        return FieldPattern.compile(value, spec.width, spec.top)
    except PatternError as exc:
        raise SpecFieldError(f"address.{spec.name}", exc.reason) from None


AddressMatcher = AddressGlob | AddressRegex


def parse_address(raw: object) -> AddressMatcher:
    """The matcher of an entry's ``address`` value (a glob or an object)."""
    if isinstance(raw, str):
        return AddressGlob.parse(raw)
    if isinstance(raw, dict):
        return AddressRegex.parse(raw)
    raise SpecFieldError(
        "address",
        'expected a glob string like "0000:81:00.*" or an object '
        f"of per-field regexes, got {describe_json(raw)}",
    )
