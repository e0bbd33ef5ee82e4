"""The compute manager boots and deletes servers end to end, no mocks.

libvirt's test driver on the sample host (etc/sriovirt/hosts/small.xml),
SQLite in tmp_path, and the static network backend over a copy of the
sample ports file (etc/sriovirt/ports.json) with a few more networks and
ports for the faults.  Every fault test checks that nothing is left
behind: devices free (pools as before), ports unbound, no guest of ours,
no rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import BootRequest, ComputeManager
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.static import StaticNetwork
from sriovirt.objects.instance_pci_requests import InstancePCIRequests
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.driver import InstanceState
from sriovirt.virt.libvirt.driver import LibvirtDriver

HOST = "test-host"
SPEC = [
    '{"address": "0000:81:00.0", "physical_network": "physnet1"}',
    '{"devname": "ens2f0", "physical_network": "physnet2"}',
]
DIRECT = "6f0c1e2a-0000-4000-8000-000000000001"
MACVTAP = "6f0c1e2a-0000-4000-8000-000000000002"
PHYSICAL = "6f0c1e2a-0000-4000-8000-000000000003"
NORMAL = "6f0c1e2a-0000-4000-8000-000000000004"
SAMPLE_PORTS = (DIRECT, MACVTAP, PHYSICAL, NORMAL)
VLAN_NET = "3c5d7e9f-0000-4000-8000-000000000001"
VXLAN_NET = "3c5d7e9f-0000-4000-8000-000000000003"
GRE_NET = "3c5d7e9f-0000-4000-8000-0000000000e1"
#: More direct ports on physnet1 than its PF has VFs (4).
EXTRA_DIRECT = tuple(
    f"6f0c1e2a-0000-4000-8000-0000000001{n:02d}" for n in range(5)
)
NO_PHYSNET = "6f0c1e2a-0000-4000-8000-000000000201"
FAILS_BINDING = "6f0c1e2a-0000-4000-8000-000000000202"
UUID = "00000000-0000-4000-8000-0000000000aa"


def _port(port_id: str, network_id: str, vnic: str, n: int) -> dict[str, Any]:
    return {
        "id": port_id,
        "name": f"extra-{n}",
        "network_id": network_id,
        "mac_address": f"fa:16:3e:00:01:{n:02x}",
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


def _ports_file(tmp_path: Path) -> Path:
    doc = json.loads((paths.etc_dir() / "ports.json").read_text())
    doc["networks"].append(
        {
            "id": GRE_NET,
            "name": "gre-on-physnet1",
            "mtu": 1500,
            # A physical network, but on a segment type the SR-IOV
            # mechanism driver does not bind: binding_failed.
            "provider:network_type": "gre",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 7,
        }
    )
    extra = [
        *(_port(p, VLAN_NET, "direct", n) for n, p in enumerate(EXTRA_DIRECT)),
        _port(NO_PHYSNET, VXLAN_NET, "direct", 32),
        _port(FAILS_BINDING, GRE_NET, "direct", 33),
    ]
    doc["ports"].extend(extra)
    path = tmp_path / "ports.json"
    path.write_text(json.dumps(doc))
    return path


@dataclass
class World:
    manager: ComputeManager
    driver: LibvirtDriver
    network: StaticNetwork
    db: api.Database
    rt: ResourceTracker

    def pools(self) -> list[tuple[str, int]]:
        node = self.db.get_compute_node(HOST, self.driver.nodename())
        assert node is not None and node.pci_stats is not None
        return sorted(
            (json.dumps(p["tags"], sort_keys=True), p["count"])
            for p in json.loads(node.pci_stats)
        )

    def rows(self) -> dict[str, tuple[str, str | None]]:
        node = self.db.get_compute_node(HOST, self.driver.nodename())
        assert node is not None
        return {
            r.address: (r.status, r.instance_uuid)
            for r in self.db.get_pci_devices(node.id)
        }

    def assert_nothing_left(self, pools: list[tuple[str, int]]) -> None:
        assert self.pools() == pools
        assert all(uuid is None for _, uuid in self.rows().values())
        assert self.network.bound_ports() == {}
        assert self.driver.list_instances() == ()
        assert self.db.get_instances_by_host(HOST) == []
        assert self.db.get_instance_pci_requests(UUID) is None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    conf.set_override("host", HOST)
    uri = paths.test_driver_uri(paths.sample_host("small"))
    driver = LibvirtDriver.for_connection(conf, uri)
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    api.sync(url)
    network = StaticNetwork(
        ports_file=_ports_file(tmp_path), state_file=tmp_path / "bind.json"
    )
    with api.Database(url) as db:
        rt = ResourceTracker(HOST, driver, db, Whitelist.from_config(SPEC))
        rt.start()
        manager = ComputeManager(
            driver=driver,
            resource_tracker=rt,
            network=network,
            database=db,
            host=HOST,
            locks=InstanceLocks(tmp_path / "locks"),
        )
        yield World(manager, driver, network, db, rt)
    driver.host.close()


def _boot(*ports: str, name: str = "vm-1", **kw: Any) -> BootRequest:
    return BootRequest(name=name, port_ids=ports, uuid=UUID, **kw)


PACKED = {"hw:virtio_packed_ring": "true"}


def test_boot_plugs_every_kind_of_port_and_delete_restores_all(
    world: World,
) -> None:
    pools = world.pools()
    record = world.manager.build_and_run_instance(
        _boot(*SAMPLE_PORTS, flavor_extra_specs=PACKED)
    )
    assert (record.name, record.host, record.vm_state) == (
        "vm-1",
        HOST,
        "active",
    )
    assert world.driver.instance_state(UUID) is InstanceState.RUNNING
    root = etree.fromstring(world.driver.host.domain_xml(UUID).encode())
    ifaces = root.findall("devices/interface")
    # direct-physical hands the whole PF over: a <hostdev>, no NIC.
    assert [i.get("type") for i in ifaces] == ["hostdev", "direct", "ethernet"]
    (pf,) = root.findall("devices/hostdev/source/address")
    assert (pf.get("bus"), pf.get("slot")) == ("0x82", "0x00")
    # packed='on' only on the virtio NICs (macvtap, tap), never on a
    # device handed to the guest.
    packed = [
        None if i.find("driver") is None else i.find("driver").get("packed")
        for i in ifaces
    ]
    assert packed == [None, "on", "on"]
    (source,) = root.findall("devices/interface[@type='direct']/source")
    assert source.get("dev", "").startswith("ens1f0v")
    # The stored XML is the definition (what defining again takes), not
    # the live state: no domain id.
    assert record.domain_xml is not None
    stored = etree.fromstring(record.domain_xml.encode())
    assert stored.findtext("uuid") == UUID and root.get("id") is not None
    assert stored.get("id") is None
    assert len(stored.findall("devices/interface")) == 3

    bound = world.network.bound_ports()
    profiles = {p: bound[p]["binding:profile"] for p in SAMPLE_PORTS}
    for port_id, physnet, product in (
        (DIRECT, "physnet1", "10ed"),
        (MACVTAP, "physnet1", "10ed"),
        (PHYSICAL, "physnet2", "10fb"),
    ):
        profile = profiles[port_id]
        assert profile["physical_network"] == physnet
        assert profile["pci_vendor_info"] == f"8086:{product}"
        assert world.rows()[profile["pci_slot"]] == ("allocated", UUID)
    assert profiles[NORMAL] == {}
    # A VF's profile names its PF's MAC and its VF number (from the
    # sample host's node devices); a PF's does not (as Nova).
    for port_id in (DIRECT, MACVTAP):
        profile = profiles[port_id]
        assert profile["pf_mac_address"] == "52:54:00:00:00:01"
        vf_function = int(profile["pci_slot"].rsplit(".", 1)[1])
        # 0000:81:10.{0,2,4,6} are the PF's virt_functions 0..3.
        assert profile["vf_num"] == vf_function // 2
    assert not {"pf_mac_address", "vf_num"} & set(profiles[PHYSICAL])
    assert {p["binding:host_id"] for p in bound.values()} == {HOST}
    assert {p["device_id"] for p in bound.values()} == {UUID}

    stored = InstancePCIRequests.from_json(
        UUID, world.db.get_instance_pci_requests(UUID)
    )
    requesters = [r.requester_id for r in stored.requests]
    assert requesters == [DIRECT, MACVTAP, PHYSICAL]
    assert world.pools() != pools

    world.manager.terminate_instance(UUID)
    world.assert_nothing_left(pools)


def test_packed_false_is_written_off_on_virtio_only(world: World) -> None:
    world.manager.build_and_run_instance(
        _boot(DIRECT, NORMAL, image_properties={"hw_virtio_packed_ring": "no"})
    )
    root = etree.fromstring(world.driver.guest_xml(UUID).encode())
    ifaces = root.findall("devices/interface")
    assert [i.get("type") for i in ifaces] == ["hostdev", "ethernet"]
    # An explicit false is written on the virtio NIC only.
    packed = [
        None if i.find("driver") is None else i.find("driver").get("packed")
        for i in ifaces
    ]
    assert packed == [None, "off"]


def test_names_are_unique_per_host(world: World) -> None:
    world.manager.build_and_run_instance(_boot(NORMAL))
    pools = world.pools()
    second = BootRequest(name="vm-1", port_ids=(DIRECT,))
    with pytest.raises(exception.ServerNameInUse, match="'vm-1'.*" + UUID):
        world.manager.build_and_run_instance(second)
    assert world.pools() == pools
    assert DIRECT not in world.network.bound_ports()
    assert world.manager.get_instance_by_name("vm-1").uuid == UUID


def test_deleting_an_unknown_server_changes_nothing(world: World) -> None:
    world.manager.build_and_run_instance(_boot(DIRECT))
    rows, bound = world.rows(), world.network.bound_ports()
    other = "00000000-0000-4000-8000-0000000000bb"
    with pytest.raises(exception.ServerNotFound, match=other):
        world.manager.terminate_instance(other)
    assert (world.rows(), world.network.bound_ports()) == (rows, bound)
    assert world.driver.instance_state(UUID) is InstanceState.RUNNING


def test_delete_of_a_server_whose_guest_is_gone(world: World) -> None:
    pools = world.pools()
    world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    assert world.driver.destroy(UUID)
    world.manager.terminate_instance(UUID)
    world.assert_nothing_left(pools)


def _fails(world: World, boot: BootRequest, step: str) -> str:
    pools = world.pools()
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(boot)
    assert err.value.step == step
    world.assert_nothing_left(pools)
    return str(err.value)


def test_no_free_vf_on_the_physnet(world: World) -> None:
    message = _fails(world, _boot(*EXTRA_DIRECT), "claim")
    assert "physical network physnet1" in message
    assert "rolled back" in message


def test_direct_port_on_a_network_without_physnet(world: World) -> None:
    message = _fails(world, _boot(DIRECT, NO_PHYSNET), "read ports")
    assert NO_PHYSNET in message and "provider:physical_network" in message


def test_conflicting_packed_flavor_and_image(world: World) -> None:
    boot = _boot(
        DIRECT,
        flavor_extra_specs=PACKED,
        image_properties={"hw_virtio_packed_ring": "false"},
    )
    message = _fails(world, boot, "packed virtqueue constraint")
    assert "conflicts with" in message


def test_binding_failed_port_rolls_back(world: World) -> None:
    boot = _boot(DIRECT, NORMAL, FAILS_BINDING)
    message = _fails(world, boot, f"bind port {FAILS_BINDING}")
    assert "binding_failed" in message and HOST in message


def test_failing_spawn_rolls_back_and_leaves_the_other_guest(
    world: World,
) -> None:
    # A running transient guest of the same UUID: libvirt defines ours,
    # then refuses to start what is already running.
    xml = (
        f"<domain type='test'><name>vm-1</name><uuid>{UUID}</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    world.driver.host._call("create", lambda c: c.createXML(xml, 0))
    pools = world.pools()
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(_boot(*SAMPLE_PORTS))
    assert err.value.step == "spawn"
    assert "already running" in str(err.value)
    (left,) = world.driver.list_instances()
    assert (left.name, left.persistent) == ("vm-1", False)
    world.driver.destroy(UUID)
    world.assert_nothing_left(pools)


def test_a_failed_delete_keeps_the_rows_and_can_run_again(
    world: World,
) -> None:
    pools = world.pools()
    world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    state = world.network.state_file
    kept = state.read_bytes()
    state.write_bytes(b"{damaged")
    with pytest.raises(exception.DeleteFailed) as err:
        world.manager.terminate_instance(UUID)
    assert err.value.step == f"unbind port {DIRECT}"
    assert "run the delete again" in str(err.value)
    # The guest is gone; the devices and the rows are not.
    assert world.driver.list_instances() == ()
    assert world.db.get_instance(UUID) is not None
    assert world.pools() != pools
    state.write_bytes(kept)
    world.manager.terminate_instance(UUID)
    world.assert_nothing_left(pools)
