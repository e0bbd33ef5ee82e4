"""Host PCI inventory: libvirt node devices -> :class:`HostPciDevice`.

Classifies every PCI function as PF (it has a ``virt_functions``
capability), VF (it has a ``phys_function``) or plain PCI, and attaches
the netdev names libvirt reports as child ``net`` devices: ``ifname`` for
the function itself and ``parent_ifname`` (the PF's netdev) for a VF.
These names are what ``devname`` entries of the whitelist match, resolved
here once per refresh instead of by sysfs reads during matching; a name
Linux could not have given (16 characters, a ``/``) is dropped and
reported, the device kept.

Linear in the number of node devices: one pass to parse and index, one
to key the netdev names by PCI address, one to build.  A device libvirt
describes badly (no vendor id, a PCI domain above 0xffff, an address
two node devices share) is skipped and reported, never allowed to abort
the whole inventory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.network.checks import ifname_problem, show
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.virt.libvirt.host import Host
from sriovirt.virt.libvirt.xml.nodedev import PciCapability, parse_node_device

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inventory:
    """The PCI functions of a host, and what could not be understood."""

    devices: tuple[HostPciDevice, ...]
    skipped: tuple[str, ...] = ()


def from_node_device_xmls(xmls: Iterable[str]) -> Inventory:
    """Build the inventory from node-device XML documents."""
    skipped: list[str] = []
    pci_by_name, ifname_by_parent = _index(xmls, skipped)
    names_by_address: dict[PciAddress, list[str]] = {}
    for name, (_pci, address) in pci_by_name.items():
        names_by_address.setdefault(address, []).append(name)
    ifname_by_address = _ifnames_by_address(
        names_by_address, ifname_by_parent, skipped
    )
    devices: list[HostPciDevice] = []
    for name, (pci, address) in pci_by_name.items():
        if len(names_by_address[address]) > 1:
            continue
        try:
            devices.append(_device(pci, address, ifname_by_address))
        except exception.SriovirtError as exc:
            skipped.append(f"node device {name}: {exc}")
    for reason in skipped:
        LOG.warning("Skipping a host PCI device: %s", reason)
    devices.sort(key=lambda d: d.address)
    return Inventory(devices=tuple(devices), skipped=tuple(skipped))


def _index(
    xmls: Iterable[str], skipped: list[str]
) -> tuple[dict[str, tuple[PciCapability, PciAddress]], dict[str, str]]:
    """PCI functions by node-device name, netdev names by parent name.

    What cannot be understood is appended to ``skipped``.
    """
    pci_by_name: dict[str, tuple[PciCapability, PciAddress]] = {}
    ifname_by_parent: dict[str, str] = {}
    for xml in xmls:
        try:
            node = parse_node_device(xml)
        except exception.InvalidXml as exc:
            skipped.append(str(exc))
            continue
        pci = node.pci
        if pci is not None:
            try:
                # Raises for what PciAddress cannot hold, such as a VMD
                # domain above 0xffff: skip that device, not the host.
                address = pci.address
            except exception.SriovirtError as exc:
                skipped.append(f"node device {node.name}: {exc}")
                continue
            pci_by_name[node.name] = (pci, address)
            continue
        net = node.net
        if net is not None and net.interface and node.parent:
            problem = ifname_problem(net.interface)
            if problem is not None:
                skipped.append(
                    f"netdev {show(net.interface)} of node device "
                    f"{node.parent}: {problem}; the device is kept "
                    "without it"
                )
                continue
            # A function with several netdevs (rare: ports sharing a
            # function) is matched by its first name.
            ifname_by_parent.setdefault(node.parent, net.interface)
    return pci_by_name, ifname_by_parent


def _ifnames_by_address(
    names_by_address: dict[PciAddress, list[str]],
    ifname_by_parent: dict[str, str],
    skipped: list[str],
) -> dict[PciAddress, str]:
    """Netdev names keyed by PCI address; shared addresses skipped."""
    ifname_by_address: dict[PciAddress, str] = {}
    for address, names in names_by_address.items():
        if len(names) > 1:
            # Which one is the real function cannot be known; keeping
            # either would silently describe the other wrongly.
            skipped.append(
                f"node devices {', '.join(names)} all have PCI address "
                f"{address}; all of them skipped"
            )
            continue
        ifname = ifname_by_parent.get(names[0])
        if ifname is not None:
            ifname_by_address[address] = ifname
    return ifname_by_address


def _device(
    pci: PciCapability,
    address: PciAddress,
    ifname_by_address: dict[PciAddress, str],
) -> HostPciDevice:
    parent = pci.phys_function
    if parent is not None:
        dev_type = DevType.VF
    elif pci.virt_functions_capability is not None:
        dev_type = DevType.PF
    else:
        dev_type = DevType.PCI
    if pci.vendor_id is None or pci.product_id is None:
        raise exception.InvalidHostDevice(
            address=address, reason="libvirt reports no vendor/product id"
        )
    return HostPciDevice(
        address=address,
        vendor_id=pci.vendor_id,
        product_id=pci.product_id,
        dev_type=dev_type,
        parent_addr=parent,
        numa_node=pci.numa_node,
        ifname=ifname_by_address.get(address),
        parent_ifname=(
            None if parent is None else ifname_by_address.get(parent)
        ),
    )


def read(host: Host) -> Inventory:
    """The current inventory of ``host``."""
    return from_node_device_xmls(host.node_device_xmls())
