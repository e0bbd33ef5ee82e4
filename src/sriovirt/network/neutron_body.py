"""Neutron API v2.0 port and network bodies -> the values of a VIF.

Reads the JSON bodies of a bound port (``{"port": {...}}`` or the inner
object) and of its network into the typed values of
:mod:`~sriovirt.network.values`: which field holds what, what a binding
requires (a VLAN for ``hw_veb``, a ``pci_slot`` for PCI vnic types), and
in which order the fields are read, so that the first problem is the one
reported.  Each single value is read by
:mod:`~sriovirt.network.json_values`.  :meth:`sriovirt.network.model.VIF.
from_port` (the public entry point) calls these readers in order.

This is what real Neutron returns for the SR-IOV mechanism drivers:
``vlan`` is a string (``'42'``; ``'0'`` on a flat network) and is
normalised to an ``int``.  A network's ``vlan`` segment must carry its
VLAN id, 1-4094 (what Neutron allocates): the static backend tags the
guest's traffic with it, so a missing or reserved id is refused rather
than bound untagged or as VLAN 4095.

Pure: this module must not talk to Neutron, libvirt, the database or
configuration, and must not render XML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sriovirt.network import json_values
from sriovirt.network.checks import show
from sriovirt.network.json_values import Fail
from sriovirt.network.values import (
    MAX_SEGMENTATION_ID,
    MAX_VLAN_ID,
    MIN_VLAN_ID,
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
from sriovirt.pci.tags import parse_bool

# --- the port, in the order VIF.from_port reads it -------------------------


def _inner(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object of a ``{key: {...}}`` wrapper, else ``body`` itself."""
    inner = body.get(key)
    if len(body) == 1 and isinstance(inner, Mapping):
        return inner
    return body


def unwrap(body: Mapping[str, Any], key: str, fail: Fail) -> Mapping[str, Any]:
    """The ``key`` object of a body, wrapped or not; a JSON object."""
    if not isinstance(body, Mapping):
        raise fail(f"{key} body {show(body)} is not a JSON object")
    return _inner(body, key)


def port_id(port: object) -> str:
    """The id of a port body: a UUID, checked first."""
    # Runs before unwrap: every error after it names the port.
    value = (
        _inner(port, "port").get("id") if isinstance(port, Mapping) else None
    )
    return json_values.port_id(value)


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


def mac_address(body: Mapping[str, Any], fail: Fail) -> str:
    """The port's ``mac_address``: a unicast MAC, lowercase."""
    return json_values.mac_address(body.get("mac_address"), fail)


def vif_details(
    body: Mapping[str, Any], vif_type: VifType, fail: Fail
) -> VifDetails:
    """``binding:vif_details``, with what ``vif_type`` requires of it."""
    details = _details(body.get("binding:vif_details"), fail)
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
    body: Mapping[str, Any], vnic_type: VnicType, fail: Fail
) -> PciProfile | None:
    """``binding:profile``: its PCI part, required for PCI vnic types."""
    return _profile(
        body.get("binding:profile"),
        required=vnic_type in PCI_VNIC_TYPES,
        vnic_type=vnic_type,
        fail=fail,
    )


def network_id(
    body: Mapping[str, Any], network: Network | None, fail: Fail
) -> str | None:
    """The port's ``network_id``, which must be ``network``'s id."""
    value = json_values.opt_uuid(body, "network_id", fail)
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
    return (
        json_values.opt_str(body, "binding:host_id", "binding:host_id", fail)
        or None
    )


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
        id=json_values.opt_str(net, "id", "network.id", fail),
        name=json_values.opt_str(net, "name", "network.name", fail),
        mtu=None if mtu is None else json_values.mtu(mtu, fail),
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
        vlan=None if vlan is None else json_values.vlan(vlan, fail),
        profileid=json_values.profileid(value.get("profileid"), fail),
        bridge_name=json_values.bridge_name(value.get("bridge_name"), fail),
        port_filter=_bool(
            value.get("port_filter", False), f"{where}.port_filter", fail
        ),
        ovs_hybrid_plug=_bool(
            value.get("ovs_hybrid_plug", False),
            f"{where}.ovs_hybrid_plug",
            fail,
        ),
        datapath_type=json_values.opt_str(
            value, "datapath_type", f"{where}.datapath_type", fail
        ),
        connectivity=json_values.opt_str(
            value, "connectivity", f"{where}.connectivity", fail
        ),
    )


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
    vendor_id, product_id = json_values.vendor_info(
        value.get("pci_vendor_info"), fail
    )
    return PciProfile(
        pci_slot=address,
        vendor_id=vendor_id,
        product_id=product_id,
        physical_network=json_values.opt_str(
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
    address = json_values.pci_address(slot)
    if address is None:
        raise fail(
            f"binding:profile.pci_slot {show(slot)} is not a PCI address "
            "like 0000:81:10.2"
        )
    return address


def _segment(body: Mapping[str, Any], where: str, fail: Fail) -> Segment:
    network_type = json_values.opt_str(
        body, "provider:network_type", f"{where}.provider:network_type", fail
    )
    seg_id = body.get("provider:segmentation_id")
    field = f"{where}.provider:segmentation_id"
    if network_type == "vlan":
        # The VLAN the guest's traffic is tagged with: a missing or
        # reserved id must not become untagged (0) or VLAN 4095.
        if seg_id is None:
            raise fail(
                f"{field} is missing; a vlan segment needs its VLAN id "
                f"({MIN_VLAN_ID}-{MAX_VLAN_ID})"
            )
        bottom, top = MIN_VLAN_ID, MAX_VLAN_ID
    else:
        bottom, top = 0, MAX_SEGMENTATION_ID
    return Segment(
        network_type=network_type,
        physical_network=json_values.opt_str(
            body,
            "provider:physical_network",
            f"{where}.provider:physical_network",
            fail,
        ),
        segmentation_id=None
        if seg_id is None
        else json_values.integer(seg_id, field, fail, bottom=bottom, top=top),
    )


def _bool(value: object, field: str, fail: Fail) -> bool:
    # The one boolean vocabulary (pci.tags), as for device_spec tags and
    # PCI requests: a port's "trusted": "y" means what it means there.
    result = parse_bool(value)
    if result is None:
        raise fail(f"{field} {show(value)} is not a boolean")
    return result
