"""Neutron API v2.0 port and network bodies -> the values of a VIF.

Reads the JSON bodies of a bound port (``{"port": {...}}`` or the inner
object) and of its network, field by field, into the typed values of
:mod:`~sriovirt.network.values`; :meth:`sriovirt.network.model.VIF.
from_port` (the public entry point) calls these readers in order.  Every
value the guest XML needs is checked here, once, so a malformed value is
a :class:`~sriovirt.exception.VifError` that names the port and the
field, quoting the value with its length bounded.

This is what real Neutron returns for the SR-IOV mechanism drivers:
``vlan`` is a string (``'42'``; ``'0'`` on a flat network) and is
normalised to an ``int`` here.

Pure: this module must not talk to Neutron, libvirt, the database or
configuration, and must not render XML.
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
    MAX_SEGMENTATION_ID,
    MAX_VLAN,
    MIN_MTU,
    PCI_VNIC_TYPES,
    SUPPORTED_BINDINGS,
    UNBOUND_VIF_TYPES,
    Network,
    PciProfile,
    Segment,
    VifDetails,
    VifType,
    VnicType,
)
from sriovirt.pci.address import PciAddress

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
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


# --- the port, in the order VIF.from_port reads it -------------------------


def _inner(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object of a ``{key: {...}}`` wrapper, else ``body`` itself."""
    inner = body.get(key)
    if len(body) == 1 and isinstance(inner, Mapping):
        return inner
    return body


def unwrap(body: Mapping[str, Any], key: str, fail: Fail) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise fail(f"{key} body {show(body)} is not a JSON object")
    return _inner(body, key)


def port_id(port: object) -> str:
    # Runs before _unwrap: every error after it names the port.
    port_id = (
        _inner(port, "port").get("id") if isinstance(port, Mapping) else None
    )
    if not isinstance(port_id, str) or not port_id.strip():
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(port_id)} is missing or not a string",
        )
    port_id = port_id.strip()
    # Neutron's ids are UUIDs, and the XML relies on it: the tap name is
    # cut from the id and OVS's interfaceid must be a UUID.
    if not _UUID.fullmatch(port_id):
        raise exception.VifError(
            port_id="<unknown>",
            reason=f"port id {show(port_id)} is not a UUID",
        )
    return port_id


def mac_address(value: object, fail: Fail) -> str:
    if not isinstance(value, str):
        raise fail(f"mac_address {show(value)} is missing or not a string")
    mac = value.strip().lower()
    if not _MAC.fullmatch(mac):
        raise fail(
            f"mac_address {show(value)} is not a MAC address like "
            "fa:16:3e:00:00:01"
        )
    # libvirt refuses a multicast guest MAC ("expected unicast mac
    # address"); say so here, where we can name the port.
    if int(mac[:2], 16) & 1:
        raise fail(f"mac_address {show(value)} is a multicast address")
    return mac


def binding(body: Mapping[str, Any], fail: Fail) -> tuple[VnicType, VifType]:
    """``binding:vnic_type`` and ``binding:vif_type``, a supported pair."""
    vnic_type = _vnic_type(body.get("binding:vnic_type"), fail)
    vif_type = _vif_type(body.get("binding:vif_type"), body, fail)
    allowed = SUPPORTED_BINDINGS[vif_type]
    if vnic_type not in allowed:
        raise fail(
            f"binding:vif_type {vif_type.value!r} with "
            f"binding:vnic_type {vnic_type.value!r} is not supported "
            f"(vif_type {vif_type.value!r} needs vnic_type "
            f"{' or '.join(sorted(allowed))})"
        )
    return vnic_type, vif_type


def vif_details(value: object, vif_type: VifType, fail: Fail) -> VifDetails:
    """``binding:vif_details``, with what ``vif_type`` requires of it."""
    details = _details(value, fail)
    if vif_type is VifType.HW_VEB and details.vlan is None:
        raise fail(
            "binding:vif_details.vlan is missing; vif_type hw_veb "
            "needs the VLAN id Neutron assigned ('0' for flat)"
        )
    if vif_type is VifType.QBH and not details.profileid:
        raise fail(
            "binding:vif_details.profileid is missing; vif_type "
            "802.1qbh needs the port profile id"
        )
    return details


def pci_profile(
    value: object, vnic_type: VnicType, fail: Fail
) -> PciProfile | None:
    """``binding:profile``: its PCI part, required for PCI vnic types."""
    return _profile(
        value,
        required=vnic_type in PCI_VNIC_TYPES,
        vnic_type=vnic_type,
        fail=fail,
    )


def network_id(
    body: Mapping[str, Any], network: Network | None, fail: Fail
) -> str | None:
    """The port's ``network_id``, which must be ``network``'s id."""
    value = _opt_uuid(body, "network_id", fail)
    if (
        network is not None
        and network.id is not None
        and value is not None
        and network.id != value
    ):
        raise fail(
            f"network_id {show(value)} does not match the network "
            f"given ({show(network.id)})"
        )
    return value


def host_id(body: Mapping[str, Any], fail: Fail) -> str | None:
    """``binding:host_id``, None when empty."""
    return _opt_str(body, "binding:host_id", "binding:host_id", fail) or None


def network(body: Mapping[str, Any], port_id: str) -> Network:
    """A Neutron network body (``{"network": {...}}`` or the inner
    object); errors name ``port_id``."""
    fail = Fail(port_id)
    net = unwrap(body, "network", fail)
    segments: list[Segment] = []
    if any(key.startswith("provider:") for key in net):
        segments.append(_segment(net, "network", fail))
    segments.extend(_segments(net.get("segments"), fail))
    mtu = net.get("mtu")
    return Network(
        id=_opt_str(net, "id", "network.id", fail),
        name=_opt_str(net, "name", "network.name", fail),
        mtu=None if mtu is None else _mtu(mtu, fail),
        segments=tuple(segments),
    )


def _segments(raw_segments: object, fail: Fail) -> list[Segment]:
    """``network.segments`` (a list of objects; absent: none)."""
    if raw_segments is None:
        return []
    if not isinstance(raw_segments, list):
        raise fail(f"network.segments {show(raw_segments)} is not a list")
    segments: list[Segment] = []
    for index, raw in enumerate(raw_segments):
        if not isinstance(raw, Mapping):
            raise fail(
                f"network.segments[{index}] {show(raw)} is not an object"
            )
        segments.append(_segment(raw, f"network.segments[{index}]", fail))
    return segments


# --- field parsers ---------------------------------------------------------


def _vnic_type(value: object, fail: Fail) -> VnicType:
    if value is None:
        # Neutron's default when the attribute is not set.
        return VnicType.NORMAL
    if not isinstance(value, str):
        raise fail(f"binding:vnic_type {show(value)} is not a string")
    try:
        return VnicType(value)
    except ValueError:
        raise fail(
            f"binding:vnic_type {show(value)} is unknown; known: "
            f"{', '.join(v.value for v in VnicType)}"
        ) from None


def _vif_type(value: object, body: Mapping[str, Any], fail: Fail) -> VifType:
    if value is None:
        raise fail("binding:vif_type is missing; is the port bound?")
    if not isinstance(value, str):
        # Checked first: `in` on a frozenset hashes, and a dict cannot.
        raise fail(f"binding:vif_type {show(value)} is not a string")
    if value in UNBOUND_VIF_TYPES:
        host = body.get("binding:host_id") or "<no host>"
        raise fail(
            f"binding:vif_type is {value!r}: Neutron did not bind the "
            f"port on host {show(host)}"
        )
    try:
        return VifType(value)
    except ValueError:
        raise fail(
            f"binding:vif_type {show(value)} is not supported; supported: "
            f"{', '.join(v.value for v in VifType)}"
        ) from None


def _details(value: object, fail: Fail) -> VifDetails:
    if value is None:
        return VifDetails()
    if not isinstance(value, Mapping):
        raise fail(f"binding:vif_details {show(value)} is not an object")
    where = "binding:vif_details"
    vlan = value.get("vlan")
    return VifDetails(
        vlan=None if vlan is None else _vlan(vlan, fail),
        profileid=_profileid(value.get("profileid"), fail),
        bridge_name=_bridge_name(value.get("bridge_name"), fail),
        port_filter=_bool(
            value.get("port_filter", False), f"{where}.port_filter", fail
        ),
        ovs_hybrid_plug=_bool(
            value.get("ovs_hybrid_plug", False),
            f"{where}.ovs_hybrid_plug",
            fail,
        ),
        datapath_type=_opt_str(
            value, "datapath_type", f"{where}.datapath_type", fail
        ),
        connectivity=_opt_str(
            value, "connectivity", f"{where}.connectivity", fail
        ),
    )


def _vlan(value: object, fail: Fail) -> int:
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


def _profileid(value: object, fail: Fail) -> str | None:
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


def _bridge_name(value: object, fail: Fail) -> str | None:
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


def _profile(
    value: object,
    *,
    required: bool,
    vnic_type: VnicType,
    fail: Fail,
) -> PciProfile | None:
    if value is None or value == "":
        value = {}
    if not isinstance(value, Mapping):
        raise fail(f"binding:profile {show(value)} is not an object")
    address = _pci_slot(value.get("pci_slot"), required, vnic_type, fail)
    if address is None:
        return None
    vendor_id, product_id = _vendor_info(value.get("pci_vendor_info"), fail)
    return PciProfile(
        pci_slot=address,
        vendor_id=vendor_id,
        product_id=product_id,
        physical_network=_opt_str(
            value,
            "physical_network",
            "binding:profile.physical_network",
            fail,
        ),
        trusted=_bool(
            value.get("trusted", False), "binding:profile.trusted", fail
        ),
    )


def _pci_slot(
    slot: object, required: bool, vnic_type: VnicType, fail: Fail
) -> PciAddress | None:
    """``binding:profile.pci_slot``: there exactly when ``required``."""
    if slot is None:
        if required:
            raise fail(
                f"binding:profile.pci_slot is missing; vnic_type "
                f"{vnic_type.value!r} is backed by a PCI device"
            )
        return None
    if not required:
        # A normal port does not use a PCI device; a pci_slot here means
        # the binding and the vnic type disagree.
        raise fail(
            f"binding:profile.pci_slot {show(slot)} is set but vnic_type "
            f"{vnic_type.value!r} does not use a PCI device"
        )
    address = _pci_address(slot)
    if address is None:
        raise fail(
            f"binding:profile.pci_slot {show(slot)} is not a PCI address "
            "like 0000:81:10.2"
        )
    return address


def _vendor_info(
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


def _pci_address(value: object) -> PciAddress | None:
    # Only text is parsed: parse() quotes what it is given in its error,
    # and repr of a huge int raises.
    if not isinstance(value, str):
        return None
    try:
        return PciAddress.parse(value)
    except exception.InvalidPciAddress:
        return None


def _segment(body: Mapping[str, Any], where: str, fail: Fail) -> Segment:
    seg_id = body.get("provider:segmentation_id")
    return Segment(
        network_type=_opt_str(
            body,
            "provider:network_type",
            f"{where}.provider:network_type",
            fail,
        ),
        physical_network=_opt_str(
            body,
            "provider:physical_network",
            f"{where}.provider:physical_network",
            fail,
        ),
        segmentation_id=None
        if seg_id is None
        else _int(
            seg_id,
            f"{where}.provider:segmentation_id",
            fail,
            top=MAX_SEGMENTATION_ID,
        ),
    )


def _opt_str(
    body: Mapping[str, Any], key: str, field: str, fail: Fail
) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{field} {show(value)} is not a string")
    return value


def _opt_uuid(body: Mapping[str, Any], key: str, fail: Fail) -> str | None:
    value = _opt_str(body, key, key, fail)
    if value is not None and not _UUID.fullmatch(value):
        raise fail(f"{key} {show(value)} is not a UUID")
    return value


def _int(
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


def _mtu(value: object, fail: Fail) -> int:
    # Any integer first, so that -1 and 67 get the same message as 10**30.
    mtu = _int(value, "network.mtu", fail, bottom=-(10**20), top=10**20)
    if mtu != 0 and not MIN_MTU <= mtu <= MAX_MTU:
        raise fail(
            f"network.mtu {show(value)} is outside {MIN_MTU}-{MAX_MTU} "
            "(or 0: unknown)"
        )
    return mtu


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def _bool(value: object, field: str, fail: Fail) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise fail(f"{field} {show(value)} is not a boolean")
