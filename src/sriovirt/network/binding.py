"""The static backend's binding rules: Neutron's ML2 result, computed.

:func:`bind` answers what Neutron's ML2 plugin answers when a port is
bound to a host with a PCI profile: the ``binding:vif_type`` and
``binding:vif_details``.  For PCI vnic types it follows the SR-IOV
mechanism driver (``sriovnicswitch``): the first segment of type
``vlan`` or ``flat`` whose physical network is the device's binds the
port, with the segment's VLAN id as a string (``'0'`` on a flat
network); ``direct-physical`` gives ``hostdev_physical``, ``direct``
and ``macvtap`` give ``hw_veb``, or ``802.1qbh`` with the network's
``sriovirt:profileid`` where the network document carries one (what a
port-profile driver would bind).  No such segment, no PCI profile or a
vnic type no driver handles: ``binding_failed`` with empty details, as
Neutron shows it, and the reason (which the static backend raises as
:class:`~sriovirt.exception.PortBindingFailed`).  A ``normal`` port
gets the vif type its network document names in ``sriovirt:vif_type``
(``tap`` by default), with ``sriovirt:vif_details`` or the details
that vif type's agent reports.

Pure: this module must not read or write files, talk to Neutron or read
configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sriovirt.network import neutron_body
from sriovirt.network.api import PortBinding
from sriovirt.network.checks import show
from sriovirt.network.json_values import Fail
from sriovirt.network.values import (
    PCI_DEV_TYPES,
    SUPPORTED_BINDINGS,
    VifType,
    VnicType,
)

#: Network document keys of the static backend (not Neutron's): what a
#: mechanism driver other than sriovnicswitch would decide.
PROFILEID_KEY = "sriovirt:profileid"
VIF_TYPE_KEY = "sriovirt:vif_type"
VIF_DETAILS_KEY = "sriovirt:vif_details"

BINDING_FAILED = "binding_failed"
#: Segment types the SR-IOV mechanism driver binds.
SRIOV_NETWORK_TYPES = frozenset({"vlan", "flat"})
NORMAL_VIF_TYPES = frozenset(
    t for t, vnics in SUPPORTED_BINDINGS.items() if VnicType.NORMAL in vnics
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingResult:
    """``binding:vif_type`` and ``binding:vif_details`` of a binding."""

    vif_type: str
    vif_details: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Why no driver bound the port (``binding_failed`` only).
    reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.vif_type == BINDING_FAILED

    def fields(self) -> dict[str, Any]:
        """The port attributes, as Neutron shows them."""
        return {
            "binding:vif_type": self.vif_type,
            "binding:vif_details": dict(self.vif_details),
        }


def failed(reason: str) -> BindingResult:
    """``binding_failed``, and why (what Neutron's log would say)."""
    return BindingResult(vif_type=BINDING_FAILED, reason=reason)


def bind(
    port: Mapping[str, Any],
    network: Mapping[str, Any],
    binding: PortBinding,
) -> BindingResult:
    """The binding result of ``port`` on ``network`` with ``binding``.

    Raises :class:`~sriovirt.exception.VifError` naming the port when
    the network document itself is malformed.
    """
    port_id = neutron_body.port_id(port)
    vnic = port.get("binding:vnic_type") or VnicType.NORMAL.value
    if vnic == VnicType.NORMAL:
        return _normal(network, Fail(port_id))
    # isinstance first: a list or dict is not hashable.
    if not isinstance(vnic, str) or vnic not in PCI_DEV_TYPES:
        return failed(f"no mechanism driver binds vnic_type {show(vnic)}")
    if binding.pci is None:
        return failed(f"vnic_type {vnic!r} needs a PCI device profile")
    net = neutron_body.network(network, port_id)
    for segment in net.segments:
        if (
            segment.network_type in SRIOV_NETWORK_TYPES
            and segment.physical_network is not None
            and segment.physical_network == binding.pci.physical_network
        ):
            # flat: untagged, which Neutron reports as VLAN '0'.
            vlan = (
                (segment.segmentation_id or 0)
                if segment.network_type == "vlan"
                else 0
            )
            return _sriov(VnicType(vnic), vlan, network, Fail(port_id))
    return failed(
        f"network {show(net.id)} has no vlan or flat segment on the "
        f"device's physical network {show(binding.pci.physical_network)}"
    )


def _sriov(
    vnic: VnicType, vlan: int, network: Mapping[str, Any], fail: Fail
) -> BindingResult:
    details: dict[str, Any] = {
        "port_filter": False,
        "connectivity": "l2",
        "vlan": str(vlan),
    }
    if vnic is VnicType.DIRECT_PHYSICAL:
        return _result(VifType.HOSTDEV_PHYSICAL, details)
    profileid = network.get(PROFILEID_KEY)
    if profileid is None:
        return _result(VifType.HW_VEB, details)
    if not isinstance(profileid, str) or not profileid:
        raise fail(
            f"network {PROFILEID_KEY} {show(profileid)} is not a "
            "non-empty string"
        )
    return _result(VifType.QBH, {"profileid": profileid})


def _normal(network: Mapping[str, Any], fail: Fail) -> BindingResult:
    vif_type = network.get(VIF_TYPE_KEY, VifType.TAP.value)
    # isinstance first: a dict is not hashable, so `in` would raise.
    if not isinstance(vif_type, str) or vif_type not in NORMAL_VIF_TYPES:
        raise fail(
            f"network {VIF_TYPE_KEY} {show(vif_type)} is not one of "
            f"{', '.join(sorted(NORMAL_VIF_TYPES))}"
        )
    details = network.get(VIF_DETAILS_KEY)
    if details is None:
        details = _agent_details(VifType(vif_type), network)
    elif not isinstance(details, Mapping):
        raise fail(
            f"network {VIF_DETAILS_KEY} {show(details)} is not an object"
        )
    return _result(VifType(vif_type), details)


def _agent_details(
    vif_type: VifType, network: Mapping[str, Any]
) -> dict[str, Any]:
    """What the agent of ``vif_type`` reports when it binds a port."""
    if vif_type is VifType.OVS:
        return {
            "connectivity": "l2",
            "port_filter": True,
            "ovs_hybrid_plug": False,
            "datapath_type": "system",
            "bridge_name": "br-int",
        }
    if vif_type is VifType.BRIDGE:
        # Linux bridge agent's bridge name: "brq" + network id prefix.
        net_id = str(network.get("id") or "")
        return {"port_filter": True, "bridge_name": ("brq" + net_id)[:14]}
    return {"port_filter": False}


def _result(vif_type: VifType, details: Mapping[str, Any]) -> BindingResult:
    return BindingResult(
        vif_type=vif_type.value, vif_details=MappingProxyType(dict(details))
    )
