"""Inventory: node-device XML -> HostPciDevice, through the real libvirt
test driver and from raw XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.hostdoc import host_document

from sriovirt import exception, paths
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.virt.libvirt import host as libvirt_host
from sriovirt.virt.libvirt import inventory

PF = PciAddress.parse("0000:81:00.0")


def _devices() -> list[HostPciDevice]:
    pf = HostPciDevice(
        address=PF,
        vendor_id="8086",
        product_id="1572",
        dev_type=DevType.PF,
        numa_node=1,
        ifname="ens1f0",
    )
    vfs = [
        HostPciDevice(
            address=f"0000:81:02.{f}",
            vendor_id="8086",
            product_id="154c",
            dev_type=DevType.VF,
            parent_addr=PF,
            numa_node=1,
            ifname=f"ens1f0v{f}",
            parent_ifname="ens1f0",
            # host_document gives the n-th device MAC 52:54:00:00:00:0n
            # and lists a PF's VFs in the order given.
            pf_mac_address="52:54:00:00:00:02",
            vf_num=f,
        )
        for f in range(3)
    ]
    other = HostPciDevice(
        address="0000:3b:00.0",
        vendor_id="144d",
        product_id="a808",
        dev_type=DevType.PCI,
    )
    return [other, pf, *vfs]


def test_sample_host_is_classified() -> None:
    host = libvirt_host.Host(paths.test_driver_uri(paths.sample_host()))
    inv = inventory.read(host)
    by_addr = {str(d.address): d for d in inv.devices}
    assert inv.skipped == ()
    assert len(inv.devices) == 11
    pf = by_addr["0000:81:00.0"]
    assert (pf.dev_type, pf.ifname, pf.numa_node) == (
        DevType.PF,
        "ens1f0",
        0,
    )
    vf = by_addr["0000:82:10.6"]
    assert vf.dev_type is DevType.VF
    assert vf.parent_addr == PciAddress.parse("0000:82:00.0")
    assert (vf.ifname, vf.parent_ifname, vf.numa_node) == (
        "ens2f0v3",
        "ens2f0",
        1,
    )
    # The PF's net capability MAC; the 4th of the PF's virt_functions.
    assert (vf.pf_mac_address, vf.vf_num) == ("52:54:00:00:00:06", 3)
    first = by_addr["0000:81:10.0"]
    assert (first.pf_mac_address, first.vf_num) == ("52:54:00:00:00:01", 0)
    # A PF or plain PCI device has neither.
    assert (pf.pf_mac_address, pf.vf_num) == (None, None)
    nvme = by_addr["0000:3b:00.0"]
    assert (nvme.dev_type, nvme.ifname) == (DevType.PCI, None)


def test_host_document_round_trips_through_libvirt(tmp_path: Path) -> None:
    devices = _devices()
    doc = tmp_path / "host.xml"
    doc.write_text(host_document(devices))
    inv = inventory.read(libvirt_host.Host(paths.test_driver_uri(doc)))
    assert list(inv.devices) == sorted(devices, key=lambda d: d.address)


def test_bad_device_is_skipped_not_fatal() -> None:
    good = """<device><name>pci_0000_05_00_0</name><parent>computer</parent>
      <capability type='pci'><domain>0</domain><bus>5</bus><slot>0</slot>
      <function>0</function><product id='0x1572'/><vendor id='0x8086'/>
      </capability></device>"""
    no_ids = """<device><name>pci_0000_06_00_0</name>
      <capability type='pci'><domain>0</domain><bus>6</bus><slot>0</slot>
      <function>0</function></capability></device>"""
    broken = "<device><name>x</name><capability type='pci'>"
    inv = inventory.from_node_device_xmls([good, no_ids, broken])
    assert [str(d.address) for d in inv.devices] == ["0000:05:00.0"]
    assert len(inv.skipped) == 2
    assert any("pci_0000_06_00_0" in s and "vendor" in s for s in inv.skipped)


def test_unreachable_uri_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    host = libvirt_host.Host(paths.test_driver_uri(missing))
    with pytest.raises(exception.HypervisorUnavailable) as err:
        inventory.read(host)
    assert str(missing) in str(err.value)


def test_versions_of_the_test_driver() -> None:
    host = libvirt_host.Host(paths.test_driver_uri(paths.sample_host()))
    v = host.versions()
    assert v.hv_type == "TEST"
    assert v.lib_version >= 6_003_000
    assert libvirt_host.Versions.format(9_000_000) == "9.0.0"
    assert libvirt_host.Versions.format(4_002_001) == "4.2.1"


def _pci_xml(
    name: str, domain: int, bus: int, *, vfs: str = "", pf: str = ""
) -> str:
    caps = ""
    if vfs:
        caps += f"<capability type='virt_functions'>{vfs}</capability>"
    if pf:
        caps += f"<capability type='phys_function'>{pf}</capability>"
    return (
        f"<device><name>{name}</name><parent>computer</parent>"
        f"<capability type='pci'><domain>{domain}</domain><bus>{bus}</bus>"
        "<slot>0</slot><function>0</function>"
        "<product id='0x1572'/><vendor id='0x8086'/>"
        f"{caps}</capability></device>"
    )


def _net_xml(ifname: str, parent: str) -> str:
    return (
        f"<device><name>net_{ifname}</name><parent>{parent}</parent>"
        f"<capability type='net'><interface>{ifname}</interface>"
        "</capability></device>"
    )


def test_32_bit_domain_with_a_netdev_is_skipped_not_fatal(
    tmp_path: Path,
) -> None:
    # A VMD-style 32-bit PCI domain: PciAddress cannot hold it.  With a
    # child net device it used to abort the whole inventory.
    odd = "pci_10000_00_00_0"
    doc = (
        "<node><device><name>computer</name><capability type='system'>"
        "<hardware><uuid>11111111-2222-3333-4444-555555555555</uuid>"
        "</hardware></capability></device>"
        + _pci_xml(odd, 65536, 0)
        + _net_xml("eno9", odd)
        + _pci_xml("pci_0000_05_00_0", 0, 5)
        + _net_xml("ens5", "pci_0000_05_00_0")
        + "</node>"
    )
    path = tmp_path / "host.xml"
    path.write_text(doc)
    inv = inventory.read(libvirt_host.Host(paths.test_driver_uri(path)))
    assert [(str(d.address), d.ifname) for d in inv.devices] == [
        ("0000:05:00.0", "ens5")
    ]
    assert len(inv.skipped) == 1
    assert odd in inv.skipped[0] and "0x10000" in inv.skipped[0]


def test_two_node_devices_with_one_address_are_both_skipped() -> None:
    pf = _pci_xml(
        "pci_0000_05_00_0",
        0,
        5,
        vfs="<address domain='0' bus='5' slot='0' function='1'/>",
    )
    twin = _pci_xml("pci_0000_05_00_0_twin", 0, 5)
    other = _pci_xml("pci_0000_06_00_0", 0, 6)
    inv = inventory.from_node_device_xmls([pf, twin, other])
    assert [str(d.address) for d in inv.devices] == ["0000:06:00.0"]
    assert len(inv.skipped) == 1
    (reason,) = inv.skipped
    assert "0000:05:00.0" in reason
    assert "pci_0000_05_00_0" in reason
    assert "pci_0000_05_00_0_twin" in reason


@pytest.mark.parametrize(
    ("ifname", "kept"),
    [
        ("a" * 15, True),
        ("a" * 16, False),
        ("eth 0", False),
        ("eth/0", False),
        ("eth:0", False),
        ("..", False),
    ],
)
def test_netdev_names_follow_linux_rules(ifname: str, kept: bool) -> None:
    pci = _pci_xml("pci_0000_05_00_0", 0, 5)
    net = _net_xml(ifname, "pci_0000_05_00_0")
    inv = inventory.from_node_device_xmls([pci, net])
    (dev,) = inv.devices
    assert dev.ifname == (ifname if kept else None)
    if kept:
        assert inv.skipped == ()
    else:
        (reason,) = inv.skipped
        assert repr(ifname) in reason and "pci_0000_05_00_0" in reason


def _vf_xml(bus: int, function: int, pf_bus: int) -> str:
    return (
        f"<device><name>pci_0000_{bus:02x}_00_{function}</name>"
        "<parent>computer</parent><capability type='pci'><domain>0</domain>"
        f"<bus>{bus}</bus><slot>0</slot><function>{function}</function>"
        "<product id='0x154c'/><vendor id='0x8086'/>"
        "<capability type='phys_function'><address domain='0x0000' "
        f"bus='{pf_bus:#04x}' slot='0x00' function='0x0'/></capability>"
        "</capability></device>"
    )


def _mac_net_xml(ifname: str, parent: str, mac: str) -> str:
    return (
        f"<device><name>net_{ifname}</name><parent>{parent}</parent>"
        f"<capability type='net'><interface>{ifname}</interface>"
        f"<address>{mac}</address></capability></device>"
    )


def test_vf_number_is_its_place_in_the_pf_list_and_mac_the_pfs() -> None:
    # The PF lists 0000:07:00.3 first and 0000:07:00.1 second: the number
    # follows libvirt's list (virtfn order), not the address order.
    vfs = "".join(
        f"<address domain='0x0000' bus='0x07' slot='0x00' function='{f}'/>"
        for f in ("0x3", "0x1")
    )
    xmls = [
        _pci_xml("pci_0000_05_00_0", 0, 5, vfs=vfs),
        _mac_net_xml("ens5", "pci_0000_05_00_0", "52:54:00:AB:CD:EF"),
        _vf_xml(7, 1, 5),
        _vf_xml(7, 3, 5),
        # Its PF does not list it: no number is guessed.
        _vf_xml(7, 5, 5),
    ]
    inv = inventory.from_node_device_xmls(xmls)
    facts = {str(d.address): (d.pf_mac_address, d.vf_num) for d in inv.devices}
    assert facts == {
        "0000:05:00.0": (None, None),
        "0000:07:00.1": ("52:54:00:ab:cd:ef", 1),
        "0000:07:00.3": ("52:54:00:ab:cd:ef", 0),
        "0000:07:00.5": ("52:54:00:ab:cd:ef", None),
    }
    assert inv.skipped == ()


def test_pf_without_netdev_or_with_a_bad_mac_gives_no_pf_mac() -> None:
    vfs = "<address domain='0x0000' bus='0x07' slot='0x00' function='0x1'/>"
    no_net = [_pci_xml("pci_0000_05_00_0", 0, 5, vfs=vfs), _vf_xml(7, 1, 5)]
    (_, vf) = inventory.from_node_device_xmls(no_net).devices
    assert (vf.pf_mac_address, vf.vf_num) == (None, 0)
    bad = [*no_net, _mac_net_xml("ens5", "pci_0000_05_00_0", "52:54:00:zz")]
    inv = inventory.from_node_device_xmls(bad)
    (pf, vf) = inv.devices
    # A malformed MAC: the netdev is skipped and reported, the devices
    # kept, without a PF MAC.
    assert (pf.ifname, vf.parent_ifname, vf.pf_mac_address) == (
        None,
        None,
        None,
    )
    assert vf.vf_num == 0
    assert len(inv.skipped) == 1 and "52:54:00:zz" in inv.skipped[0]
