"""The VIF model: a bound Neutron port as typed, validated values.

:meth:`VIF.from_port` turns the Neutron API v2.0 JSON body of a port,
read *after* binding, plus optionally its network, into a frozen
:class:`VIF`.  Everything the libvirt VIF builder
(:mod:`sriovirt.virt.libvirt.vif`) needs is checked once, while the body
is read (:mod:`~sriovirt.network.neutron_body`), so the builder can trust
its input: a missing or malformed value is a
:class:`~sriovirt.exception.VifError` that names the port and the field.
The parts of a VIF (binding types, details, PCI profile, network) are
:mod:`~sriovirt.network.values`, re-exported here.

Supported bindings (``binding:vif_type`` x ``binding:vnic_type``):

====================  ===================  =========================
vif_type              vnic_type            required values
====================  ===================  =========================
``hw_veb``            ``direct``,          ``vif_details.vlan``
                      ``macvtap``          (0-4095; 0 = untagged),
                                           ``profile.pci_slot``
``802.1qbh``          ``direct``,          ``vif_details.profileid``,
                      ``macvtap``          ``profile.pci_slot``
``hostdev_physical``  ``direct-physical``  ``profile.pci_slot``
``ovs``               ``normal``           --
``bridge``            ``normal``           --
``tap``               ``normal``           --
====================  ===================  =========================

Any other pair is rejected, as are ``binding_failed`` and ``unbound``
(the port is not usable on this host) and vif types sriovirt does not
know.

This module is pure: it must not read JSON fields itself, talk to
Neutron, libvirt, the database or configuration, and must not render XML
(that is policy of :mod:`sriovirt.virt.libvirt.vif`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sriovirt.network import neutron_body
from sriovirt.network.json_values import Fail
from sriovirt.network.values import (
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

__all__ = [
    "NIC_NAME_LEN",
    "PCI_VNIC_TYPES",
    "SUPPORTED_BINDINGS",
    "UNBOUND_VIF_TYPES",
    "VIF",
    "Network",
    "PciProfile",
    "Segment",
    "VifDetails",
    "VifType",
    "VnicType",
]

#: Linux interface names are at most 15 characters; Nova uses
#: ``tap`` + the first 11 characters of the port id, and so do we.
NIC_NAME_LEN = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class VIF:
    """A bound Neutron port, ready to be turned into guest XML."""

    id: str
    address: str
    vnic_type: VnicType
    vif_type: VifType
    details: VifDetails
    profile: PciProfile | None = None
    network: Network | None = None
    network_id: str | None = None
    host: str | None = None

    @property
    def devname(self) -> str:
        """Host tap device name for non-PCI VIFs (``tap`` + id prefix)."""
        return ("tap" + self.id)[:NIC_NAME_LEN]

    @property
    def is_pci(self) -> bool:
        """True when a host PCI device (VF or PF) backs this port."""
        return self.vnic_type in PCI_VNIC_TYPES

    @property
    def pci_slot(self) -> PciAddress | None:
        return None if self.profile is None else self.profile.pci_slot

    @property
    def vlan(self) -> int | None:
        """The VLAN tag to program (None for untagged; see VifDetails)."""
        return self.details.tagged_vlan

    @property
    def mtu(self) -> int | None:
        return None if self.network is None else self.network.mtu

    @classmethod
    def from_port(
        cls,
        port: Mapping[str, Any],
        network: Mapping[str, Any] | None = None,
    ) -> VIF:
        """Build and validate a VIF from a bound port (and its network).

        ``port`` and ``network`` are Neutron API v2.0 JSON bodies, either
        wrapped (``{"port": {...}}``) or the inner objects.
        """
        port_id = neutron_body.port_id(port)
        fail = Fail(port_id)
        body = neutron_body.unwrap(port, "port", fail)
        address = neutron_body.mac_address(body, fail)
        vnic_type, vif_type = neutron_body.binding(body, fail)
        details = neutron_body.vif_details(body, vif_type, fail)
        profile = neutron_body.pci_profile(body, vnic_type, fail)
        net = (
            None if network is None else neutron_body.network(network, port_id)
        )
        return cls(
            id=port_id,
            address=address,
            vnic_type=vnic_type,
            vif_type=vif_type,
            details=details,
            profile=profile,
            network=net,
            network_id=neutron_body.network_id(body, net, fail),
            host=neutron_body.host_id(body, fail),
        )
