"""libvirt test-driver host documents built from host PCI devices.

The test driver (``test:///<abs path>``) reads a ``<node>`` document whose
``<device>`` elements are node-device XML.  :func:`host_document` renders
one from :class:`~sriovirt.pci.device.HostPciDevice` values through the
:mod:`~sriovirt.virt.libvirt.xml.nodedev` models, so tests and benchmarks
can describe any host (thousands of VFs, vanished devices, two vendors)
as data and let the real inventory read it back through libvirt.

A test and benchmark helper, not shipped code: nothing under
``src/sriovirt`` may import it.  It writes what it is given and decides
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lxml import etree

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.virt.libvirt.xml.common import Address
from sriovirt.virt.libvirt.xml.nodedev import (
    GenericCapability,
    NetCapability,
    NetSubCapability,
    NodeDevice,
    Numa,
    PciCapability,
    PhysFunction,
    Product,
    Vendor,
    VirtFunctions,
)

SYSTEM_UUID = "11111111-2222-3333-4444-555555555555"
NETWORK_CLASS = 0x020000


def pci_name(address: PciAddress) -> str:
    """libvirt's node-device name of a PCI function."""
    return (
        f"pci_{address.domain:04x}_{address.bus:02x}_{address.slot:02x}_"
        f"{address.function:x}"
    )


def _mac(index: int) -> str:
    return (
        f"52:54:00:{(index >> 16) & 0xFF:02x}:{(index >> 8) & 0xFF:02x}:"
        f"{index & 0xFF:02x}"
    )


def node_devices(devices: Sequence[HostPciDevice]) -> list[NodeDevice]:
    """Node devices (PCI functions and their netdevs) for ``devices``."""
    vfs_of: dict[PciAddress, list[PciAddress]] = {}
    for dev in devices:
        if dev.dev_type is DevType.VF and dev.parent_addr is not None:
            vfs_of.setdefault(dev.parent_addr, []).append(dev.address)
    out: list[NodeDevice] = []
    for index, dev in enumerate(devices, start=1):
        out.append(_pci_node(dev, vfs_of.get(dev.address, [])))
        if dev.ifname:
            out.append(_net_node(dev.ifname, dev.address, _mac(index)))
    return out


def _sriov_capabilities(
    dev: HostPciDevice, vfs: list[PciAddress]
) -> tuple[VirtFunctions | PhysFunction | GenericCapability, ...]:
    """A PF's ``virt_functions`` or a VF's ``phys_function``, if any."""
    if dev.dev_type is DevType.PF:
        return (
            VirtFunctions(
                max_count=max(len(vfs), 1),
                addresses=tuple(Address.host_pci(a) for a in vfs),
            ),
        )
    if dev.parent_addr is not None:
        return (PhysFunction(address=Address.host_pci(dev.parent_addr)),)
    return ()


def _pci_node(dev: HostPciDevice, vfs: list[PciAddress]) -> NodeDevice:
    """The node device of one PCI function (``vfs``: a PF's VFs)."""
    a = dev.address
    return NodeDevice(
        name=pci_name(a),
        parent="computer",
        capabilities=(
            PciCapability(
                class_=NETWORK_CLASS,
                domain=a.domain,
                bus=a.bus,
                slot=a.slot,
                function=a.function,
                product=Product(id=int(dev.product_id, 16)),
                vendor=Vendor(id=int(dev.vendor_id, 16)),
                capabilities=_sriov_capabilities(dev, vfs),
                numa=(
                    None if dev.numa_node is None else Numa(node=dev.numa_node)
                ),
            ),
        ),
    )


def _net_node(ifname: str, parent: PciAddress, mac: str) -> NodeDevice:
    """The netdev node device ``ifname`` of the function ``parent``."""
    return NodeDevice(
        name=f"net_{ifname}_{mac.replace(':', '_')}",
        parent=pci_name(parent),
        capabilities=(
            NetCapability(
                interface=ifname,
                address=mac,
                capabilities=(NetSubCapability(type="80203"),),
            ),
        ),
    )


def host_document(
    devices: Iterable[HostPciDevice],
    *,
    system_uuid: str = SYSTEM_UUID,
    numa_nodes: int = 2,
) -> str:
    """A complete ``<node>`` document for the libvirt test driver."""
    root = etree.Element("node")
    cpu = etree.SubElement(root, "cpu")
    for tag, value in (
        ("mhz", "2600"),
        ("model", "x86_64"),
        ("active", "8"),
        ("nodes", str(numa_nodes)),
        ("sockets", "2"),
        ("cores", "2"),
        ("threads", "2"),
    ):
        etree.SubElement(cpu, tag).text = value
    etree.SubElement(root, "memory").text = "33554432"
    computer = etree.SubElement(root, "device")
    etree.SubElement(computer, "name").text = "computer"
    system = etree.SubElement(computer, "capability", type="system")
    hardware = etree.SubElement(system, "hardware")
    etree.SubElement(hardware, "uuid").text = system_uuid
    for node in node_devices(list(devices)):
        root.append(node.to_element())
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode") + "\n"
