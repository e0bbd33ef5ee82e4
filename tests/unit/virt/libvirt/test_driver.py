"""LibvirtDriver: inventory re-parsed only when libvirt's XML changed."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from bench.hostdoc import node_devices
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.virt.libvirt import inventory
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host


def _xmls(n_vfs: int) -> list[str]:
    pf = HostPciDevice(
        address="0000:81:00.0",
        vendor_id="8086",
        product_id="1572",
        dev_type=DevType.PF,
        ifname="ens1f0",
    )
    vfs = [
        HostPciDevice(
            address=f"0000:81:02.{i}",
            vendor_id="8086",
            product_id="154c",
            dev_type=DevType.VF,
            parent_addr=pf.address,
            parent_ifname="ens1f0",
        )
        for i in range(n_vfs)
    ]
    return [d.to_xml() for d in node_devices([pf, *vfs])]


class FakeHost(Host):
    def __init__(self) -> None:
        super().__init__("fake:///")
        self.xmls: list[str] = []

    def node_device_xmls(self) -> list[str]:
        return [str(x) for x in self.xmls]  # new objects, as libvirt's


def test_unchanged_xml_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    host = FakeHost()
    driver = LibvirtDriver(conf, host)
    parses: list[int] = []
    real = inventory.from_node_device_xmls

    def counting(xmls: Iterable[str]) -> inventory.Inventory:
        parses.append(1)
        return real(xmls)

    monkeypatch.setattr(inventory, "from_node_device_xmls", counting)
    host.xmls = _xmls(2)
    first = driver.pci_inventory()
    again = driver.pci_inventory()
    assert len(parses) == 1
    assert again.devices == first.devices and len(first.devices) == 3
    host.xmls = _xmls(3)
    changed = driver.pci_inventory()
    assert len(parses) == 2
    assert len(changed.devices) == 4
