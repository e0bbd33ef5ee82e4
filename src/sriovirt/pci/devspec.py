"""One ``[pci] device_spec`` entry: parsing, validation and matching.

A :class:`DeviceSpec` is the typed form of one JSON object of the
``device_spec`` option: which host PCI functions it selects (``vendor_id``,
``product_id``, ``address`` glob or regexes, ``devname``) and which tags
the selected devices carry (``physical_network``, ``trusted``, ...).

The module also holds the small parsing helpers the ``[pci] alias`` parser
shares (hex ids, booleans, error context), so both options report errors
the same way: option, entry position, entry text, field and reason.

This module must not read sysfs or any other host state: ``devname`` is
resolved from the :class:`~sriovirt.pci.device.HostPciDevice` fields the
inventory filled in.  It must not import oslo, lxml or anything of the
project but :mod:`sriovirt.exception` and :mod:`sriovirt.pci`.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from sriovirt import exception
from sriovirt.pci import address as pci_address
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice, hex_id
from sriovirt.pci.fieldregex import FieldPattern, PatternError
from sriovirt.pci.tags import (
    BOOLEAN_TAGS,
    KNOWN_TAGS,
    MAX_PHYSNET,
    MAX_TAG,
    RESERVED_TAGS,
    STRING_TAGS,
    parse_bool,
)

LOG = logging.getLogger(__name__)

DEFAULT_OPTION = "[pci] device_spec"

#: Keys that select devices; every other key is a tag.
SELECTOR_KEYS = ("vendor_id", "product_id", "address", "devname")
KNOWN_KEYS = (*SELECTOR_KEYS, *KNOWN_TAGS)

_HEX = re.compile(r"[0-9a-f]+")
# Linux refuses these in interface names (dev_valid_name), so a devname
# containing them can only be a typo.
_BAD_IFNAME = re.compile(r"[/:\s]")
# C0 controls, DEL and C1 controls: never meant in a name, and a NUL or
# a newline corrupts logs and messages.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)\s*")
_IFNAMSIZ = 16
_MAX_TEXT = 200


# --- Shared parsing plumbing (also used by alias.py) ----------------------


class SpecFieldError(Exception):
    """A field of one config entry is wrong.

    Internal: parsers raise it without knowing where the entry came from;
    the caller that knows the position turns it into the public
    ``InvalidDeviceSpec``/``InvalidPciAlias``.  It never escapes the
    package's public functions.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EntryOrigin:
    """Where an entry came from: option, 1-based position, value, item.

    ``position`` counts entries across every value of the option;
    ``value`` is the 1-based index of the option value (one config line);
    ``item`` is the 1-based index inside that value when it is a list.
    """

    option: str = DEFAULT_OPTION
    position: int = 1
    value: int = 1
    item: int | None = None

    def __str__(self) -> str:
        text = f"entry {self.position}"
        if self.item is not None:
            text += f" (item {self.item} of value {self.value})"
        elif self.value != self.position:
            text += f" (value {self.value})"
        return text


def render_json(value: object) -> str:
    """The entry as the operator would recognise it, kept short."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        text = "<entry that cannot be printed>"
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 3] + "..."
    return text


def one_line(text: str) -> str:
    """A config value as one short line for a message.

    oslo.config joins continuation lines with newlines: fold each line
    break and its indentation into one space, escape any other control
    character, and cut what is too long.
    """
    folded = _LINE_BREAK.sub(" ", text)
    escaped = _CONTROL.sub(lambda found: repr(found.group())[1:-1], folded)
    if len(escaped) > _MAX_TEXT:
        escaped = escaped[: _MAX_TEXT - 3] + "..."
    return escaped


def describe_json(value: object) -> str:
    """Name a decoded JSON value's type for an error message."""
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return f"the JSON boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the JSON number {render_json(value)}"
    if isinstance(value, str):
        return f"the JSON string {render_json(value)}"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a {type(value).__name__}"


def config_error(
    cls: type[exception.ConfigError],
    origin: EntryOrigin,
    text: str,
    field: str,
    reason: str,
) -> exception.ConfigError:
    """Build the public error naming option, position, text and field."""
    message = f"Invalid {origin.option}: {origin} {text}: {field}: {reason}"
    return cls(
        message,
        option=origin.option,
        position=origin.position,
        value=origin.value,
        item=origin.item,
        entry=text,
        field=field,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One value of a multi-valued option and the name it was read from.

    ``text`` should be a JSON text; anything else is reported as such.
    """

    option: str
    text: object


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One decoded JSON object (or what stood in its place) of an option."""

    origin: EntryOrigin
    data: object
    duplicate_keys: tuple[str, ...] = ()


class _DuplicateKeys:
    """Remember keys given twice in one JSON object while decoding.

    ``json`` silently keeps the last duplicate; Nova does too, so a config
    with one must keep working, but the operator deserves a warning.
    """

    def __init__(self) -> None:
        self.by_object: dict[int, tuple[str, ...]] = {}

    def hook(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            dups = []
            for key, _ in pairs:
                if key in seen and key not in dups:
                    dups.append(key)
                seen.add(key)
            self.by_object[id(result)] = tuple(dups)
        return result

    def paths(self, data: object, prefix: str = "") -> tuple[str, ...]:
        """Duplicated keys of ``data`` and its nested objects, dotted.

        ``address.bus`` for ``{"address": {"bus": "81", "bus": "82"}}``.
        """
        found: list[str] = []
        if not self.by_object:
            return ()
        # Iterative: JSON nests as deep as the recursion limit allows.
        todo: list[tuple[object, str]] = [(data, prefix)]
        while todo:
            node, path = todo.pop()
            if isinstance(node, dict):
                found.extend(
                    path + k for k in self.by_object.get(id(node), ())
                )
                todo.extend((v, f"{path}{k}.") for k, v in node.items())
        return tuple(found)


def iter_config_entries(
    values: object,
    option: str,
    error_cls: type[exception.ConfigError],
    errors: list[exception.ConfigError] | None = None,
) -> Iterator[ConfigEntry]:
    """Decode a MultiStrOpt: each value a JSON object or list of objects.

    Yields one :class:`ConfigEntry` per object in config order, numbering
    positions across values.  Value-level problems (not a string, bad
    JSON, neither object nor list) raise ``error_cls`` at once, or, when
    an ``errors`` list is given, are appended to it and the value is
    skipped (so a checker can report every problem in one pass).
    """
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
        raise error_cls(
            f"Invalid {option}: expected a list of strings (one per "
            f"config line), got {type(values).__name__}",
            option=option,
            reason="not a list of strings",
        )
    return iter_option_values(
        [OptionValue(option, raw) for raw in values], error_cls, errors
    )


def iter_option_values(
    values: Sequence[OptionValue],
    error_cls: type[exception.ConfigError],
    errors: list[exception.ConfigError] | None = None,
) -> Iterator[ConfigEntry]:
    """Like :func:`iter_config_entries`, each value with its own option.

    Positions count across every value whatever its option (they are the
    entry numbers matching goes by); ``value`` counts within the option,
    so "value 2" is the option's second line.
    """

    def report(problem: exception.ConfigError) -> None:
        if errors is None:
            # The JSON error being handled is in the message already.
            problem.__suppress_context__ = True
            raise problem
        errors.append(problem)

    position = 0
    counts: dict[str, int] = {}
    for labelled in values:
        option, raw = labelled.option, labelled.text
        value_index = counts[option] = counts.get(option, 0) + 1
        where = EntryOrigin(option, position + 1, value_index)
        # A value that cannot be read still takes a position, so two bad
        # lines are never both called "entry 1".
        if not isinstance(raw, str):
            position += 1
            report(
                config_error(
                    error_cls,
                    where,
                    render_json(raw),
                    "value",
                    f"expected a JSON text, got {type(raw).__name__}",
                )
            )
            continue
        text = one_line(raw)
        dups = _DuplicateKeys()
        try:
            decoded = json.loads(raw, object_pairs_hook=dups.hook)
        except json.JSONDecodeError as exc:
            position += 1
            report(
                config_error(
                    error_cls,
                    where,
                    text,
                    "value",
                    # Some messages end in "at" ("Invalid control
                    # character at"): the position follows once.
                    f"not valid JSON: {exc.msg.removesuffix(' at')} at "
                    f"line {exc.lineno} column {exc.colno}",
                )
            )
            continue
        except (ValueError, RecursionError) as exc:
            position += 1
            report(
                config_error(
                    error_cls,
                    where,
                    text,
                    "value",
                    f"not valid JSON: {one_line(str(exc))}",
                )
            )
            continue
        if isinstance(decoded, dict):
            position += 1
            yield ConfigEntry(
                EntryOrigin(option, position, value_index),
                decoded,
                dups.paths(decoded),
            )
        elif isinstance(decoded, list):
            for item_index, item in enumerate(decoded, start=1):
                position += 1
                yield ConfigEntry(
                    EntryOrigin(option, position, value_index, item_index),
                    item,
                    dups.paths(item),
                )
        else:
            position += 1
            report(
                config_error(
                    error_cls,
                    where,
                    text,
                    "value",
                    f"expected a JSON object or a list of objects, got "
                    f"{describe_json(decoded)}",
                )
            )


def parse_hex_id(value: object, field: str, *, wildcard: bool) -> str | None:
    """A vendor/product id as 4 lowercase hex digits; ``None`` for ``*``."""
    if wildcard and isinstance(value, str) and value.strip() == "*":
        return None
    normal = hex_id(value)
    if normal is not None:
        return normal
    wanted = 'a hex string of up to 4 digits like "8086"'
    if wildcard:
        wanted += ' or "*"'
    raise SpecFieldError(
        field, f"expected {wanted}, got {describe_json(value)}"
    )


def parse_bool_tag(value: object, field: str) -> str:
    """A boolean tag as "true"/"false" (JSON boolean or yes/no words)."""
    parsed = parse_bool(value)
    if parsed is not None:
        return "true" if parsed else "false"
    raise SpecFieldError(
        field,
        "expected a boolean (true/false, or one of the strings "
        f"true/false, yes/no, on/off, 1/0), got {describe_json(value)}",
    )


def suggest(
    key: str, known: tuple[str, ...], *, cutoff: float = 0.8
) -> str | None:
    """The known key an unknown one is probably a typo of, if any."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
    return close[0] if close else None


# --- Address matchers -------------------------------------------------------


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
        return all(
            want is None or want == got
            for want, got in zip(self._fields(), _fields_of(addr), strict=True)
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


# --- The entry ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """One parsed ``device_spec`` entry.

    ``vendor_id``/``product_id`` are 4 lowercase hex digits or ``None``
    for any; ``tags`` maps each tag to its normalised string (booleans as
    "true"/"false"; ``physical_network`` is there only when it is a
    string); ``physical_network`` is the typed view of that one tag.
    """

    origin: EntryOrigin = EntryOrigin()
    vendor_id: str | None = None
    product_id: str | None = None
    address: AddressMatcher | None = None
    devname: str | None = None
    physical_network: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Non-fatal findings (typos, duplicate keys), already logged.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    _ANY: ClassVar[str] = "*"

    def __hash__(self) -> int:
        return hash(
            (
                self.origin,
                self.vendor_id,
                self.product_id,
                self.address,
                self.devname,
                self.physical_network,
                tuple(sorted(self.tags.items())),
            )
        )

    @classmethod
    def parse(
        cls,
        entry: object,
        origin: EntryOrigin | None = None,
        *,
        duplicate_keys: tuple[str, ...] = (),
    ) -> DeviceSpec:
        """Parse one decoded JSON object; raise ``InvalidDeviceSpec``."""
        where = origin if origin is not None else EntryOrigin()
        text = render_json(entry)
        try:
            spec = _parse_entry(entry, where, text, duplicate_keys)
        except SpecFieldError as exc:
            raise config_error(
                exception.InvalidDeviceSpec, where, text, exc.field, exc.reason
            ) from None
        for warning in spec.warnings:
            LOG.warning("%s", warning)
        return spec

    @property
    def exact_address(self) -> PciAddress | None:
        """The one address the entry names, else ``None``.

        Set by a wildcard-free glob or by four plain hex regex fields.
        """
        if self.address is None:
            return None
        return self.address.exact

    @property
    def is_generic(self) -> bool:
        """True when the entry cannot be found by address or devname."""
        return self.exact_address is None and self.devname is None

    def match(self, dev: HostPciDevice) -> bool:
        """Does this entry select ``dev``?"""
        if self.vendor_id is not None and dev.vendor_id != self.vendor_id:
            return False
        if self.product_id is not None and dev.product_id != self.product_id:
            return False
        if self.devname is not None:
            return dev.ifname == self.devname or (
                dev.dev_type is DevType.VF
                and dev.parent_ifname == self.devname
            )
        address = self.address
        if address is None:
            return True
        exact = address.exact
        if exact is not None:
            return dev.address == exact or (
                dev.dev_type is DevType.VF and dev.parent_addr == exact
            )
        return address.matches_address(dev.address)

    def explain(self, dev: HostPciDevice) -> str:
        """``"matched (...)"`` or every reason this entry rejects ``dev``.

        Mismatches read ``<field> <device value> != <entry value>``.
        """
        reasons: list[str] = []
        if self.vendor_id is not None and dev.vendor_id != self.vendor_id:
            reasons.append(f"vendor_id {dev.vendor_id} != {self.vendor_id}")
        if self.product_id is not None and dev.product_id != self.product_id:
            reasons.append(f"product_id {dev.product_id} != {self.product_id}")
        note = ""
        if self.devname is not None:
            if dev.ifname == self.devname:
                note = f"devname {self.devname} is this device's netdev"
            elif (
                dev.dev_type is DevType.VF
                and dev.parent_ifname == self.devname
            ):
                note = f"devname {self.devname} is the PF netdev of this VF"
            else:
                reasons.append(_devname_mismatch(self.devname, dev))
        elif self.address is not None:
            exact = self.exact_address
            if exact is not None and dev.address != exact:
                if dev.dev_type is DevType.VF and dev.parent_addr == exact:
                    note = f"address {exact} is the PF of this VF"
                else:
                    reasons.append(_address_mismatch(exact, dev))
            elif exact is None:
                reasons.extend(self.address.mismatches(dev.address))
        if reasons:
            return "; ".join(reasons)
        return f"matched ({note})" if note else "matched"

    def describe(self) -> str:
        """A short canonical form of the selector, for logs and explain."""
        parts = [
            f"vendor_id={self.vendor_id or self._ANY}",
            f"product_id={self.product_id or self._ANY}",
        ]
        if self.address is not None:
            parts.append(f"address={self.address}")
        if self.devname is not None:
            parts.append(f"devname={self.devname}")
        return " ".join(parts)


def _devname_mismatch(devname: str, dev: HostPciDevice) -> str:
    own = dev.ifname or "none"
    if dev.dev_type is DevType.VF:
        return (
            f"devname {devname} is neither this device's netdev ({own}) "
            f"nor its PF's ({dev.parent_ifname or 'unknown'})"
        )
    return f"devname {devname} != this device's netdev ({own})"


def _address_mismatch(exact: PciAddress, dev: HostPciDevice) -> str:
    if dev.dev_type is DevType.VF:
        return (
            f"address {exact} is neither this device ({dev.address}) "
            f"nor its PF ({dev.parent_addr})"
        )
    return f"address {dev.address} != {exact}"


def _parse_entry(
    entry: object,
    origin: EntryOrigin,
    text: str,
    duplicate_keys: tuple[str, ...],
) -> DeviceSpec:
    if not isinstance(entry, dict):
        raise SpecFieldError(
            "entry", f"expected a JSON object, got {describe_json(entry)}"
        )
    for key in entry:
        if not isinstance(key, str):
            raise SpecFieldError("entry", f"key {key!r} is not a string")
    warnings = [
        f"{origin.option}: {origin} {text}: key {key!r} is given more "
        "than once; the last value is used"
        for key in duplicate_keys
    ]
    vendor_id = (
        parse_hex_id(entry["vendor_id"], "vendor_id", wildcard=True)
        if "vendor_id" in entry
        else None
    )
    product_id = (
        parse_hex_id(entry["product_id"], "product_id", wildcard=True)
        if "product_id" in entry
        else None
    )
    if "address" in entry and "devname" in entry:
        raise SpecFieldError(
            "address/devname",
            "address and devname are mutually exclusive; keep one",
        )
    address: AddressMatcher | None = None
    if "address" in entry:
        raw = entry["address"]
        if isinstance(raw, str):
            address = AddressGlob.parse(raw)
        elif isinstance(raw, dict):
            address = AddressRegex.parse(raw)
        else:
            raise SpecFieldError(
                "address",
                'expected a glob string like "0000:81:00.*" or an object '
                f"of per-field regexes, got {describe_json(raw)}",
            )
    devname = _parse_devname(entry["devname"]) if "devname" in entry else None
    reserved = [key for key in entry if key in RESERVED_TAGS]
    if reserved:
        raise SpecFieldError(
            reserved[0],
            f"reserved names cannot be tags: {', '.join(reserved)} "
            "(sriovirt stores its own value for each device under these "
            f"names; reserved: {', '.join(RESERVED_TAGS)})",
        )
    tags: dict[str, str] = {}
    physical_network: str | None = None
    unknown_typos: list[str] = []
    for key, value in entry.items():
        if key in SELECTOR_KEYS:
            continue
        if key == "physical_network":
            physical_network = _parse_physnet(value)
            if physical_network is not None:
                tags[key] = physical_network
            continue
        tags[key] = _parse_tag(key, value)
        if key not in KNOWN_TAGS:
            hint = suggest(key, KNOWN_KEYS)
            if hint is not None:
                unknown_typos.append(f"{key!r} (did you mean {hint!r}?)")
                warnings.append(
                    f"{origin.option}: {origin} {text}: unknown key {key!r} "
                    f"is kept as a custom tag; did you mean {hint!r}?"
                )
    if not any(key in entry for key in SELECTOR_KEYS):
        typo = ""
        if unknown_typos:
            typo = f"; unknown keys {', '.join(unknown_typos)}"
        raise SpecFieldError(
            "entry",
            "no vendor_id, product_id, address or devname: this would "
            'whitelist every PCI device; write {"vendor_id": "*"} to do '
            f"that on purpose{typo}",
        )
    return DeviceSpec(
        origin=origin,
        vendor_id=vendor_id,
        product_id=product_id,
        address=address,
        devname=devname,
        physical_network=physical_network,
        tags=MappingProxyType(tags),
        warnings=tuple(warnings),
    )


def _parse_devname(value: object) -> str:
    if not isinstance(value, str):
        raise SpecFieldError(
            "devname",
            f"expected a network interface name, got {describe_json(value)}",
        )
    name = value.strip()
    if (
        not name
        or name in (".", "..")
        or len(name) >= _IFNAMSIZ
        or (_BAD_IFNAME.search(name))
    ):
        raise SpecFieldError(
            "devname",
            f"{value!r} cannot be a Linux interface name (1-15 characters, "
            "no '/', ':' or spaces)",
        )
    return name


def check_text(text: str, field: str, what: str, limit: int) -> str:
    """``text`` if it is printable and at most ``limit`` characters."""
    if len(text) > limit:
        raise SpecFieldError(
            field,
            f"the {what} is {len(text)} characters long; at most {limit} "
            "are allowed",
        )
    bad = _CONTROL.search(text)
    if bad is not None:
        raise SpecFieldError(
            field,
            f"the {what} {render_json(text)} contains the control "
            f"character {bad.group()!r} at position {bad.start()}",
        )
    return text


def _parse_physnet(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        if value != value.strip():
            # Neutron compares names exactly: " physnet1" never matches
            # the network's "physnet1" and no port could ever bind.
            raise SpecFieldError(
                "physical_network",
                f"{render_json(value)} has leading or trailing spaces; "
                "network names are compared exactly",
            )
        return check_text(
            value, "physical_network", "network name", MAX_PHYSNET
        )
    raise SpecFieldError(
        "physical_network",
        "expected a non-empty network name string or null, got "
        f"{describe_json(value)}",
    )


def _parse_tag(key: str, value: object) -> str:
    if not key:
        raise SpecFieldError("entry", "a tag name cannot be empty")
    check_text(key, "entry", "tag name", MAX_TAG)
    if key in BOOLEAN_TAGS:
        return parse_bool_tag(value, key)
    if key in STRING_TAGS:
        if isinstance(value, str):
            return check_text(value, key, "value", MAX_TAG)
        raise SpecFieldError(
            key, f"expected a string, got {describe_json(value)}"
        )
    if isinstance(value, str):
        return check_text(value, key, "value", MAX_TAG)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return check_text(json.dumps(value), key, "value", MAX_TAG)
    raise SpecFieldError(
        key,
        "a tag value must be a string, number or boolean, got "
        f"{describe_json(value)}",
    )
