"""Node-device XML: what ``virNodeDevice.XMLDesc()`` returns.

The host inventory parses thousands of these per refresh, so the models
are flat and the accessors cheap.  Capabilities are a discriminated union
on ``type`` (``pci``, ``net``; any other kind is kept as a
:class:`GenericCapability` with its content preserved), and so are the
PCI sub-capabilities (``virt_functions``, ``phys_function``).

Numbers follow libvirt's nodedev format: the PCI location is decimal
child elements (``<bus>129</bus>``), vendor/product ids are hex
attributes, sub-capability addresses are hex attributes.

Mapping only: this module must not import libvirt and decides nothing
about which devices are usable.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.xml.base import (
    XmlModel,
    attr,
    child,
    child_text,
    children,
    text,
)
from sriovirt.virt.libvirt.xml.common import Address
from sriovirt.virt.libvirt.xml.convert import (
    HEX4,
    MAC,
    STR,
    UINT,
    Dec,
    Hex,
)
from sriovirt.virt.libvirt.xml.targets import TaggedUnion

__all__ = [
    "Address",
    "GenericCapability",
    "Link",
    "NetCapability",
    "NetFeature",
    "NetSubCapability",
    "NodeDevice",
    "NodeDriver",
    "Numa",
    "PciCapability",
    "PciId",
    "PhysFunction",
    "Product",
    "Vendor",
    "VirtFunctions",
    "parse_node_device",
]

C = TypeVar("C")


def _first(items: Iterable[object], cls: type[C]) -> C | None:
    """The first of ``items`` that is a ``cls``, or None."""
    for item in items:
        if isinstance(item, cls):
            return item
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericCapability(XmlModel):
    """A capability no model claims; its content is kept verbatim."""

    xml_tag = "capability"

    type: str = attr("type", STR, required=True)


# --- PCI -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PciId(XmlModel):
    """A vendor or product: hex ``id`` attribute, human name as text."""

    id: int = attr("id", HEX4, required=True)
    name: str | None = text(STR)

    @property
    def hex(self) -> str:
        """The id as Nova spells it: four lowercase hex digits."""
        return f"{self.id:04x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor(PciId):
    xml_tag = "vendor"


@dataclass(frozen=True, slots=True, kw_only=True)
class Product(PciId):
    xml_tag = "product"


@dataclass(frozen=True, slots=True, kw_only=True)
class Numa(XmlModel):
    """``<numa node='N'/>``; libvirt writes ``-1`` on some hosts."""

    xml_tag = "numa"

    node: int = attr("node", Dec(-1), required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtFunctions(XmlModel):
    """A PF's ``virt_functions``: how many VFs it can have, and which."""

    xml_tag = "capability"
    xml_fixed = (("type", "virt_functions"),)

    max_count: int | None = attr("maxCount", UINT)
    addresses: tuple[Address, ...] = children(Address)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhysFunction(XmlModel):
    """A VF's ``phys_function``: the address of its PF."""

    xml_tag = "capability"
    xml_fixed = (("type", "phys_function"),)

    address: Address | None = child(Address)


PCI_SUBCAPABILITIES = TaggedUnion(
    "capability",
    "type",
    (VirtFunctions, PhysFunction),
    fallback=GenericCapability,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PciCapability(XmlModel):
    """``<capability type='pci'>``: one PCI function of the host."""

    xml_tag = "capability"
    xml_fixed = (("type", "pci"),)

    class_: int | None = child_text("class", Hex(6))
    domain: int = child_text("domain", UINT, required=True)
    bus: int = child_text("bus", UINT, required=True)
    slot: int = child_text("slot", UINT, required=True)
    function: int = child_text("function", UINT, required=True)
    product: Product | None = child(Product)
    vendor: Vendor | None = child(Vendor)
    capabilities: tuple[
        VirtFunctions | PhysFunction | GenericCapability, ...
    ] = children(PCI_SUBCAPABILITIES)
    numa: Numa | None = child(Numa)

    @property
    def address(self) -> PciAddress:
        return PciAddress(self.domain, self.bus, self.slot, self.function)

    @property
    def vendor_id(self) -> str | None:
        """Four lowercase hex digits (``"8086"``), or None."""
        return None if self.vendor is None else self.vendor.hex

    @property
    def product_id(self) -> str | None:
        return None if self.product is None else self.product.hex

    @property
    def numa_node(self) -> int | None:
        """The NUMA node, or None when unknown (absent or negative)."""
        if self.numa is None or self.numa.node < 0:
            return None
        return self.numa.node

    @property
    def virt_functions_capability(self) -> VirtFunctions | None:
        """Present on every SR-IOV capable PF, even with 0 VFs enabled."""
        return _first(self.capabilities, VirtFunctions)

    @property
    def phys_function_capability(self) -> PhysFunction | None:
        return _first(self.capabilities, PhysFunction)

    @property
    def virt_functions(self) -> tuple[PciAddress, ...]:
        cap = self.virt_functions_capability
        if cap is None:
            return ()
        return tuple(a.pci for a in cap.addresses)

    @property
    def phys_function(self) -> PciAddress | None:
        cap = self.phys_function_capability
        if cap is None or cap.address is None:
            return None
        return cap.address.pci


# --- net -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Link(XmlModel):
    """``<link state='up' speed='10000'/>``."""

    xml_tag = "link"

    state: str | None = attr("state", STR)
    speed: int | None = attr("speed", UINT)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetFeature(XmlModel):
    """``<feature name='rx'/>``: an offload the netdev has enabled."""

    xml_tag = "feature"

    name: str = attr("name", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetSubCapability(XmlModel):
    """``<capability type='80203'/>`` inside a net capability."""

    xml_tag = "capability"

    type: str = attr("type", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetCapability(XmlModel):
    """``<capability type='net'>``: a network interface of the host."""

    xml_tag = "capability"
    xml_fixed = (("type", "net"),)

    interface: str | None = child_text("interface", STR)
    address: str | None = child_text("address", MAC)
    link: Link | None = child(Link)
    features: tuple[NetFeature, ...] = children(NetFeature)
    capabilities: tuple[NetSubCapability, ...] = children(NetSubCapability)


# --- the device ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeDriver(XmlModel):
    """``<driver><name>vfio-pci</name></driver>`` (the test driver drops
    it)."""

    xml_tag = "driver"

    name: str | None = child_text("name", STR)


DEVICE_CAPABILITIES = TaggedUnion(
    "capability",
    "type",
    (PciCapability, NetCapability),
    fallback=GenericCapability,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeDevice(XmlModel):
    """``<device>``: one node device of the host."""

    xml_tag = "device"

    name: str = child_text("name", STR, required=True)
    path: str | None = child_text("path", STR)
    parent: str | None = child_text("parent", STR)
    driver: NodeDriver | None = child(NodeDriver)
    capabilities: tuple[
        PciCapability | NetCapability | GenericCapability, ...
    ] = children(DEVICE_CAPABILITIES)

    @property
    def pci(self) -> PciCapability | None:
        """The PCI capability, or None for non-PCI devices."""
        return _first(self.capabilities, PciCapability)

    @property
    def net(self) -> NetCapability | None:
        """The net capability, or None."""
        return _first(self.capabilities, NetCapability)

    @property
    def driver_name(self) -> str | None:
        return None if self.driver is None else self.driver.name


@functools.lru_cache(maxsize=32768)
def parse_node_device(xml: str) -> NodeDevice:
    """:meth:`NodeDevice.from_xml`, memoised on the exact text.

    A steady-state refresh sees the same XML for every device; the models
    are immutable, so handing back the same object is safe and turns a
    ~20 us parse into a dictionary lookup.
    """
    return NodeDevice.from_xml(xml)
