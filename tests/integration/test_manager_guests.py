"""Servers booted THROUGH the compute manager on a real libvirtd + QEMU.

Everything a ``sriovirt server boot`` does runs for real: the
:class:`~sriovirt.compute.manager.ComputeManager` reads the ports from
the static network backend (a ports file written in ``tmp_path``),
claims through the resource tracker (SQLite in ``tmp_path``) on the PCI
inventory of the private libvirtd (:mod:`tests.fixtures.libvirtd`),
binds, builds the VIFs, and the driver defines and starts a TCG guest;
the test reads the result back through a second connection (``conn``)
and QMP.

This machine has no SR-IOV NIC, so:

* the packed test boots a ``normal`` port (bound as ``tap``): no device
  to claim, the tracker tracks what the host's inventory and an empty
  ``device_spec`` give (nothing);
* the macvtap test needs a VF to claim, and the manager puts the guest's
  macvtap on the netdev of the VF it claimed.  The host has none, so its
  driver reports the real inventory plus ONE stand-in VF whose netdev is
  one end of a veth pair (the same stand-in as test_sriov_vifs.py), and
  the ``device_spec`` whitelists exactly that address.  Only the
  inventory is invented: the claim, the binding, the VIF, the macvtap
  libvirt creates on the veth end, and the delete that frees the device
  are all real.  Nothing here proves anything about real VF hardware.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import BootRequest, ComputeManager
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt import driver as virt_driver
from sriovirt.virt.driver import InstanceState
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host
from tests.integration.conftest import link_mac, qmp, ring_packed_offered

pytestmark = pytest.mark.integration

HOST = "it-host"
PREFIX = "sriovirt-mgr-"
TENANT_NET = "3c5d7e9f-0000-4000-8000-0000000000c1"
FLAT_NET = "3c5d7e9f-0000-4000-8000-0000000000c2"
PHYSNET = "physnet-it"
#: The stand-in VF of the macvtap test (a bus no real device uses here).
STAND_IN_VF = PciAddress(0, 0xFE, 0x10, 0)
STAND_IN_PF = PciAddress(0, 0xFE, 0x00, 0)
PACKED = {"hw:virtio_packed_ring": "true"}


def _port(
    port_id: str, network_id: str, vnic: str, mac: str
) -> dict[str, Any]:
    return {
        "id": port_id,
        "name": f"it-{vnic}",
        "network_id": network_id,
        "mac_address": mac,
        "admin_state_up": True,
        "status": "DOWN",
        "device_id": "",
        "device_owner": "",
        "binding:vnic_type": vnic,
        "binding:host_id": "",
        "binding:profile": {},
        "binding:vif_type": "unbound",
        "binding:vif_details": {},
    }


NETWORKS = [
    {
        "id": TENANT_NET,
        "name": "tenant-vxlan",
        "mtu": 1450,
        "provider:network_type": "vxlan",
        "provider:physical_network": None,
        "provider:segmentation_id": 1001,
    },
    {
        "id": FLAT_NET,
        "name": "physnet-it-flat",
        "mtu": 1500,
        "provider:network_type": "flat",
        "provider:physical_network": PHYSNET,
        "provider:segmentation_id": None,
    },
]


class StandInVfDriver(LibvirtDriver):
    """The real driver; its inventory gains one stand-in VF on ``netdev``."""

    def __init__(self, conf: cfg.ConfigOpts, uri: str, netdev: str) -> None:
        super().__init__(conf, Host(uri))
        self.netdev = netdev

    def pci_inventory(self) -> virt_driver.PciInventory:
        real = super().pci_inventory()
        stand_in = HostPciDevice(
            address=STAND_IN_VF,
            vendor_id="8086",
            product_id="10ed",
            dev_type=DevType.VF,
            parent_addr=STAND_IN_PF,
            ifname=self.netdev,
        )
        if any(d.address == STAND_IN_VF for d in real.devices):
            raise AssertionError(f"{STAND_IN_VF} exists on this host")
        return virt_driver.PciInventory(
            devices=(*real.devices, stand_in), skipped=real.skipped
        )


@dataclass
class World:
    manager: ComputeManager
    driver: LibvirtDriver
    network: StaticNetwork
    db: api.Database
    rt: ResourceTracker
    ports: dict[str, dict[str, Any]]


def _conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    conf.set_override("host", HOST)
    return conf


def _world(
    tmp_path: Path, drv: LibvirtDriver, spec: list[str]
) -> Iterator[World]:
    """Manager, tracker, network and database around ``drv``; on the way
    out, any guest of ours still there is destroyed."""
    normal = _port(
        str(uuid.uuid4()), TENANT_NET, "normal", "fa:16:3e:4d:00:01"
    )
    macvtap = _port(
        str(uuid.uuid4()), FLAT_NET, "macvtap", "fa:16:3e:4d:00:02"
    )
    ports = {"normal": normal, "macvtap": macvtap}
    ports_file = tmp_path / "ports.json"
    ports_file.write_text(
        json.dumps({"networks": NETWORKS, "ports": [normal, macvtap]})
    )
    network = StaticNetwork(
        ports_file=ports_file, state_file=tmp_path / "bindings.sqlite"
    )
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    api.sync(url)
    with api.Database(url) as db:
        rt = ResourceTracker(HOST, drv, db, Whitelist.from_config(spec))
        rt.start()
        manager = ComputeManager(
            driver=drv,
            resource_tracker=rt,
            network=network,
            database=db,
            host=HOST,
            locks=InstanceLocks(tmp_path / "locks"),
        )
        try:
            yield World(manager, drv, network, db, rt, ports)
        finally:
            for guest in drv.list_instances():
                if guest.name.startswith(PREFIX):
                    drv.destroy(guest.uuid)
            drv.host.close()


@pytest.fixture
def world(tmp_path: Path, libvirtd_uri: str) -> Iterator[World]:
    """The real host's inventory, nothing whitelisted."""
    drv = LibvirtDriver.for_connection(_conf(), libvirtd_uri)
    yield from _world(tmp_path, drv, [])


@pytest.fixture
def vf_world(
    tmp_path: Path, libvirtd_uri: str, veth_pair: tuple[str, str]
) -> Iterator[World]:
    """The real host's inventory plus the stand-in VF on a veth end,
    and only that VF whitelisted."""
    drv = StandInVfDriver(_conf(), libvirtd_uri, netdev=veth_pair[0])
    spec = json.dumps(
        {"address": str(STAND_IN_VF), "physical_network": PHYSNET}
    )
    yield from _world(tmp_path, drv, [spec])


def _boot(ports: tuple[str, ...], **kw: Any) -> BootRequest:
    guest_uuid = str(uuid.uuid4())
    return BootRequest(
        name=f"{PREFIX}{guest_uuid[:8]}",
        port_ids=ports,
        uuid=guest_uuid,
        memory_mb=128,
        **kw,
    )


def _gone(conn: Any, guest_uuid: str) -> bool:
    import libvirt

    try:
        conn.lookupByUUIDString(guest_uuid)
    except libvirt.libvirtError as exc:
        return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)
    return False


def _link(name: str) -> str:
    return subprocess.run(
        ["ip", "-d", "link", "show", name],
        check=False,
        capture_output=True,
        text=True,
    ).stdout


def _devices(w: World) -> dict[str, tuple[str, str | None]]:
    node = w.db.get_compute_node(HOST, w.driver.nodename())
    assert node is not None
    return {
        r.address: (r.status, r.instance_uuid)
        for r in w.db.get_pci_devices(node.id)
    }


def test_normal_port_boots_packed_through_the_manager(
    world: World, conn: Any
) -> None:
    port = world.ports["normal"]
    boot = _boot((port["id"],), flavor_extra_specs=PACKED)
    devices = _devices(world)
    record = world.manager.build_and_run_instance(boot)
    assert (record.vm_state, record.host) == ("active", HOST)
    assert world.driver.instance_state(boot.uuid) is InstanceState.RUNNING

    # Bound as tap on this host, to this server.
    shown = world.network.show_port(port["id"])
    assert shown["binding:vif_type"] == "tap"
    assert shown["binding:host_id"] == HOST
    assert shown["device_id"] == boot.uuid

    # The running guest (read through a second connection): a tap NIC
    # with packed='on', and QEMU offers the packed ring on it.
    dom = conn.lookupByUUIDString(boot.uuid)
    live = etree.fromstring(dom.XMLDesc(0))
    (iface,) = live.findall("devices/interface")
    assert iface.get("type") == "ethernet"
    driver_el = iface.find("driver")
    assert driver_el is not None and driver_el.get("packed") == "on"
    mac = iface.find("mac")
    assert mac is not None and mac.get("address") == port["mac_address"]
    target = iface.find("target")
    assert target is not None
    tap = target.get("dev")
    assert tap and f"{tap}:" in _link(tap)
    offered, path = ring_packed_offered(dom)
    assert offered, f"VIRTIO_F_RING_PACKED not offered by {path}"
    proxy = path.removesuffix("/virtio-backend")
    assert qmp(dom, "qom-get", path=proxy, property="packed") is True

    # Delete: no domain, the port unbound, no rows, the tap gone, no
    # device row touched (a normal port claims none).
    world.manager.terminate_instance(boot.uuid)
    assert _gone(conn, boot.uuid)
    assert world.network.show_port(port["id"]) == port
    assert world.network.bound_ports() == {}
    assert world.db.get_instance(boot.uuid) is None
    assert world.db.get_instance_pci_requests(boot.uuid) is None
    assert _link(tap) == ""
    assert _devices(world) == devices


def test_unasked_normal_port_boots_without_packed(
    world: World, conn: Any
) -> None:
    """The same boot without the extra spec: the bit is not offered, so
    the test above can fail."""
    port = world.ports["normal"]
    boot = _boot((port["id"],))
    world.manager.build_and_run_instance(boot)
    dom = conn.lookupByUUIDString(boot.uuid)
    (iface,) = etree.fromstring(dom.XMLDesc(0)).findall("devices/interface")
    assert iface.find("driver") is None or (
        iface.find("driver").get("packed") is None  # type: ignore[union-attr]
    )
    assert ring_packed_offered(dom)[0] is False
    world.manager.terminate_instance(boot.uuid)
    assert _gone(conn, boot.uuid)
    assert world.network.bound_ports() == {}


def test_macvtap_port_on_the_claimed_stand_in_vf(
    vf_world: World, conn: Any, veth_pair: tuple[str, str]
) -> None:
    w = vf_world
    lower = veth_pair[0]
    port = w.ports["macvtap"]
    address = str(STAND_IN_VF)
    assert _devices(w) == {address: ("available", None)}
    before = link_mac(lower)

    boot = _boot((port["id"],), flavor_extra_specs=PACKED)
    w.manager.build_and_run_instance(boot)
    assert _devices(w) == {address: ("allocated", boot.uuid)}
    shown = w.network.show_port(port["id"])
    assert shown["binding:vif_type"] == "hw_veb"
    assert shown["binding:profile"]["pci_slot"] == address
    assert shown["binding:profile"]["physical_network"] == PHYSNET

    dom = conn.lookupByUUIDString(boot.uuid)
    (iface,) = etree.fromstring(dom.XMLDesc(0)).findall("devices/interface")
    assert iface.get("type") == "direct"
    source = iface.find("source")
    assert source is not None
    # The manager put the macvtap on the netdev of the VF it claimed.
    assert (source.get("dev"), source.get("mode")) == (lower, "passthrough")
    target = iface.find("target")
    assert target is not None
    tap = target.get("dev")
    assert tap and f"{tap}@{lower}" in _link(tap)
    assert link_mac(lower) == port["mac_address"]
    assert ring_packed_offered(dom)[0] is True

    w.manager.terminate_instance(boot.uuid)
    assert _gone(conn, boot.uuid)
    assert _devices(w) == {address: ("available", None)}
    assert w.network.show_port(port["id"]) == port
    assert w.network.bound_ports() == {}
    assert _link(tap) == ""
    assert link_mac(lower) == before
