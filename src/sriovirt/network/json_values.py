"""One JSON value of a Neutron body -> one checked Python value.

Strings, UUIDs, integers in a range, VLAN ids, MTUs, MAC addresses, PCI
addresses and vendor ids, 802.1Qbh profile ids and bridge names: each
reader takes the value as ``json.loads`` gave it (any type, any size) and
returns the typed value or raises, through :class:`Fail`, a
:class:`~sriovirt.exception.VifError` that names the port and the field
and quotes the value with its length bounded.  Which field a body holds
and which value type it becomes is :mod:`~sriovirt.network.neutron_body`.

Pure: this module must not know the shape of a port or network body,
talk to Neutron, libvirt, the database or configuration, or render XML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sriovirt import exception
from sriovirt.network.checks import ifname_problem, show, text_problem
from sriovirt.network.values import (
    MAX_MTU,
    MAX_PROFILEID,
    MAX_VLAN,
    MIN_MTU,
)
from sriovirt.pci.address import PciAddress
from sriovirt.pci.netdev import mac_problem

# Enough digits for any field here; longer text is out of range without
# being converted (int() of 5000 digits raises ValueError).
_INT = re.compile(r"[+-]?[0-9]{1,20}")
_LONG_INT = re.compile(r"[+-]?[0-9]+")
_VENDOR_INFO = re.compile(r"([0-9a-f]{4}):([0-9a-f]{4})")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# libvirt's schema for <source bridge=...> (interface-bridge-attributes).
_BRIDGE_CHARS = re.compile(r"[a-zA-Z0-9_.\-\\]*")


class Fail:
    """Raise :class:`VifError` for one port; keeps call sites short."""

    def __init__(self, port_id: str) -> None:
        self.port_id = port_id

    def __call__(self, reason: str) -> exception.VifError:
        return exception.VifError(port_id=self.port_id, reason=reason)


def port_id(value: object) -> str:
    """The port's ``id``: errors name no port (there is none yet)."""
    if not isinstance(value, str) or not value.strip():
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(value)} is missing or not a string",
        )
    value = value.strip()
    # Neutron's ids are UUIDs, and the XML relies on it: the tap name is
    # cut from the id and OVS's interfaceid must be a UUID.
    if not _UUID.fullmatch(value):
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(value)} is not a UUID",
        )
    return value


def mac_address(value: object, fail: Fail) -> str:
    if not isinstance(value, str):
        raise fail(f"mac_address {show(value)} is missing or not a string")
    mac = value.strip().lower()
    if mac_problem(mac) is not None:
        raise fail(
            f"mac_address {show(value)} is not a MAC address like "
            "fa:16:3e:00:00:01"
        )
    # libvirt refuses a multicast guest MAC ("expected unicast mac
    # address"); say so here, where we can name the port.
    if int(mac[:2], 16) & 1:
        raise fail(f"mac_address {show(value)} is a multicast address")
    return mac


def vlan(value: object, fail: Fail) -> int:
    field = "binding:vif_details.vlan"
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, str) and _LONG_INT.fullmatch(value.strip()):
        number = MAX_VLAN + 1  # too many digits to convert: out of range
    else:
        number = None
    if number is None:
        raise fail(f"{field} {show(value)} is not an integer VLAN id")
    if not 0 <= number <= MAX_VLAN:
        raise fail(f"{field} {show(value)} is outside 0-{MAX_VLAN}")
    return number


def profileid(value: object, fail: Fail) -> str | None:
    field = "binding:vif_details.profileid"
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    problem = text_problem(value)
    if problem is None and len(value) > MAX_PROFILEID:
        problem = f"is longer than {MAX_PROFILEID} characters"
    if problem is not None:
        raise fail(f"{field} {show(value)} {problem}")
    return value


def bridge_name(value: object, fail: Fail) -> str | None:
    field = "binding:vif_details.bridge_name"
    if value is None or value == "":
        # Unset: the builder picks the default bridge.
        return value
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    problem = ifname_problem(value)
    if problem is None and not _BRIDGE_CHARS.fullmatch(value):
        problem = "has characters libvirt refuses in a bridge name"
    if problem is not None:
        raise fail(f"{field} {show(value)} {problem}")
    return value


def vendor_info(
    info: object, fail: Fail
) -> tuple[str, str] | tuple[None, None]:
    """``binding:profile.pci_vendor_info`` as (vendor, product) ids."""
    if info is None:
        return None, None
    match = (
        _VENDOR_INFO.fullmatch(info.strip().lower())
        if isinstance(info, str)
        else None
    )
    if match is None:
        raise fail(
            f"binding:profile.pci_vendor_info {show(info)} is not "
            "'vvvv:pppp' (4 hex digits each)"
        )
    vendor_id, product_id = match.groups()
    return vendor_id, product_id


def pci_address(value: object) -> PciAddress | None:
    # Only text is parsed: parse() quotes what it is given in its error,
    # and repr of a huge int raises.
    if not isinstance(value, str):
        return None
    try:
        return PciAddress.parse(value)
    except exception.InvalidPciAddress:
        return None


def opt_str(
    body: Mapping[str, Any], key: str, field: str, fail: Fail
) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    return value


def opt_uuid(body: Mapping[str, Any], key: str, fail: Fail) -> str | None:
    value = opt_str(body, key, key, fail)
    if value is not None and not _UUID.fullmatch(value):
        raise fail(f"{key} {show(value)} is not a UUID")
    return value


def integer(
    value: object, field: str, fail: Fail, *, bottom: int = 0, top: int
) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            # Past 20 digits it is out of range; int() of thousands of
            # digits would raise ValueError instead.
            number = int(text) if len(text) <= 20 else top + 1
    if number is None:
        raise fail(f"{field} {show(value)} is not an integer")
    if not bottom <= number <= top:
        raise fail(f"{field} {show(value)} is outside {bottom}-{top}")
    return number


def mtu(value: object, fail: Fail) -> int:
    # Any integer first, so that -1 and 67 get the same message as 10**30.
    mtu = integer(value, "network.mtu", fail, bottom=-(10**20), top=10**20)
    if mtu != 0 and not MIN_MTU <= mtu <= MAX_MTU:
        raise fail(
            f"network.mtu {show(value)} is outside {MIN_MTU}-{MAX_MTU} "
            "(or 0: unknown)"
        )
    return mtu
