"""Host PCI inventory: libvirt node devices -> :class:`HostPciDevice`.

Classifies every PCI function as PF (it has a ``virt_functions``
capability), VF (it has a ``phys_function``) or plain PCI, and attaches
the netdev names libvirt reports as child ``net`` devices: ``ifname`` for
the function itself and ``parent_ifname`` (the PF's netdev) for a VF.
A VF also gets ``pf_mac_address`` (the MAC of its PF's ``net``
capability) and ``vf_num`` (its position in its PF's ``virt_functions``
list, which libvirt reads in ``virtfnN`` order: the VF number Nova reads
from the ``virtfnN`` links in sysfs).
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
    pci_by_name, netdev_by_parent = _index(xmls, skipped)
    names_by_address: dict[PciAddress, list[str]] = {}
    vf_num_by_address: dict[PciAddress, int] = {}
    for name, (pci, address) in pci_by_name.items():
        names_by_address.setdefault(address, []).append(name)
        # libvirt lists a PF's VFs in virtfn order (virtfn0, 1, ...):
        # the position is the VF number ``ip link`` and Nova use.
        for num, vf in enumerate(pci.virt_functions):
            vf_num_by_address[vf] = num
    netdev_by_address = _netdevs_by_address(
        names_by_address, netdev_by_parent, skipped
    )
    devices: list[HostPciDevice] = []
    for name, (pci, address) in pci_by_name.items():
        if len(names_by_address[address]) > 1:
            continue
        try:
            devices.append(
                _device(pci, address, netdev_by_address, vf_num_by_address)
            )
        except exception.SriovirtError as exc:
            skipped.append(f"node device {name}: {exc}")
    for reason in skipped:
        LOG.warning("Skipping a host PCI device: %s", reason)
    devices.sort(key=lambda d: d.address)
    return Inventory(devices=tuple(devices), skipped=tuple(skipped))


@dataclass(frozen=True, slots=True)
class _Netdev:
    """A function's netdev: its name and MAC (libvirt may omit it)."""

    ifname: str
    mac: str | None


def _index(
    xmls: Iterable[str], skipped: list[str]
) -> tuple[dict[str, tuple[PciCapability, PciAddress]], dict[str, _Netdev]]:
    """PCI functions by node-device name, netdevs by parent name.

    What cannot be understood is appended to ``skipped``.
    """
    pci_by_name: dict[str, tuple[PciCapability, PciAddress]] = {}
    netdev_by_parent: dict[str, _Netdev] = {}
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
            # The XML layer refuses a malformed MAC (the whole netdev is
            # skipped then), so what is here is well formed.
            mac = None if net.address is None else net.address.lower()
            # A function with several netdevs (rare: ports sharing a
            # function) is matched by its first name.
            netdev_by_parent.setdefault(
                node.parent, _Netdev(net.interface, mac)
            )
    return pci_by_name, netdev_by_parent


def _netdevs_by_address(
    names_by_address: dict[PciAddress, list[str]],
    netdev_by_parent: dict[str, _Netdev],
    skipped: list[str],
) -> dict[PciAddress, _Netdev]:
    """Netdevs keyed by PCI address; shared addresses skipped."""
    netdev_by_address: dict[PciAddress, _Netdev] = {}
    for address, names in names_by_address.items():
        if len(names) > 1:
            # Which one is the real function cannot be known; keeping
            # either would silently describe the other wrongly.
            skipped.append(
                f"node devices {', '.join(names)} all have PCI address "
                f"{address}; all of them skipped"
            )
            continue
        netdev = netdev_by_parent.get(names[0])
        if netdev is not None:
            netdev_by_address[address] = netdev
    return netdev_by_address


def _device(
    pci: PciCapability,
    address: PciAddress,
    netdev_by_address: dict[PciAddress, _Netdev],
    vf_num_by_address: dict[PciAddress, int],
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
    own = netdev_by_address.get(address)
    pf = None if parent is None else netdev_by_address.get(parent)
    return HostPciDevice(
        address=address,
        vendor_id=pci.vendor_id,
        product_id=pci.product_id,
        dev_type=dev_type,
        parent_addr=parent,
        numa_node=pci.numa_node,
        ifname=None if own is None else own.ifname,
        parent_ifname=None if pf is None else pf.ifname,
        pf_mac_address=None if pf is None else pf.mac,
        # A VF its PF does not list (or whose PF is not reported) has
        # no known number; never guess one.
        vf_num=None if parent is None else vf_num_by_address.get(address),
    )


def read(host: Host) -> Inventory:
    """The current inventory of ``host``."""
    return from_node_device_xmls(host.node_device_xmls())
