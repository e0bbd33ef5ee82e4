"""One ``[pci] device_spec`` entry: parsing, validation and matching.

A :class:`DeviceSpec` is the typed form of one JSON object of the
``device_spec`` option: which host PCI functions it selects (``vendor_id``,
``product_id``, ``address`` glob or regexes, ``devname``) and which tags
the selected devices carry (``physical_network``, ``trusted``, ...).

Decoding the option's values into entries and the field helpers shared
with ``[pci] alias`` live in :mod:`sriovirt.pci.config_entries`, the
address matchers in :mod:`sriovirt.pci.address_match`, the tag
vocabulary in :mod:`sriovirt.pci.tags`; this module decides what one
entry means.  It is a little over 400 lines because that is one
concept: the entry's fields, how they are checked and how they select
a device (matching and explaining it) are read together.

This module must not read sysfs or any other host state: ``devname`` is
resolved from the :class:`~sriovirt.pci.device.HostPciDevice` fields the
inventory filled in.  It must not import oslo, lxml or anything of the
project but :mod:`sriovirt.exception` and :mod:`sriovirt.pci`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.address_match import AddressMatcher, parse_address
from sriovirt.pci.config_entries import (
    EntryOrigin,
    SpecFieldError,
    check_text,
    config_error,
    describe_json,
    duplicate_key_warnings,
    entry_warning,
    parse_bool_tag,
    parse_hex_id,
    render_json,
    suggest,
)
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.netdev import ifname_problem
from sriovirt.pci.tags import (
    BOOLEAN_TAGS,
    KNOWN_TAGS,
    MAX_PHYSNET,
    MAX_TAG,
    RESERVED_TAGS,
    STRING_TAGS,
)

LOG = logging.getLogger(__name__)

DEFAULT_OPTION = "[pci] device_spec"
_DEFAULT_ORIGIN = EntryOrigin(DEFAULT_OPTION)

#: Keys that select devices; every other key is a tag.
SELECTOR_KEYS = ("vendor_id", "product_id", "address", "devname")
KNOWN_KEYS = (*SELECTOR_KEYS, *KNOWN_TAGS)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """One parsed ``device_spec`` entry.

    ``vendor_id``/``product_id`` are 4 lowercase hex digits or ``None``
    for any; ``tags`` maps each tag to its normalised string (booleans as
    "true"/"false"; ``physical_network`` is there only when it is a
    string); ``physical_network`` is the typed view of that one tag.
    """

    origin: EntryOrigin = _DEFAULT_ORIGIN
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
        where = origin if origin is not None else _DEFAULT_ORIGIN
        text = render_json(entry)
        try:
            spec = _parse_entry(entry, where, text, duplicate_keys)
        except SpecFieldError as exc:
            raise config_error(
                exception.InvalidDeviceSpecEntry,
                where,
                text,
                exc.field,
                exc.reason,
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
    # Checks run in this order so an entry with several faults always
    # reports the same one first.
    data = _as_object(entry)
    warnings = duplicate_key_warnings(origin, text, duplicate_keys)
    vendor_id = _optional_id(data, "vendor_id")
    product_id = _optional_id(data, "product_id")
    address, devname = _parse_location(data)
    _refuse_reserved(data)
    tags, typos = _parse_tags(data)
    warnings.extend(
        entry_warning(
            origin,
            text,
            f"unknown key {key!r} is kept as a custom tag; did you mean "
            f"{hint!r}?",
        )
        for key, hint in typos
    )
    if not any(key in data for key in SELECTOR_KEYS):
        raise _no_selector(typos)
    return DeviceSpec(
        origin=origin,
        vendor_id=vendor_id,
        product_id=product_id,
        address=address,
        devname=devname,
        physical_network=tags.get("physical_network"),
        tags=MappingProxyType(tags),
        warnings=tuple(warnings),
    )


def _as_object(entry: object) -> dict[str, object]:
    if not isinstance(entry, dict):
        raise SpecFieldError(
            "entry", f"expected a JSON object, got {describe_json(entry)}"
        )
    for key in entry:
        if not isinstance(key, str):
            raise SpecFieldError("entry", f"key {key!r} is not a string")
    return entry


def _parse_location(
    data: dict[str, object],
) -> tuple[AddressMatcher | None, str | None]:
    """The ``address`` matcher or the ``devname``: one at most."""
    if "address" in data and "devname" in data:
        raise SpecFieldError(
            "address/devname",
            "address and devname are mutually exclusive; keep one",
        )
    if "address" in data:
        return parse_address(data["address"]), None
    if "devname" in data:
        return None, _parse_devname(data["devname"])
    return None, None


def _optional_id(data: dict[str, object], key: str) -> str | None:
    if key not in data:
        return None
    return parse_hex_id(data[key], key, wildcard=True)


def _refuse_reserved(data: dict[str, object]) -> None:
    reserved = [key for key in data if key in RESERVED_TAGS]
    if reserved:
        raise SpecFieldError(
            reserved[0],
            f"reserved names cannot be tags: {', '.join(reserved)} "
            "(sriovirt stores its own value for each device under these "
            f"names; reserved: {', '.join(RESERVED_TAGS)})",
        )


def _parse_tags(
    data: dict[str, object],
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Every non-selector key as a tag, and ``(key, hint)`` of typos.

    ``physical_network`` is a tag only when it names a network.
    """
    tags: dict[str, str] = {}
    typos: list[tuple[str, str]] = []
    for key, value in data.items():
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
                typos.append((key, hint))
    return tags, typos


def _no_selector(typos: list[tuple[str, str]]) -> SpecFieldError:
    typo = ""
    if typos:
        unknown = ", ".join(f"{k!r} (did you mean {h!r}?)" for k, h in typos)
        typo = f"; unknown keys {unknown}"
    return SpecFieldError(
        "entry",
        "no vendor_id, product_id, address or devname: this would "
        'whitelist every PCI device; write {"vendor_id": "*"} to do '
        f"that on purpose{typo}",
    )


def _parse_devname(value: object) -> str:
    if not isinstance(value, str):
        raise SpecFieldError(
            "devname",
            f"expected a network interface name, got {describe_json(value)}",
        )
    name = value.strip()
    if ifname_problem(name) is not None:
        raise SpecFieldError(
            "devname",
            f"{value!r} cannot be a Linux interface name (1-15 characters, "
            "no '/', ':' or spaces)",
        )
    return name


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
