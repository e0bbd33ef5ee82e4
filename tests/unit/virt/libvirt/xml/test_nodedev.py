"""Node-device models against the sample hosts and libvirt's output."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.xml.nodedev import (
    GenericCapability,
    NodeDevice,
    PciCapability,
    parse_node_device,
)
from tests import prereq
from tests.unit.virt.libvirt.xml.goldens import ROOT, schema_errors

HOSTS = sorted((ROOT / "etc" / "sriovirt" / "hosts").glob("*.xml"))


def _devices(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    return [
        etree.tostring(el, encoding="unicode", with_tail=False)
        for el in root.iter("device")
    ]


ALL = [(p.name, x) for p in HOSTS for x in _devices(p)]


def test_sample_hosts_exist() -> None:
    assert len(HOSTS) >= 2
    assert len(ALL) > 20


@pytest.mark.parametrize(
    "xml",
    [x for _n, x in ALL],
    ids=[f"{n}-{i}" for i, (n, _x) in enumerate(ALL)],
)
def test_every_sample_device_parses_and_round_trips(xml: str) -> None:
    dev = NodeDevice.from_xml(xml)
    assert NodeDevice.from_xml(dev.to_xml()) == dev
    # What was valid nodedev XML stays valid (the test driver accepts a
    # short "computer" device the schema does not).
    if schema_errors(xml, "nodedev.rng") is None:
        assert schema_errors(dev.to_xml(), "nodedev.rng") is None
    if dev.pci is not None:
        # The device name encodes the address: pci_dddd_bb_ss_f.
        assert dev.name == "pci_" + str(dev.pci.address).replace(
            ":", "_"
        ).replace(".", "_")


def _by_name(host: str, name: str) -> NodeDevice:
    for n, xml in ALL:
        dev = NodeDevice.from_xml(xml)
        if n == host and dev.name == name:
            return dev
    raise AssertionError(name)


def test_pf_accessors() -> None:
    dev = _by_name("small.xml", "pci_0000_81_00_0")
    pci = dev.pci
    assert pci is not None
    assert dev.parent == "computer"
    assert pci.address == PciAddress(0, 0x81, 0, 0)
    assert pci.vendor_id == "8086"
    assert pci.product_id == "10fb"
    assert pci.class_ == 0x020000
    assert pci.numa_node == 0
    assert pci.phys_function is None
    assert pci.virt_functions == tuple(
        PciAddress.parse(f"0000:81:10.{f}") for f in (0, 2, 4, 6)
    )
    vfs = pci.virt_functions_capability
    assert vfs is not None and vfs.max_count == 8
    assert dev.net is None


def test_vf_accessors() -> None:
    pci = _by_name("small.xml", "pci_0000_82_10_6").pci
    assert pci is not None
    assert pci.phys_function == PciAddress.parse("0000:82:00.0")
    assert pci.virt_functions == ()
    assert pci.virt_functions_capability is None
    assert pci.numa_node == 1


def test_net_accessors() -> None:
    dev = _by_name("small.xml", "net_ens1f0v0_52_54_00_00_00_02")
    assert dev.pci is None
    net = dev.net
    assert net is not None
    assert net.interface == "ens1f0v0"
    assert net.address == "52:54:00:00:00:02"
    assert net.link is not None and net.link.state == "up"
    assert net.link.speed == 10000
    assert [c.type for c in net.capabilities] == ["80203"]


def test_plain_pci_device_and_system_device() -> None:
    nvme = _by_name("small.xml", "pci_0000_3b_00_0").pci
    assert nvme is not None
    assert nvme.virt_functions == () and nvme.phys_function is None
    computer = _by_name("small.xml", "computer")
    assert computer.pci is None and computer.net is None
    assert isinstance(computer.capabilities[0], GenericCapability)
    assert "<uuid>" in computer.to_xml()


LIBVIRT_REAL = """
<device>
  <name>pci_0000_3b_00_1</name>
  <path>/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.1</path>
  <parent>pci_0000_3a_00_0</parent>
  <driver>
    <name>ixgbe</name>
  </driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>59</bus>
    <slot>0</slot>
    <function>1</function>
    <product id='0x10fb'>82599ES</product>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <capability type='virt_functions' maxCount='63'/>
    <iommuGroup number='41'>
      <address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/>
    </iommuGroup>
    <numa node='-1'/>
    <pci-express>
      <link validity='cap' port='0' speed='5' width='8'/>
      <link validity='sta' speed='5' width='8'/>
    </pci-express>
  </capability>
</device>
"""


def test_real_libvirt_shape_with_unknown_children() -> None:
    dev = NodeDevice.from_xml(LIBVIRT_REAL)
    assert dev.driver_name == "ixgbe"
    assert dev.path is not None and dev.path.endswith("0000:3b:00.1")
    pci = dev.pci
    assert isinstance(pci, PciCapability)
    # A PF with SR-IOV capability but no VFs enabled.
    assert pci.virt_functions_capability is not None
    assert pci.virt_functions == ()
    assert pci.numa_node is None  # -1 means unknown
    assert [r.tag for r in pci.xml_extra] == ["iommuGroup", "pci-express"]
    again = NodeDevice.from_xml(dev.to_xml())
    assert again == dev
    assert "validity" in dev.to_xml()
    assert schema_errors(dev.to_xml(), "nodedev.rng") is None


def test_parse_node_device_is_memoised() -> None:
    xml = ALL[1][1]
    assert parse_node_device(xml) is parse_node_device(xml)
    assert parse_node_device(xml) == NodeDevice.from_xml(xml)


def test_libvirt_test_driver_xmldesc_parses() -> None:
    libvirt = prereq.import_or_missing("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    for host in HOSTS:
        conn = libvirt.open(f"test://{host}")
        try:
            devs = conn.listAllDevices(0)
            assert devs
            for nd in devs:
                dev = NodeDevice.from_xml(nd.XMLDesc(0))
                assert dev.name == nd.name()
        finally:
            conn.close()
