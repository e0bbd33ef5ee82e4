"""``<interface>``: a guest NIC, as a discriminated union on ``type``.

Every variant shares the common children (MAC, model, driver, VLAN,
virtual port, target, alias, ROM, guest address) and adds only the
``<source>`` that makes sense for its type: a hostdev interface has a
host PCI address and no ``source dev``; a direct (macvtap) interface has
``dev`` and ``mode``; a bridge interface has ``bridge``; and so on.  An
interface type without a model here is kept as
:class:`GenericInterface` with its unknown content preserved.

Mapping only: this module must not import libvirt and decides nothing
(which interface a port gets is :mod:`sriovirt.virt.libvirt.vif`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sriovirt.virt.libvirt.xml.base import (
    XmlModel,
    attr,
    child,
    children,
)
from sriovirt.virt.libvirt.xml.common import (
    Address,
    Alias,
    PciSource,
    Rom,
)
from sriovirt.virt.libvirt.xml.convert import (
    MAC,
    ON_OFF,
    STR,
    UINT,
    YES_NO,
    OneOf,
)
from sriovirt.virt.libvirt.xml.targets import TaggedUnion

DirectMode = Literal["passthrough", "vepa", "bridge", "private"]
DIRECT_MODES: tuple[DirectMode, ...] = (
    "passthrough",
    "vepa",
    "bridge",
    "private",
)

# Models the packed ring applies to; anything else is an emulated NIC.
VIRTIO_MODELS = frozenset(
    {"virtio", "virtio-transitional", "virtio-non-transitional"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MacAddress(XmlModel):
    """``<mac address='52:54:00:12:34:56'/>`` (lowercase, validated)."""

    xml_tag = "mac"

    address: str = attr("address", MAC, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Model(XmlModel):
    """``<model type='virtio'/>``."""

    xml_tag = "model"

    type: str = attr("type", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Driver(XmlModel):
    """``<driver>``: backend name, queues, ring sizes and packed ring.

    ``<host>``/``<guest>`` offload children are kept as unknown XML.
    """

    xml_tag = "driver"

    name: str | None = attr("name", STR)
    queues: int | None = attr("queues", UINT)
    rx_queue_size: int | None = attr("rx_queue_size", UINT)
    tx_queue_size: int | None = attr("tx_queue_size", UINT)
    packed: bool | None = attr("packed", ON_OFF)


@dataclass(frozen=True, slots=True, kw_only=True)
class VlanTag(XmlModel):
    """``<tag id='42' nativeMode='untagged'/>``."""

    xml_tag = "tag"

    id: int = attr("id", UINT, required=True)
    native_mode: str | None = attr("nativeMode", OneOf("tagged", "untagged"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Vlan(XmlModel):
    """``<vlan trunk='yes'>`` with one or more tags."""

    xml_tag = "vlan"

    trunk: bool | None = attr("trunk", YES_NO)
    tags: tuple[VlanTag, ...] = children(VlanTag)


@dataclass(frozen=True, slots=True, kw_only=True)
class QbhParameters(XmlModel):
    """``<parameters profileid='...'/>`` of an 802.1Qbh port."""

    xml_tag = "parameters"

    profileid: str | None = attr("profileid", STR)


@dataclass(frozen=True, slots=True, kw_only=True)
class Virtualport8021Qbh(XmlModel):
    """``<virtualport type='802.1Qbh'>``: a port profile (Cisco VM-FEX)."""

    xml_tag = "virtualport"
    xml_fixed = (("type", "802.1Qbh"),)

    parameters: QbhParameters | None = child(QbhParameters)


@dataclass(frozen=True, slots=True, kw_only=True)
class OvsParameters(XmlModel):
    """``<parameters interfaceid='...'/>``: the OVS port's iface-id."""

    xml_tag = "parameters"

    interfaceid: str | None = attr("interfaceid", STR)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualportOpenvswitch(XmlModel):
    """``<virtualport type='openvswitch'>``: libvirt adds the OVS port."""

    xml_tag = "virtualport"
    xml_fixed = (("type", "openvswitch"),)

    parameters: OvsParameters | None = child(OvsParameters)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericVirtualport(XmlModel):
    """Any other virtual port (802.1Qbg, midonet, ...), kept as is."""

    xml_tag = "virtualport"

    type: str | None = attr("type", STR)


VIRTUALPORT = TaggedUnion(
    "virtualport",
    "type",
    (Virtualport8021Qbh, VirtualportOpenvswitch),
    fallback=GenericVirtualport,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target(XmlModel):
    """``<target dev='tap0' managed='no'/>``: the host-side netdev."""

    xml_tag = "target"

    dev: str | None = attr("dev", STR)
    managed: bool | None = attr("managed", YES_NO)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mtu(XmlModel):
    """``<mtu size='9000'/>``: the MTU the guest NIC is given."""

    xml_tag = "mtu"

    size: int = attr("size", UINT, required=True)


# --- sources, one per interface type ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectSource(XmlModel):
    """``<source dev='ens1f0v0' mode='passthrough'/>`` (macvtap)."""

    xml_tag = "source"

    dev: str = attr("dev", STR, required=True)
    mode: DirectMode | None = attr("mode", OneOf(*DIRECT_MODES))


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSource(XmlModel):
    """``<source bridge='br-int'/>``."""

    xml_tag = "source"

    bridge: str = attr("bridge", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSource(XmlModel):
    """``<source network='default' portgroup='...'/>``."""

    xml_tag = "source"

    network: str = attr("network", STR, required=True)
    portgroup: str | None = attr("portgroup", STR)


@dataclass(frozen=True, slots=True, kw_only=True)
class VhostuserSource(XmlModel):
    """``<source type='unix' path='/run/vhu.sock' mode='server'/>``."""

    xml_tag = "source"

    type: str = attr("type", OneOf("unix"), required=True)
    path: str = attr("path", STR, required=True)
    mode: str | None = attr("mode", OneOf("server", "client"))


# --- the variants ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceBase(XmlModel):
    """Children every interface type may carry.

    Emission order follows libvirt's own (``xml_order``), so rendered XML
    reads like ``virsh dumpxml``.
    """

    xml_tag = "interface"
    xml_order = (
        "mac",
        "source",
        "vlan",
        "virtualport",
        "target",
        "model",
        "driver",
        "mtu",
        "alias",
        "rom",
        "address",
    )

    mac: MacAddress | None = child(MacAddress)
    model: Model | None = child(Model)
    driver: Driver | None = child(Driver)
    vlan: Vlan | None = child(Vlan)
    virtualport: (
        Virtualport8021Qbh | VirtualportOpenvswitch | GenericVirtualport | None
    ) = child(VIRTUALPORT)
    mtu: Mtu | None = child(Mtu)
    target: Target | None = child(Target)
    alias: Alias | None = child(Alias)
    rom: Rom | None = child(Rom)
    address: Address | None = child(Address)

    @property
    def is_virtio(self) -> bool:
        """True when the guest sees a virtio NIC (packed can apply)."""
        return self.model is not None and self.model.type in VIRTIO_MODELS


@dataclass(frozen=True, slots=True, kw_only=True)
class HostdevInterface(InterfaceBase):
    """``<interface type='hostdev' managed='yes'>``: a VF with a MAC."""

    xml_fixed = (("type", "hostdev"),)

    managed: bool | None = attr("managed", YES_NO)
    source: PciSource = child(PciSource, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectInterface(InterfaceBase):
    """``<interface type='direct'>``: macvtap on a host netdev."""

    xml_fixed = (("type", "direct"),)

    source: DirectSource = child(DirectSource, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeInterface(InterfaceBase):
    """``<interface type='bridge'>``: a tap on a Linux or OVS bridge."""

    xml_fixed = (("type", "bridge"),)

    source: BridgeSource = child(BridgeSource, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkInterface(InterfaceBase):
    """``<interface type='network'>``: a libvirt virtual network."""

    xml_fixed = (("type", "network"),)

    source: NetworkSource = child(NetworkSource, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class EthernetInterface(InterfaceBase):
    """``<interface type='ethernet'>``: a bare tap, named by target."""

    xml_fixed = (("type", "ethernet"),)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInterface(InterfaceBase):
    """``<interface type='user'>``: slirp, no host setup at all."""

    xml_fixed = (("type", "user"),)


@dataclass(frozen=True, slots=True, kw_only=True)
class VhostuserInterface(InterfaceBase):
    """``<interface type='vhostuser'>``: a vhost-user socket."""

    xml_fixed = (("type", "vhostuser"),)

    source: VhostuserSource = child(VhostuserSource, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericInterface(InterfaceBase):
    """An interface type with no model here; its source is kept raw."""

    type: str = attr("type", STR, required=True)


Interface = (
    HostdevInterface
    | DirectInterface
    | BridgeInterface
    | NetworkInterface
    | EthernetInterface
    | UserInterface
    | VhostuserInterface
    | GenericInterface
)

_VARIANTS: tuple[type[InterfaceBase], ...] = (
    HostdevInterface,
    DirectInterface,
    BridgeInterface,
    NetworkInterface,
    EthernetInterface,
    UserInterface,
    VhostuserInterface,
)

INTERFACE = TaggedUnion(
    "interface", "type", _VARIANTS, fallback=GenericInterface
)

#: Every class :data:`INTERFACE` can produce (for ``isinstance``).
INTERFACE_TYPES: tuple[type[InterfaceBase], ...] = (
    *_VARIANTS,
    GenericInterface,
)


def interface_from_xml(xml: str | bytes) -> Interface:
    """Parse one ``<interface>`` into the variant its ``type`` names."""
    parsed: Interface = INTERFACE.from_xml(xml)
    return parsed
