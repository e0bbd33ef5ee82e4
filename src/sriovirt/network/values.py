"""The parts of a bound Neutron port, as typed values.

The binding vocabulary (:class:`VnicType`, :class:`VifType`, the
supported pairs), the ``binding:vif_details`` values sriovirt uses
(:class:`VifDetails`), the PCI part of ``binding:profile``
(:class:`PciProfile`), the network (:class:`Network`,
:class:`Segment`) and what an unbound port asks of the host before it is
bound (:class:`PortRequest`).  :class:`~sriovirt.network.model.VIF` is made of
these; :mod:`~sriovirt.network.neutron_body` reads them from Neutron's
JSON and checks the limits defined here.

Values only: this module must not read JSON bodies, talk to Neutron,
libvirt, the database or configuration, or render XML.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType

MAX_VLAN = 4095
#: What QEMU's ``host_mtu`` accepts (Linux's IPv4 minimum to IP_MAX_MTU);
#: 0 is Neutron's "unknown" and writes no ``<mtu>``.
MIN_MTU, MAX_MTU = 68, 65535
MAX_SEGMENTATION_ID = 2**32 - 1
#: The VLAN ids a ``vlan`` segment can have (802.1Q reserves 0 and 4095;
#: Neutron's ``network_vlan_ranges`` stay within 1-4094).
MIN_VLAN_ID, MAX_VLAN_ID = 1, 4094
#: libvirt's 802.1Qbh port profile id limit (40 bytes with the NUL).
MAX_PROFILEID = 39


class VnicType(enum.StrEnum):
    """Neutron ``binding:vnic_type`` values (all known, not all usable)."""

    NORMAL = "normal"
    DIRECT = "direct"
    MACVTAP = "macvtap"
    DIRECT_PHYSICAL = "direct-physical"
    BAREMETAL = "baremetal"
    VIRTIO_FORWARDER = "virtio-forwarder"
    SMARTNIC = "smart-nic"
    VDPA = "vdpa"
    ACCELERATOR_DIRECT = "accelerator-direct"
    ACCELERATOR_DIRECT_PHYSICAL = "accelerator-direct-physical"
    REMOTE_MANAGED = "remote-managed"


class VifType(enum.StrEnum):
    """Neutron ``binding:vif_type`` values sriovirt can plug."""

    HW_VEB = "hw_veb"
    QBH = "802.1qbh"
    HOSTDEV_PHYSICAL = "hostdev_physical"
    OVS = "ovs"
    BRIDGE = "bridge"
    TAP = "tap"


#: vif types that mean "not bound": never pluggable.
UNBOUND_VIF_TYPES = frozenset({"binding_failed", "unbound"})

#: vnic types whose port is backed by a host PCI device (VF or PF) and
#: therefore needs ``binding:profile.pci_slot``.
PCI_VNIC_TYPES = frozenset(
    {VnicType.DIRECT, VnicType.MACVTAP, VnicType.DIRECT_PHYSICAL}
)

#: The supported vif_type -> vnic_types pairs (the table of
#: :mod:`sriovirt.network.model`).
SUPPORTED_BINDINGS: Mapping[VifType, frozenset[VnicType]] = {
    VifType.HW_VEB: frozenset({VnicType.DIRECT, VnicType.MACVTAP}),
    VifType.QBH: frozenset({VnicType.DIRECT, VnicType.MACVTAP}),
    VifType.HOSTDEV_PHYSICAL: frozenset({VnicType.DIRECT_PHYSICAL}),
    VifType.OVS: frozenset({VnicType.NORMAL}),
    VifType.BRIDGE: frozenset({VnicType.NORMAL}),
    VifType.TAP: frozenset({VnicType.NORMAL}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class VifDetails:
    """The ``binding:vif_details`` values sriovirt uses.

    ``vlan`` is the VLAN id Neutron assigned (``0`` = untagged, as on a
    flat network); use :attr:`tagged_vlan` when deciding whether to
    write a ``<vlan>`` element.  Keys sriovirt does not use
    (``bound_drivers``, ``connectivity``, ...) are not kept, except the
    ones listed here.
    """

    vlan: int | None = None
    profileid: str | None = None
    bridge_name: str | None = None
    port_filter: bool = False
    ovs_hybrid_plug: bool = False
    datapath_type: str | None = None
    connectivity: str | None = None

    @property
    def tagged_vlan(self) -> int | None:
        """The VLAN tag to program, or None for untagged traffic.

        Nova writes ``<tag id='0'/>`` for a flat network because ``'0'``
        is a truthy string; VLAN 0 is "priority tagged", not a VLAN, so
        we treat it as untagged.
        """
        return self.vlan or None


@dataclass(frozen=True, slots=True, kw_only=True)
class PciProfile:
    """The PCI part of ``binding:profile`` for an SR-IOV port."""

    pci_slot: PciAddress
    vendor_id: str | None = None
    product_id: str | None = None
    physical_network: str | None = None
    trusted: bool = False

    @property
    def pci_vendor_info(self) -> str | None:
        """``vvvv:pppp`` as Neutron stores it, or None when unknown."""
        if self.vendor_id is None or self.product_id is None:
            return None
        return f"{self.vendor_id}:{self.product_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One segment of a network (``provider:*`` or ``segments[]``)."""

    network_type: str | None = None
    physical_network: str | None = None
    segmentation_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """The parts of a Neutron network a VIF needs."""

    id: str | None = None
    name: str | None = None
    mtu: int | None = None
    segments: tuple[Segment, ...] = ()

    @property
    def physical_networks(self) -> tuple[str, ...]:
        """Distinct physical networks of all segments, in order."""
        seen: dict[str, None] = {}
        for seg in self.segments:
            if seg.physical_network is not None:
                seen.setdefault(seg.physical_network, None)
        return tuple(seen)

    @property
    def physical_network(self) -> str | None:
        """The physical network when it is unambiguous, else None."""
        physnets = self.physical_networks
        return physnets[0] if len(physnets) == 1 else None


#: The PCI device type each PCI vnic type is backed by: a VF for
#: ``direct`` and ``macvtap``, a whole PF for ``direct-physical``.
PCI_DEV_TYPES: Mapping[VnicType, DevType] = {
    VnicType.DIRECT: DevType.VF,
    VnicType.MACVTAP: DevType.VF,
    VnicType.DIRECT_PHYSICAL: DevType.PF,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PortRequest:
    """An unbound port: what the host must claim before binding it.

    ``dev_type`` is the PCI device type to claim (None: the port needs
    no PCI device); ``physical_network`` is the physical network of the
    port's network (the first segment that has one), which the claimed
    device must be tagged with.
    """

    port_id: str
    network_id: str | None
    vnic_type: VnicType
    physical_network: str | None
    dev_type: DevType | None

    @property
    def needs_pci(self) -> bool:
        """True when a VF or PF must be claimed for this port."""
        return self.dev_type is not None
