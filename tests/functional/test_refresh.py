"""Refresh and restart of the resource tracker on libvirt test-driver hosts.

Real pieces end to end: a host document rendered from device values, read
back through libvirt's test driver (``LibvirtDriver`` -> ``Host`` ->
``inventory``), the real whitelist and tracker, and the database on SQLite
and PostgreSQL (``db_url``).  Every test checks what is *stored*: rows,
statuses, tags and the ``compute_nodes.pci_stats`` pools the scheduler
reads, not only what the tracker holds in memory.

The host: one dual-port Intel NIC of the design's workload (2 PFs x 128
VFs, ``physnet0``/``physnet1``, NUMA 0), a Mellanox PF whose 4 VFs are
whitelisted by vendor/product on ``physnet9`` (trusted, NUMA 1), and an
NVMe drive no entry matches.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from bench.hostdoc import host_document
from bench.workload import build_device_spec, build_devices
from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.db.records import (
    InstanceRecord,
    PciDeviceRecord,
    PciSaveResult,
)
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host
from tests.doubles import empty_conf
from tests.functional.db.conftest import db_url

__all__ = ["db_url"]

HOST = "compute-1"

PF0 = "0000:10:00.0"
PF1 = "0000:11:00.0"
MLX_PF = "0000:d8:00.0"
MLX_VFS = tuple(f"0000:d8:00.{f}" for f in range(2, 6))
NVME = "0000:3b:00.0"

INSTANCE_A = "aaaaaaaa-0000-4000-8000-000000000001"
INSTANCE_B = "bbbbbbbb-0000-4000-8000-000000000002"
INSTANCE_C = "cccccccc-0000-4000-8000-000000000003"
INSTANCE_D = "dddddddd-0000-4000-8000-000000000004"

INTEL_VF = ("8086", "154c", 0, "type-VF")
INTEL_PF = ("8086", "1572", 0, "type-PF")
MLX_VF = ("15b3", "101e", 1, "type-VF")

#: Pool key: (vendor, product, numa, dev_type, physnet, other tags).
PoolKey = tuple[str, str, int | None, str, str | None, tuple[str, ...]]


def _vf_addr(pf: str, index: int) -> str:
    """The workload's address of VF ``index`` (0-127) of a PF."""
    slot, function = divmod(index, 8)
    return f"{pf[:8]}{0x02 + slot:02x}.{function}"


def _vfs_of(pf: str) -> list[str]:
    return [_vf_addr(pf, i) for i in range(128)]


def _extra_devices() -> list[HostPciDevice]:
    mlx_pf = PciAddress.parse(MLX_PF)
    mlx = [
        HostPciDevice(
            address=mlx_pf,
            vendor_id="15b3",
            product_id="101d",
            dev_type=DevType.PF,
            numa_node=1,
            ifname="enp216s0f0",
        )
    ]
    mlx += [
        HostPciDevice(
            address=PciAddress.parse(addr),
            vendor_id="15b3",
            product_id="101e",
            dev_type=DevType.VF,
            parent_addr=mlx_pf,
            numa_node=1,
            ifname=f"enp216s0f0v{i}",
            parent_ifname="enp216s0f0",
        )
        for i, addr in enumerate(MLX_VFS)
    ]
    nvme = HostPciDevice(
        address=PciAddress.parse(NVME),
        vendor_id="8086",
        product_id="0953",
        dev_type=DevType.PCI,
        numa_node=0,
    )
    return [*mlx, nvme]


DEVICES: tuple[HostPciDevice, ...] = (*build_devices(1), *_extra_devices())
MLX_ENTRY = json.dumps(
    {
        "vendor_id": "15b3",
        "product_id": "101e",
        "physical_network": "physnet9",
        "trusted": "yes",
    }
)
SPEC: list[str] = [*build_device_spec(build_devices(1)), MLX_ENTRY]

#: Every whitelisted device: both Intel PFs with their VFs, Mellanox VFs.
TRACKED = 2 + 256 + 4

#: The pools of the full host with nothing in use.
FULL_POOLS: dict[PoolKey, int] = {
    (*INTEL_PF, "physnet0", ()): 1,
    (*INTEL_PF, "physnet1", ()): 1,
    (*INTEL_VF, "physnet0", ()): 128,
    (*INTEL_VF, "physnet1", ()): 128,
    (*MLX_VF, "physnet9", ("trusted=true",)): 4,
}


# --- helpers ---------------------------------------------------------------


def _conf() -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", HOST)
    return conf


class Hosts:
    """Writes host documents and hands out drivers reading them."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        self.written = 0
        self.hosts: list[Host] = []

    def driver(self, devices: Iterable[HostPciDevice]) -> LibvirtDriver:
        self.written += 1
        path = self.directory / f"host-{self.written}.xml"
        path.write_text(host_document(devices))
        host = Host(paths.test_driver_uri(path))
        self.hosts.append(host)
        return LibvirtDriver(_conf(), host=host)

    def without(self, *addresses: str) -> LibvirtDriver:
        """A driver on the full host minus ``addresses``."""
        gone = {PciAddress.parse(a) for a in addresses}
        assert len(gone) == len(addresses)
        return self.driver(d for d in DEVICES if d.address not in gone)

    def close(self) -> None:
        for host in self.hosts:
            host.close()


@pytest.fixture
def hosts(tmp_path: pathlib.Path) -> Iterator[Hosts]:
    made = Hosts(tmp_path / "hosts")
    made.directory.mkdir()
    yield made
    made.close()


@pytest.fixture
def database(db_url: str) -> Iterator[api.Database]:
    api.sync(db_url)
    with api.Database(db_url) as db:
        yield db


def _tracker(
    database: api.Database,
    driver: LibvirtDriver,
    spec: Sequence[str] = SPEC,
) -> ResourceTracker:
    return ResourceTracker(
        HOST, driver, database, Whitelist.from_config(list(spec))
    )


def _node_id(database: api.Database) -> int:
    node = database.get_compute_node(HOST, HOST)
    assert node is not None
    return node.id


def _rows(database: api.Database) -> dict[str, PciDeviceRecord]:
    return {r.address: r for r in database.get_pci_devices(_node_id(database))}


def _pool_key(pool: dict[str, Any]) -> tuple[PoolKey, int]:
    tags = dict(pool["tags"])
    dev_type = tags.pop("dev_type")
    physnet = tags.pop("physical_network", None)
    key: PoolKey = (
        pool["vendor_id"],
        pool["product_id"],
        pool["numa_node"],
        dev_type,
        physnet,
        tuple(f"{k}={v}" for k, v in sorted(tags.items())),
    )
    return key, pool["count"]


def _pools_from_json(text: str | None) -> dict[PoolKey, int]:
    assert text is not None
    pools = dict(_pool_key(p) for p in json.loads(text))
    # A pool that dropped to zero is not reported (design section 4).
    assert all(count > 0 for count in pools.values())
    return pools


def _stored_pools(database: api.Database) -> dict[PoolKey, int]:
    node = database.get_compute_node(HOST, HOST)
    assert node is not None
    return _pools_from_json(node.pci_stats)


def _assert_stored_is_memory(
    database: api.Database, rt: ResourceTracker
) -> None:
    """The database holds exactly what the tracker holds in memory."""
    assert _stored_pools(database) == _pools_from_json(
        rt.tracker.stats.to_json()
    )
    memory = {
        str(d.address): (d.status.value, d.instance_uuid)
        for d in rt.tracker.devices
    }
    stored = {
        a: (r.status, r.instance_uuid) for a, r in _rows(database).items()
    }
    assert stored == memory


def _statuses(rows: dict[str, PciDeviceRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows.values():
        out[row.status] = out.get(row.status, 0) + 1
    return out


def _pools(**changes: int) -> dict[PoolKey, int]:
    """FULL_POOLS with some counts changed (0 drops the pool)."""
    names = {
        "pf0": (*INTEL_PF, "physnet0", ()),
        "pf1": (*INTEL_PF, "physnet1", ()),
        "vf0": (*INTEL_VF, "physnet0", ()),
        "vf1": (*INTEL_VF, "physnet1", ()),
        "mlx": (*MLX_VF, "physnet9", ("trusted=true",)),
    }
    pools = dict(FULL_POOLS)
    for name, count in changes.items():
        key = names[name]
        if count:
            pools[key] = count
        else:
            del pools[key]
    return pools


def _vf_request(physnet: str, count: int = 1) -> PciRequest:
    return PciRequest(count=count, spec=[{"physical_network": physnet}])


def _instance(
    database: api.Database,
    uuid: str,
    vm_state: str = "active",
    task_state: str | None = None,
) -> None:
    database.create_instance(
        InstanceRecord(
            uuid=uuid,
            vm_state=vm_state,
            task_state=task_state,
            host=HOST,
            node=HOST,
        )
    )


# --- start: what a fresh node stores --------------------------------------


def test_start_stores_every_whitelisted_device_and_its_pools(
    database: api.Database, hosts: Hosts
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    report = rt.start()

    assert report.restored == 0
    assert report.released == report.missing == report.conflicts == ()
    refresh = report.refresh
    assert refresh.devices == len(DEVICES) == TRACKED + 2
    assert refresh.skipped == ()
    assert refresh.saved.inserted == TRACKED
    assert (refresh.saved.updated, refresh.saved.deleted) == (0, 0)
    assert refresh.saved.stats_updated

    rows = _rows(database)
    assert len(rows) == TRACKED
    # The NVMe drive and the Mellanox PF match no entry: not stored.
    assert NVME not in rows and MLX_PF not in rows
    assert _statuses(rows) == {"available": TRACKED}
    assert all(r.instance_uuid is None for r in rows.values())

    pf0 = rows[PF0]
    assert (pf0.dev_type, pf0.vendor_id, pf0.product_id) == (
        "type-PF",
        "8086",
        "1572",
    )
    assert pf0.parent_addr is None and pf0.numa_node == 0
    assert pf0.extra_info == {
        "physical_network": "physnet0",
        "ifname": "ens1f0",
    }
    last_vf = rows[_vf_addr(PF1, 127)]
    assert last_vf.dev_type == "type-VF"
    assert last_vf.parent_addr == PF1
    assert last_vf.extra_info == {
        "physical_network": "physnet1",
        "ifname": "ens1f1v127",
        "parent_ifname": "ens1f1",
    }
    for addr in MLX_VFS:
        assert rows[addr].numa_node == 1
        assert rows[addr].parent_addr == MLX_PF
        # "yes" in the device_spec is stored normalised.
        assert rows[addr].extra_info["trusted"] == "true"
        assert rows[addr].extra_info["physical_network"] == "physnet9"
    physnets = [r.extra_info["physical_network"] for r in rows.values()]
    assert {p: physnets.count(p) for p in set(physnets)} == {
        "physnet0": 129,
        "physnet1": 129,
        "physnet9": 4,
    }

    assert _stored_pools(database) == FULL_POOLS
    _assert_stored_is_memory(database, rt)


def test_refresh_with_nothing_changed_writes_nothing(
    database: api.Database, hosts: Hosts
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    node = database.get_compute_node(HOST, HOST)

    for _ in range(2):
        report = rt.refresh()
        assert not report.sync.changed
        assert report.saved.written == 0
        assert report.devices == len(DEVICES)
    # Not even a timestamp moved.
    assert database.get_compute_node(HOST, HOST) == node

    # A restart on an unchanged host stores nothing new either.
    again = _tracker(database, hosts.driver(DEVICES)).start()
    assert again.refresh.saved.written == 0
    assert database.get_compute_node(HOST, HOST) == node
    assert _stored_pools(database) == FULL_POOLS


# --- the host changes -----------------------------------------------------


def test_vanished_vfs_are_deleted_and_come_back(
    database: api.Database, hosts: Hosts
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    gone = [_vf_addr(PF0, i) for i in range(120, 128)] + [MLX_VFS[0]]

    rt.driver = hosts.without(*gone)
    report = rt.refresh()
    assert sorted(str(a) for a in report.sync.removed) == sorted(gone)
    assert report.sync.kept_in_use == ()
    assert (report.saved.inserted, report.saved.updated) == (0, 0)
    assert report.saved.deleted == len(gone)
    assert report.saved.stats_updated
    rows = _rows(database)
    assert len(rows) == TRACKED - len(gone)
    assert not set(gone) & set(rows)
    assert _stored_pools(database) == _pools(vf0=120, mlx=3)
    _assert_stored_is_memory(database, rt)
    assert rt.refresh().saved.written == 0

    rt.driver = hosts.driver(DEVICES)
    back = rt.refresh()
    assert sorted(str(a) for a in back.sync.added) == sorted(gone)
    assert back.saved.inserted == len(gone)
    assert (back.saved.updated, back.saved.deleted) == (0, 0)
    rows = _rows(database)
    assert len(rows) == TRACKED
    assert rows[_vf_addr(PF0, 127)].extra_info["physical_network"] == (
        "physnet0"
    )
    assert _statuses(rows) == {"available": TRACKED}
    assert _stored_pools(database) == FULL_POOLS
    assert rt.refresh().saved.written == 0


def test_allocated_vf_that_vanishes_is_kept_until_freed(
    database: api.Database, hosts: Hosts
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    request = _vf_request("physnet0")
    (claimed,) = rt.tracker.claim(INSTANCE_A, [request])
    rt.tracker.allocate(INSTANCE_A)
    rt.save()
    used = str(claimed.address)
    assert _rows(database)[used].status == "allocated"
    assert _rows(database)[PF0].status == "unavailable"
    free_sibling = _vf_addr(PF0, 127)
    assert used != free_sibling

    rt.driver = hosts.without(used, free_sibling)
    report = rt.refresh()
    assert [str(a) for a in report.sync.kept_in_use] == [used]
    assert [str(a) for a in report.sync.removed] == [free_sibling]
    assert report.saved.deleted == 1
    assert report.saved.updated == 1  # the kept VF: pending_removal
    rows = _rows(database)
    assert len(rows) == TRACKED - 1
    kept = rows[used]
    assert kept.status == "allocated"
    assert kept.instance_uuid == INSTANCE_A
    assert kept.request_id == request.request_id
    assert kept.extra_info["pending_removal"] == "true"
    assert rows[PF0].status == "unavailable"
    assert _stored_pools(database) == _pools(vf0=126, pf0=0)
    # Stable while it stays allocated: nothing more to write.
    again = rt.refresh()
    assert not again.sync.changed and again.saved.written == 0

    freed = rt.tracker.free(INSTANCE_A)
    assert [str(d.address) for d in freed] == [used]
    saved = rt.save()
    assert saved.deleted == 1
    assert saved.updated == 1  # the PF is available again
    rows = _rows(database)
    assert len(rows) == TRACKED - 2
    assert used not in rows
    assert rows[PF0].status == "available"
    assert _statuses(rows) == {"available": TRACKED - 2}
    assert _stored_pools(database) == _pools(vf0=126)
    _assert_stored_is_memory(database, rt)
    assert rt.refresh().saved.written == 0


def test_periodic_refresh_stores_claims_and_frees_made_since(
    database: api.Database, hosts: Hosts
) -> None:
    """The next refresh persists what changed in memory since the last
    write (the resource tracker promises it for claims: ``_dirty``).

    Without it the stored pools the scheduler reads stay wrong until some
    unrelated inventory change, and a device freed after vanishing stays
    ``allocated`` in the database forever.
    """
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    (claimed,) = rt.tracker.claim(INSTANCE_A, [_vf_request("physnet1")])
    rt.tracker.allocate(INSTANCE_A)

    report = rt.refresh()
    assert report.saved.updated == 2, (
        "a periodic refresh after a claim wrote nothing: the allocated VF "
        "and its PF are still 'available' in the database"
    )
    rows = _rows(database)
    assert rows[str(claimed.address)].status == "allocated"
    assert rows[PF1].status == "unavailable"
    assert _stored_pools(database) == _pools(vf1=127, pf1=0)

    rt.tracker.free(INSTANCE_A)
    report = rt.refresh()
    assert report.saved.updated == 2
    assert _statuses(_rows(database)) == {"available": TRACKED}
    assert _stored_pools(database) == FULL_POOLS


# --- the configuration changes --------------------------------------------


def _retagged_spec() -> list[str]:
    """PF0's entry moved to physnet5 (trusted), PF1's entry dropped."""
    spec = [
        json.dumps(
            {
                "address": PF0,
                "physical_network": "physnet5",
                "trusted": "true",
            }
        )
        if json.loads(value)
        == {
            "address": PF0,
            "physical_network": "physnet0",
        }
        else value
        for value in SPEC
        if json.loads(value)
        != {"address": PF1, "physical_network": "physnet1"}
    ]
    assert len(spec) == len(SPEC) - 1
    return spec


RETAGGED_POOLS: dict[PoolKey, int] = {
    (*INTEL_PF, "physnet5", ("trusted=true",)): 1,
    (*INTEL_VF, "physnet5", ("trusted=true",)): 128,
    (*MLX_VF, "physnet9", ("trusted=true",)): 4,
}


def test_whitelist_change_retags_and_drops_devices(
    database: api.Database, hosts: Hosts
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    _instance(database, INSTANCE_B)
    (on_pf0,) = rt.tracker.claim(INSTANCE_A, [_vf_request("physnet0")])
    (on_pf1,) = rt.tracker.claim(INSTANCE_B, [_vf_request("physnet1")])
    rt.tracker.allocate(INSTANCE_A)
    rt.tracker.allocate(INSTANCE_B)
    rt.save()

    rt.tracker.set_whitelist(Whitelist.from_config(_retagged_spec()))
    report = rt.refresh()
    # PF0 and its VFs: re-tagged.  PF1 and its free VFs: gone; its
    # allocated VF is kept until freed.
    assert len(report.sync.updated) == 129
    assert [str(a) for a in report.sync.kept_in_use] == [str(on_pf1.address)]
    assert len(report.sync.removed) == 128
    assert report.saved.deleted == 128
    assert report.saved.updated == 130
    rows = _rows(database)
    assert len(rows) == 129 + 1 + 4
    for addr in [PF0, *_vfs_of(PF0)]:
        assert rows[addr].extra_info["physical_network"] == "physnet5"
        assert rows[addr].extra_info["trusted"] == "true"
    # Re-tagging does not free: the VF stays with its instance.
    moved = rows[str(on_pf0.address)]
    assert (moved.status, moved.instance_uuid) == ("allocated", INSTANCE_A)
    assert rows[PF0].status == "unavailable"
    kept = rows[str(on_pf1.address)]
    assert (kept.status, kept.instance_uuid) == ("allocated", INSTANCE_B)
    assert kept.extra_info["pending_removal"] == "true"
    assert PF1 not in rows
    assert _stored_pools(database) == {
        (*INTEL_VF, "physnet5", ("trusted=true",)): 127,
        (*MLX_VF, "physnet9", ("trusted=true",)): 4,
    }
    _assert_stored_is_memory(database, rt)
    assert rt.refresh().saved.written == 0


def test_restart_with_a_new_whitelist_retags(
    database: api.Database, hosts: Hosts
) -> None:
    _tracker(database, hosts.driver(DEVICES)).start()

    rt = _tracker(database, hosts.driver(DEVICES), _retagged_spec())
    report = rt.start()
    saved = report.refresh.saved
    assert (saved.inserted, saved.updated, saved.deleted) == (0, 129, 129)
    rows = _rows(database)
    assert len(rows) == 129 + 4
    assert {r.extra_info["physical_network"] for r in rows.values()} == {
        "physnet5",
        "physnet9",
    }
    assert _stored_pools(database) == RETAGGED_POOLS


# --- restart --------------------------------------------------------------


def test_restart_keeps_allocations_and_releases_unknown_claims(
    database: api.Database, hosts: Hosts
) -> None:
    first = _tracker(database, hosts.driver(DEVICES))
    first.start()
    # A: running instance with 2 VFs.  D: a boot in progress recorded in
    # the database (claimed, not yet allocated).  B: a boot that never got
    # its instance row.  C: an instance deleted while the service was
    # down (its row is gone, its VF still allocated).
    _instance(database, INSTANCE_A)
    _instance(database, INSTANCE_D, vm_state="building", task_state="spawning")
    req_a = _vf_request("physnet0", count=2)
    a_devs = first.tracker.claim(INSTANCE_A, [req_a])
    first.tracker.allocate(INSTANCE_A)
    (d_dev,) = first.tracker.claim(INSTANCE_D, [_vf_request("physnet1")])
    (b_dev,) = first.tracker.claim(INSTANCE_B, [_vf_request("physnet1")])
    (c_dev,) = first.tracker.claim(INSTANCE_C, [_vf_request("physnet9")])
    first.tracker.allocate(INSTANCE_C)
    first.save()
    before = _rows(database)
    assert _statuses(before) == {
        "available": TRACKED - 5 - 2,
        "allocated": 3,
        "claimed": 2,
        "unavailable": 1,  # PF0
        "unclaimable": 1,  # PF1
    }

    # The service restarts: new objects, same database and host.
    with api.Database(database.url) as db2:
        second = _tracker(db2, hosts.driver(DEVICES))
        report = second.start()
        assert report.restored == 5
        assert sorted(report.released) == sorted(
            [str(b_dev.address), str(c_dev.address)]
        )
        assert report.missing == report.conflicts == ()
        rows = _rows(db2)
        for dev in a_devs:
            row = rows[str(dev.address)]
            assert (row.status, row.instance_uuid, row.request_id) == (
                "allocated",
                INSTANCE_A,
                req_a.request_id,
            )
        d_row = rows[str(d_dev.address)]
        assert (d_row.status, d_row.instance_uuid) == ("claimed", INSTANCE_D)
        for dev in (b_dev, c_dev):
            row = rows[str(dev.address)]
            assert (row.status, row.instance_uuid, row.request_id) == (
                "available",
                None,
                None,
            )
        assert rows[PF0].status == "unavailable"
        assert rows[PF1].status == "unclaimable"
        assert _statuses(rows) == {
            "available": TRACKED - 5,
            "allocated": 2,
            "claimed": 1,
            "unavailable": 1,
            "unclaimable": 1,
        }
        assert _stored_pools(db2) == _pools(vf0=126, pf0=0, vf1=127, pf1=0)
        _assert_stored_is_memory(db2, second)
        assert set(second.tracker.instances) == {INSTANCE_A, INSTANCE_D}
        # The rebuilt tracker keeps the rules: A's VFs cannot be taken
        # again, and freeing A gives PF0 back once both VFs are free.
        second.tracker.free(INSTANCE_A)
        second.save()
        assert _rows(db2)[PF0].status == "available"
        assert _stored_pools(db2) == _pools(vf1=127, pf1=0)


def test_restart_keeps_allocation_of_a_device_gone_from_the_host(
    database: api.Database, hosts: Hosts
) -> None:
    first = _tracker(database, hosts.driver(DEVICES))
    first.start()
    _instance(database, INSTANCE_A)
    (dev,) = first.tracker.claim(INSTANCE_A, [_vf_request("physnet9")])
    first.tracker.allocate(INSTANCE_A)
    first.save()
    used = str(dev.address)

    before = _rows(database)[used].extra_info

    second = _tracker(database, hosts.without(used))
    report = second.start()
    assert report.missing == (used,)
    assert report.released == ()
    row = _rows(database)[used]
    assert (row.status, row.instance_uuid) == ("allocated", INSTANCE_A)
    # Rebuilt from its row, it keeps its physnet, tags and netdev names.
    assert row.extra_info == {**before, "pending_removal": "true"}
    assert row.extra_info["physical_network"] == "physnet9"
    assert row.extra_info["trusted"] == "true"
    assert _stored_pools(database) == _pools(mlx=3)

    second.tracker.free(INSTANCE_A)
    assert second.save().deleted == 1
    assert used not in _rows(database)
    assert _stored_pools(database) == _pools(mlx=3)


# --- a crash between the tracker sync and the database write --------------


def _fail_next_write(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the next ``Database.save_pci_state`` fail; returns the calls."""
    calls: list[str] = []
    original = api.Database.save_pci_state

    def flaky(
        self: api.Database,
        compute_node_id: int,
        devices: Iterable[PciDeviceRecord],
        pci_stats: str,
        **options: Any,
    ) -> PciSaveResult:
        calls.append("failed" if not calls else "ok")
        if calls[-1] == "failed":
            raise exception.DatabaseError(
                connection=self.masked_url, reason="connection lost (test)"
            )
        return original(self, compute_node_id, devices, pci_stats, **options)

    monkeypatch.setattr(api.Database, "save_pci_state", flaky)
    return calls


def test_failed_write_loses_nothing_and_next_refresh_converges(
    database: api.Database,
    hosts: Hosts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    (claimed,) = rt.tracker.claim(INSTANCE_A, [_vf_request("physnet1")])
    rt.tracker.allocate(INSTANCE_A)
    gone = [_vf_addr(PF0, i) for i in range(120, 128)]
    rt.driver = hosts.without(*gone)
    calls = _fail_next_write(monkeypatch)

    with pytest.raises(exception.DatabaseError, match="connection lost"):
        rt.refresh()
    # The transaction never happened: the stored state is the old one.
    rows = _rows(database)
    assert len(rows) == TRACKED
    assert _statuses(rows) == {"available": TRACKED}
    assert _stored_pools(database) == FULL_POOLS

    # The tracker already synced in memory; the next refresh sees no
    # inventory change but still writes what the database missed.
    report = rt.refresh()
    assert calls == ["failed", "ok"]
    assert not report.sync.changed
    assert report.saved.deleted == len(gone)
    assert report.saved.updated == 2  # the allocated VF and PF1
    assert report.saved.stats_updated
    rows = _rows(database)
    assert len(rows) == TRACKED - len(gone)
    assert rows[str(claimed.address)].status == "allocated"
    assert rows[PF1].status == "unavailable"
    assert _stored_pools(database) == _pools(vf0=120, vf1=127, pf1=0)
    _assert_stored_is_memory(database, rt)
    assert rt.refresh().saved.written == 0


def test_crash_before_write_then_restart_converges(
    database: api.Database,
    hosts: Hosts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    (used,) = rt.tracker.claim(INSTANCE_A, [_vf_request("physnet0")])
    rt.tracker.allocate(INSTANCE_A)
    rt.save()
    gone = [MLX_VFS[1], _vf_addr(PF1, 0)]
    rt.driver = hosts.without(*gone)
    _fail_next_write(monkeypatch)
    with pytest.raises(exception.DatabaseError):
        rt.refresh()
    assert len(_rows(database)) == TRACKED

    # The process dies here; a new one starts on the same database.
    with api.Database(database.url) as db2:
        report = _tracker(db2, hosts.without(*gone)).start()
        assert report.restored == 1 and report.released == ()
        saved = report.refresh.saved
        assert (saved.inserted, saved.updated, saved.deleted) == (0, 0, 2)
        rows = _rows(db2)
        assert len(rows) == TRACKED - 2
        row = rows[str(used.address)]
        assert (row.status, row.instance_uuid) == ("allocated", INSTANCE_A)
        assert _stored_pools(db2) == _pools(vf0=127, pf0=0, vf1=127, mlx=3)
