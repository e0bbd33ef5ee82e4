"""VIF -> guest device: the policy of what XML a bound port gets.

One small builder per VIF kind, chosen from a dispatch table keyed by
``(vif_type, vnic_type)``:

=======================  ==============================================
hw_veb + direct          ``<interface type='hostdev' managed='yes'>``,
                         VF PCI source, ``<vlan>`` unless untagged
hw_veb + macvtap         ``<interface type='direct'>`` on the VF netdev,
                         ``mode='passthrough'``, virtio, ``<vlan>``
802.1qbh + direct        hostdev interface + 802.1Qbh ``<virtualport>``
802.1qbh + macvtap       direct interface + 802.1Qbh ``<virtualport>``
hostdev_physical +       ``<hostdev mode='subsystem' type='pci'
direct-physical          managed='yes'>`` (the whole PF)
ovs + normal             ``<interface type='bridge'>`` on the OVS bridge
                         with an openvswitch ``<virtualport>`` (or the
                         hybrid ``qbr`` Linux bridge), virtio
bridge + normal          ``<interface type='bridge'>``, virtio
tap + normal             ``<interface type='ethernet'>``, virtio
=======================  ==============================================

The packed virtqueue goes on virtio models only: ``packed=True`` writes
``packed='on'``, ``False`` writes ``packed='off'``, ``None`` writes
nothing; it is never written on hostdev interfaces, ``<hostdev>`` or
emulated models (libvirt refuses it there).

Host facts (the VF netdev name, queue sizes) are passed in as values;
this module reads no configuration, calls no libvirt and does no I/O.
The XML itself is written by :mod:`sriovirt.virt.libvirt.xml`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.network.checks import ifname_problem, show
from sriovirt.network.model import VIF, VifType, VnicType
from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.xml.common import PciSource
from sriovirt.virt.libvirt.xml.hostdev import PciHostdev
from sriovirt.virt.libvirt.xml.interface import (
    VIRTIO_MODELS,
    BridgeInterface,
    BridgeSource,
    DirectInterface,
    DirectSource,
    Driver,
    EthernetInterface,
    HostdevInterface,
    Interface,
    MacAddress,
    Model,
    Mtu,
    OvsParameters,
    QbhParameters,
    Target,
    Virtualport8021Qbh,
    VirtualportOpenvswitch,
    Vlan,
    VlanTag,
)

GuestDevice = Interface | PciHostdev

DEFAULT_OVS_BRIDGE = "br-int"
# libvirt's schema for a <source dev=...> (deviceName); Linux's own rules
# (network.checks.ifname_problem) are checked as well.
_DEVICE_NAME = re.compile(r"[a-zA-Z0-9_.\-\\:/]+")
_HYBRID_PREFIX = "qbr"
_LINUXBRIDGE_PREFIX = "brq"
_BRIDGE_ID_LEN = 11


@dataclass(frozen=True, slots=True, kw_only=True)
class VifConfig:
    """Per-host knobs for virtio NICs; None leaves libvirt's default.

    ``model`` is the guest NIC model of ``normal`` ports (and macvtap);
    anything outside virtio never gets ``packed`` or queue settings.
    """

    model: str = "virtio"
    queues: int | None = None
    rx_queue_size: int | None = None
    tx_queue_size: int | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    vif: VIF
    packed: bool | None
    netdev: str | None
    config: VifConfig

    def fail(self, reason: str) -> exception.VifError:
        return exception.VifError(port_id=self.vif.id, reason=reason)


# --- shared pieces ---------------------------------------------------------


def _mac(req: _Request) -> MacAddress:
    return MacAddress(address=req.vif.address)


def _virtio_driver(req: _Request, model: str) -> Driver | None:
    """Driver settings for an emulated NIC of ``model``; None if empty.

    Packed ring and queue settings only exist for virtio; on e1000 or
    rtl8139 libvirt rejects them ("packed driver option is only supported
    for virtio devices"), so they are dropped there rather than sent.
    """
    if model not in VIRTIO_MODELS:
        return None
    cfg = req.config
    driver = Driver(
        packed=req.packed,
        queues=cfg.queues,
        rx_queue_size=cfg.rx_queue_size,
        tx_queue_size=cfg.tx_queue_size,
    )
    return None if driver == Driver() else driver


def _pci_slot(req: _Request) -> PciAddress:
    slot = req.vif.pci_slot
    if slot is None:
        raise req.fail(
            f"binding:profile.pci_slot is missing; vnic_type "
            f"{req.vif.vnic_type.value!r} needs the host PCI device"
        )
    return slot


def _vlan(req: _Request) -> Vlan | None:
    # VIF.vlan is None for untagged: Neutron says vlan '0' on a flat
    # network, and a <tag id='0'/> would ask the VF for priority tagging.
    vlan = req.vif.vlan
    return None if vlan is None else Vlan(tags=(VlanTag(id=vlan),))


def _qbh(req: _Request) -> Virtualport8021Qbh:
    profileid = req.vif.details.profileid
    if not profileid:
        raise req.fail(
            "binding:vif_details.profileid is missing; vif_type 802.1qbh "
            "needs the port profile"
        )
    return Virtualport8021Qbh(parameters=QbhParameters(profileid=profileid))


def _netdev(req: _Request) -> str:
    netdev = req.netdev
    if netdev is None:
        raise req.fail(
            f"vnic_type macvtap needs the netdev name of VF "
            f"{req.vif.pci_slot}; none was given"
        )
    problem = ifname_problem(netdev)
    if problem is None and not _DEVICE_NAME.fullmatch(netdev):
        problem = "has characters libvirt refuses in a device name"
    if problem is not None:
        raise req.fail(
            f"netdev {show(netdev)} of VF {req.vif.pci_slot} is not a "
            f"Linux interface name: it {problem}"
        )
    return netdev


def _mtu(req: _Request) -> Mtu | None:
    mtu = req.vif.mtu
    return None if not mtu else Mtu(size=mtu)


# --- builders, one per VIF kind --------------------------------------------


def _sriov_hostdev_interface(req: _Request, *, qbh: bool) -> HostdevInterface:
    # A VF given to the guest with libvirt programming MAC (and VLAN or
    # port profile) on it: no model, no driver, never packed.
    return HostdevInterface(
        managed=True,
        mac=_mac(req),
        # The schema wants type='pci' on a hostdev interface's source.
        source=PciSource.of(_pci_slot(req), "pci"),
        vlan=None if qbh else _vlan(req),
        virtualport=_qbh(req) if qbh else None,
    )


def _sriov_macvtap_interface(req: _Request, *, qbh: bool) -> DirectInterface:
    _pci_slot(req)  # macvtap is still a claimed VF: require its address
    model = req.config.model
    return DirectInterface(
        mac=_mac(req),
        source=DirectSource(dev=_netdev(req), mode="passthrough"),
        vlan=None if qbh else _vlan(req),
        virtualport=_qbh(req) if qbh else None,
        model=Model(type=model),
        driver=_virtio_driver(req, model),
    )


def _hw_veb_direct(req: _Request) -> GuestDevice:
    return _sriov_hostdev_interface(req, qbh=False)


def _hw_veb_macvtap(req: _Request) -> GuestDevice:
    return _sriov_macvtap_interface(req, qbh=False)


def _qbh_direct(req: _Request) -> GuestDevice:
    return _sriov_hostdev_interface(req, qbh=True)


def _qbh_macvtap(req: _Request) -> GuestDevice:
    return _sriov_macvtap_interface(req, qbh=True)


def _hostdev_physical(req: _Request) -> GuestDevice:
    # The whole PF: the guest owns it, MAC and all; nothing to program.
    return PciHostdev.of(_pci_slot(req), managed=True)


def _ovs(req: _Request) -> GuestDevice:
    details = req.vif.details
    model = req.config.model
    if details.ovs_hybrid_plug:
        # Security groups by iptables: a Linux bridge between tap and OVS.
        bridge = _HYBRID_PREFIX + req.vif.id[:_BRIDGE_ID_LEN]
        virtualport = None
    else:
        bridge = details.bridge_name or DEFAULT_OVS_BRIDGE
        virtualport = VirtualportOpenvswitch(
            parameters=OvsParameters(interfaceid=req.vif.id)
        )
    return BridgeInterface(
        mac=_mac(req),
        source=BridgeSource(bridge=bridge),
        virtualport=virtualport,
        target=Target(dev=req.vif.devname),
        model=Model(type=model),
        driver=_virtio_driver(req, model),
        mtu=_mtu(req),
    )


def _bridge(req: _Request) -> GuestDevice:
    bridge = req.vif.details.bridge_name
    if not bridge:
        network_id = req.vif.network_id
        if not network_id:
            raise req.fail(
                "binding:vif_details.bridge_name and network_id are both "
                "missing; vif_type bridge needs one to name the bridge"
            )
        # Neutron's linuxbridge agent names the bridge after the network.
        bridge = _LINUXBRIDGE_PREFIX + network_id[:_BRIDGE_ID_LEN]
    model = req.config.model
    return BridgeInterface(
        mac=_mac(req),
        source=BridgeSource(bridge=bridge),
        target=Target(dev=req.vif.devname),
        model=Model(type=model),
        driver=_virtio_driver(req, model),
        mtu=_mtu(req),
    )


def _tap(req: _Request) -> GuestDevice:
    model = req.config.model
    return EthernetInterface(
        mac=_mac(req),
        target=Target(dev=req.vif.devname),
        model=Model(type=model),
        driver=_virtio_driver(req, model),
        mtu=_mtu(req),
    )


Builder = Callable[[_Request], GuestDevice]

BUILDERS: Mapping[tuple[VifType, VnicType], Builder] = {
    (VifType.HW_VEB, VnicType.DIRECT): _hw_veb_direct,
    (VifType.HW_VEB, VnicType.MACVTAP): _hw_veb_macvtap,
    (VifType.QBH, VnicType.DIRECT): _qbh_direct,
    (VifType.QBH, VnicType.MACVTAP): _qbh_macvtap,
    (VifType.HOSTDEV_PHYSICAL, VnicType.DIRECT_PHYSICAL): _hostdev_physical,
    (VifType.OVS, VnicType.NORMAL): _ovs,
    (VifType.BRIDGE, VnicType.NORMAL): _bridge,
    (VifType.TAP, VnicType.NORMAL): _tap,
}


# --- public API ------------------------------------------------------------


def build_device(
    vif: VIF,
    packed: bool | None = None,
    netdev: str | None = None,
    config: VifConfig | None = None,
) -> GuestDevice:
    """The typed guest device for ``vif`` (an interface or a hostdev).

    ``packed`` is the instance's packed-ring choice (None: not asked);
    ``netdev`` is the VF's host netdev, needed for macvtap only.
    """
    req = _Request(vif, packed, netdev, config or VifConfig())
    builder = BUILDERS.get((vif.vif_type, vif.vnic_type))
    if builder is None:
        raise req.fail(
            f"binding:vif_type {vif.vif_type.value!r} with vnic_type "
            f"{vif.vnic_type.value!r} has no guest XML builder"
        )
    return builder(req)


def interface_xml(
    vif: VIF,
    packed: bool | None = None,
    netdev: str | None = None,
    config: VifConfig | None = None,
) -> str:
    """The device element for ``vif``: ``<interface>`` or ``<hostdev>``."""
    return build_device(vif, packed, netdev, config).to_xml()
