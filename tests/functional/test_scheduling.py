"""Scheduling through the REAL Placement, handed to in-process hosts.

Three hosts (libvirt test-driver documents built from device values)
share one SQLite database, one static network (ports file) and one
embedded openstack-placement (a fresh one per test):

* ``host-a``: PF ``0000:81:00.0`` on physnet1 with 3 VFs and PF
  ``0000:82:00.0`` on physnet2 with 2 VFs; claims libvirt 6.3.0 / QEMU
  4.2.0 (a driver double of the versions only), so its root has
  ``COMPUTE_NET_VIRTIO_PACKED``;
* ``host-b``: physnet1, 3 VFs; the test driver's own versions (no
  packed trait);
* ``host-c``: physnet1, 2 VFs; no packed trait.

physnet1 has 8 VFs in all.  Every boot runs the whole flow: request
spec -> allocation candidates -> host filters -> ``PUT /allocations``
-> the host's compute manager, pinned to the allocated PF -> reports.
After each test, every PF provider's usages equal what its tracker
holds.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench.hostdoc import host_document
from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.compute import reconcile
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import SchedulerManager
from sriovirt.compute.manager import ComputeManager
from sriovirt.compute.multihost import HostSetup, open_hosts
from sriovirt.compute.placement_report import PlacementReporter
from sriovirt.db import api
from sriovirt.db.migration import sync as db_sync
from sriovirt.network import api as network_api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.device import IN_USE, DevType
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement import tree as pt
from sriovirt.placement.allocations import AllocationClient
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host, Versions
from tests.doubles import empty_conf, sriov_devices, unbound_port
from tests.fixtures.placement_service import PlacementUnderTest

PF1 = "0000:81:00.0"
PF2 = "0000:82:00.0"
#: host -> [(PF, physnet, VFs)], packed capable.
HOSTS: dict[str, tuple[list[tuple[str, str, int]], bool]] = {
    "host-a": ([(PF1, "physnet1", 3), (PF2, "physnet2", 2)], True),
    "host-b": ([(PF1, "physnet1", 3)], False),
    "host-c": ([(PF1, "physnet1", 2)], False),
}
NET1 = "3c5d7e9f-0000-4000-8000-00000000d001"
NET2 = "3c5d7e9f-0000-4000-8000-00000000d002"
PORTS1 = 24
PORTS2 = 4
PACKED = Versions(6_003_000, 4_002_000, "QEMU")


def port_id(net: int, n: int) -> str:
    return f"6f0c1e2a-0000-4000-8000-0000000d{net}{n:03d}"


def _port(port: str, network: str, n: int) -> dict[str, Any]:
    return unbound_port(
        port, network, f"fa:16:3e:00:{n // 256:02x}:{n % 256:02x}", f"port-{n}"
    )


def _network(net: str, physnet: str, vlan: int | None) -> dict[str, Any]:
    return {
        "id": net,
        "name": physnet,
        "mtu": 1500,
        "provider:network_type": "vlan" if vlan else "flat",
        "provider:physical_network": physnet,
        "provider:segmentation_id": vlan,
    }


class _VersionsHost(Host):
    """The real test driver, claiming other libvirt/QEMU versions."""

    def __init__(self, uri: str, versions: Versions) -> None:
        super().__init__(uri)
        self.claimed = versions

    def versions(self) -> Versions:
        return self.claimed


def _conf(host: str, state_path: Path) -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", host)
    conf.set_override("state_path", str(state_path))
    return conf


@dataclass
class Cloud:
    placement: PlacementUnderTest
    client: AllocationClient
    database: api.Database
    network: StaticNetwork
    computes: dict[str, ComputeManager]
    scheduler: SchedulerManager

    def spec(self, boot: BootRequest) -> RequestSpec:
        return build_request_spec(
            vcpus=boot.vcpus,
            memory_mb=boot.memory_mb,
            extra_specs=boot.flavor_extra_specs,
            image_properties=boot.image_properties,
            ports=[
                network_api.request_for(self.network, p) for p in boot.port_ids
            ],
        )

    def boot(self, name: str, port: str, **extra: str) -> str:
        """Boot ``name`` on ``port``; the host it landed on."""
        boot = BootRequest(
            name=name, port_ids=(port,), flavor_extra_specs=extra
        )
        record = self.scheduler.schedule_and_build(boot, self.spec(boot))
        return str(record.host)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    """The three hosts on an embedded Placement."""
    with _placed_cloud(tmp_path, "embedded") as found:
        yield found


@pytest.fixture
def remote_cloud(tmp_path: Path) -> Iterator[Cloud]:
    """The three hosts on a loopback Placement server (can be killed)."""
    with _placed_cloud(tmp_path, "loopback") as found:
        yield found


@contextlib.contextmanager
def _placed_cloud(tmp_path: Path, mode: str) -> Iterator[Cloud]:
    """The three hosts on a Placement of ``mode``, started here."""
    placement = PlacementUnderTest(mode, tmp_path / "placement")
    placement.start()
    try:
        with _cloud(tmp_path, placement) as found:
            yield found
    finally:
        placement.stop()


@contextlib.contextmanager
def _cloud(tmp_path: Path, placement: PlacementUnderTest) -> Iterator[Cloud]:
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    db_sync(url)
    ports = tmp_path / "ports.json"
    ports.write_text(
        json.dumps(
            {
                "networks": [
                    _network(NET1, "physnet1", 100),
                    _network(NET2, "physnet2", None),
                ],
                "ports": [
                    *(_port(port_id(1, n), NET1, n) for n in range(PORTS1)),
                    *(
                        _port(port_id(2, n), NET2, 100 + n)
                        for n in range(PORTS2)
                    ),
                ],
            }
        )
    )
    network = StaticNetwork(
        ports_file=ports, state_file=tmp_path / "bindings.json"
    )
    setups = []
    hosts: list[Host] = []
    for name, (pfs, packed) in HOSTS.items():
        xml = tmp_path / f"{name}.xml"
        xml.write_text(
            host_document(sriov_devices((pf, n) for pf, _, n in pfs))
        )
        uri = paths.test_driver_uri(xml)
        host = _VersionsHost(uri, PACKED) if packed else Host(uri)
        hosts.append(host)
        whitelist = Whitelist.from_config(
            [
                json.dumps({"address": pf, "physical_network": net})
                for pf, net, _ in pfs
            ]
        )
        setups.append(
            HostSetup(
                name, LibvirtDriver(_conf(name, tmp_path), host), whitelist
            )
        )
    with api.Database(url) as database:
        computes = open_hosts(
            setups,
            database=database,
            network=network,
            placement_adapter=placement.adapter(),
            placement_endpoint=placement.endpoint,
            locks_dir=tmp_path / "locks",
        )
        client = AllocationClient(placement.adapter(), placement.endpoint)
        scheduler = SchedulerManager(
            placement=client,
            nodes=database,
            computes=computes,
            settings=SchedulerSettings(max_attempts=3),
        )
        found = Cloud(
            placement, client, database, network, computes, scheduler
        )
        yield found
        assert_placement_matches_trackers(found)
    for host in hosts:
        host.close()


def assert_placement_matches_trackers(cloud: Cloud) -> None:
    """Every PF provider's usages equal the devices its tracker holds."""
    for name, manager in cloud.computes.items():
        rt = manager.rt
        node = rt.node.uuid
        used: dict[str, dict[str, int]] = {}
        for dev in rt.tracked_devices():
            pf = dev.address if dev.dev_type is DevType.PF else dev.parent_addr
            assert pf is not None
            counts = used.setdefault(
                str(pf), {"SRIOV_NET_VF": 0, pt.PF_RESOURCE_CLASS: 0}
            )
            if dev.status in IN_USE:
                rc = (
                    pt.PF_RESOURCE_CLASS
                    if dev.dev_type is DevType.PF
                    else "SRIOV_NET_VF"
                )
                counts[rc] += 1
        for pf_text, counts in used.items():
            usages = cloud.client.usages(pt.child_uuid(node, pf_text))
            assert usages == counts, (name, pf_text, usages, counts)


def _pf_of_server(cloud: Cloud, host: str, name: str) -> str:
    manager = cloud.computes[host]
    record = manager.get_instance_by_name(name)
    (dev,) = [
        d
        for d in manager.rt.tracked_devices()
        if d.instance_uuid == record.uuid
    ]
    return str(dev.parent_addr)


# --- where boots land ------------------------------------------------------


def test_packed_flavor_lands_only_on_capable_hosts(cloud: Cloud) -> None:
    hosts = {
        cloud.boot(
            f"packed-{n}", port_id(1, n), **{"hw:virtio_packed_ring": "true"}
        )
        for n in range(3)
    }
    assert hosts == {"host-a"}
    # host-a's physnet1 VFs are all used now: the next packed boot has
    # nowhere to go, and says what Placement was asked.
    with pytest.raises(exception.NoValidHost) as err:
        cloud.boot(
            "packed-3", port_id(1, 3), **{"hw:virtio_packed_ring": "true"}
        )
    assert "COMPUTE_NET_VIRTIO_PACKED" in str(err.value)


def test_forbidden_packed_trait_lands_only_on_the_others(cloud: Cloud) -> None:
    extra = {"trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden"}
    hosts = [
        cloud.boot(f"plain-{n}", port_id(1, n), **extra) for n in range(5)
    ]
    assert set(hosts) == {"host-b", "host-c"}
    with pytest.raises(exception.NoValidHost):
        cloud.boot("plain-5", port_id(1, 5), **extra)


def test_physnet2_port_lands_where_physnet2_vfs_are_free(cloud: Cloud) -> None:
    for n in range(2):
        assert cloud.boot(f"p2-{n}", port_id(2, n)) == "host-a"
        assert _pf_of_server(cloud, "host-a", f"p2-{n}") == PF2
    with pytest.raises(exception.NoValidHost) as err:
        cloud.boot("p2-2", port_id(2, 2))
    assert "CUSTOM_PHYSNET_PHYSNET2" in str(err.value)


def test_filling_a_host_moves_the_next_boot_elsewhere(cloud: Cloud) -> None:
    # Spread by free VFs: a, b (3 each) before c (2); all 8 land, each
    # host takes exactly what it has, the 9th finds nothing.
    hosts = [cloud.boot(f"vm-{n}", port_id(1, n)) for n in range(8)]
    assert {h: hosts.count(h) for h in set(hosts)} == {
        "host-a": 3,
        "host-b": 3,
        "host-c": 2,
    }
    with pytest.raises(exception.NoValidHost):
        cloud.boot("vm-8", port_id(1, 8))


def test_delete_frees_the_allocation_and_the_vf(cloud: Cloud) -> None:
    host = cloud.boot("gone", port_id(1, 0))
    record = cloud.computes[host].get_instance_by_name("gone")
    assert cloud.client.allocations(record.uuid)
    cloud.scheduler.delete(host, record.uuid)
    assert cloud.client.allocations(record.uuid) == {}


def test_reconcile_of_a_dead_boot_deletes_its_allocation(cloud: Cloud) -> None:
    host = cloud.boot("dead", port_id(1, 0))
    manager = cloud.computes[host]
    record = manager.get_instance_by_name("dead")
    assert cloud.client.allocations(record.uuid)
    # What a boot killed before its last step leaves: the row building
    # (nobody holds its lock), devices, binding, allocation.
    manager.db.update_instance(
        record.uuid, vm_state="building", task_state="spawning"
    )
    report = reconcile.reconcile(
        manager, resume=True, allocations=cloud.client
    )
    (finding,) = report.findings
    assert (finding.uuid, finding.outcome) == (
        record.uuid,
        reconcile.Outcome.ROLLED_BACK,
    )
    assert "Placement allocation deleted" in finding.detail
    assert cloud.client.allocations(record.uuid) == {}
    assert manager.db.get_instance(record.uuid) is None
    assert_placement_matches_trackers(cloud)


# --- a compute that fails the boot -------------------------------------------


def test_compute_failure_reschedules_and_frees_that_allocation(
    cloud: Cloud,
) -> None:
    # host-a is chosen first (3 free VFs like host-b; the name breaks
    # the tie).  A guest named "clash" already defined on its test
    # driver makes its spawn fail for real, after claim and bind.
    _leave_guest(cloud.computes["host-a"], "clash")
    boot = BootRequest(name="clash", port_ids=(port_id(1, 0),))
    record = cloud.scheduler.schedule_and_build(boot, cloud.spec(boot))
    assert record.host == "host-b"
    # Only host-b's providers hold the allocation: host-a's was deleted
    # when its compute failed, and host-a's tracker holds nothing.
    node_b = cloud.computes["host-b"].rt.node.uuid
    assert set(cloud.client.allocations(boot.uuid)) == {
        node_b,
        pt.child_uuid(node_b, PF1),
    }
    assert not [
        d
        for d in cloud.computes["host-a"].rt.tracked_devices()
        if d.status in IN_USE
    ]
    assert _pf_of_server(cloud, "host-b", "clash") == PF1


def test_every_host_failing_names_every_attempt(cloud: Cloud) -> None:
    for manager in cloud.computes.values():
        _leave_guest(manager, "dup")
    boot = BootRequest(name="dup", port_ids=(port_id(1, 9),))
    with pytest.raises(exception.SchedulingFailed) as err:
        cloud.scheduler.schedule_and_build(boot, cloud.spec(boot))
    text = str(err.value)
    assert "3 host(s) tried" in text
    for name in cloud.computes:
        assert f"{name}: Boot of server 'dup'" in text
    assert cloud.client.allocations(boot.uuid) == {}


def _leave_guest(manager: ComputeManager, name: str) -> None:
    """A guest called ``name`` defined on the host, unknown to sriovirt."""
    xml = (
        f"<domain type='test'><name>{name}</name><memory>65536</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    manager.driver.host.define(xml, validate=False)  # type: ignore[attr-defined]


# --- 20 boots racing for 8 VFs on 3 hosts ------------------------------------


def test_racing_boots_for_the_last_vfs(cloud: Cloud) -> None:
    barrier = threading.Barrier(20)

    def one(n: int) -> str:
        boot = BootRequest(name=f"race-{n:02d}", port_ids=(port_id(1, n),))
        spec = cloud.spec(boot)
        barrier.wait()
        try:
            return str(cloud.scheduler.schedule_and_build(boot, spec).host)
        except (exception.NoValidHost, exception.SchedulingFailed) as exc:
            return f"error: {type(exc).__name__}"

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    won = [r for r in results if not r.startswith("error")]
    assert len(won) == 8, results
    assert {h: won.count(h) for h in set(won)} == {
        "host-a": 3,
        "host-b": 3,
        "host-c": 2,
    }
    assert len(results) - len(won) == 12
    # The losers left nothing: no row, no bound port, no device.
    rows = {
        r.name
        for m in cloud.computes.values()
        for r in cloud.database.get_instances_by_host(m.host)
    }
    assert len(rows) == 8
    for n, result in enumerate(results):
        bound = cloud.network.show_port(port_id(1, n))["device_id"]
        assert (f"race-{n:02d}" in rows) == (not result.startswith("error"))
        assert bool(bound) == (not result.startswith("error"))
    assert sum(_in_use(cloud).values()) == 8


# --- Placement does not answer -----------------------------------------------


def _in_use(cloud: Cloud) -> dict[str, int]:
    return {
        name: sum(1 for d in m.rt.tracked_devices() if d.status in IN_USE)
        for name, m in cloud.computes.items()
    }


def test_placement_outage_while_scheduling(remote_cloud: Cloud) -> None:
    cloud = remote_cloud
    cloud.boot("before", port_id(1, 0))
    before = _in_use(cloud)
    cloud.placement.kill()
    boot = BootRequest(name="during", port_ids=(port_id(1, 1),))
    with pytest.raises(exception.PlacementUnavailable) as err:
        cloud.scheduler.schedule_and_build(boot, cloud.spec(boot))
    text = str(err.value)
    assert cloud.placement.endpoint in text
    assert "GET /allocation_candidates: no answer" in text
    # Nothing claimed, no row, no port bound.
    assert _in_use(cloud) == before
    for manager in cloud.computes.values():
        assert (
            cloud.database.get_instance_by_name(manager.host, "during") is None
        )
    assert cloud.network.show_port(port_id(1, 1))["device_id"] == ""

    # Placement is back (same database): the same boot lands, once.
    cloud.placement.start()
    record = cloud.scheduler.schedule_and_build(boot, cloud.spec(boot))
    allocations = cloud.client.allocations(boot.uuid)
    assert sum(r.get("SRIOV_NET_VF", 0) for r in allocations.values()) == 1, (
        allocations
    )
    assert record.host in cloud.computes


def test_placement_outage_while_the_compute_reports(
    remote_cloud: Cloud,
) -> None:
    """Placement dies after the claim, before the compute's report: the
    boot still succeeds (the outage is logged), and the report after the
    next refresh catches up once Placement is back."""
    cloud = remote_cloud

    def kill_at_allocate(server: str, step: str) -> None:
        if step == "allocate":
            cloud.placement.kill()

    for manager in cloud.computes.values():
        manager.on_step = kill_at_allocate
    host = cloud.boot("reported-late", port_id(1, 0))
    manager = cloud.computes[host]
    manager.on_step = None
    reporter = manager.reporter
    assert isinstance(reporter, PlacementReporter)
    assert isinstance(reporter.last_error, exception.PlacementUnavailable)
    cloud.placement.start()
    # The next periodic refresh reports, and catches up.
    manager.refresh_resources()
    assert reporter.last_error is None
    # The PF of the used VF is reserved now (PF/VF exclusivity).
    node = manager.rt.node.uuid
    pf = _pf_of_server(cloud, host, "reported-late")
    inventories = (
        cloud.placement.adapter()
        .get(f"/resource_providers/{pt.child_uuid(node, pf)}/inventories")
        .json()["inventories"]
    )
    assert inventories[pt.PF_RESOURCE_CLASS]["reserved"] == 1
