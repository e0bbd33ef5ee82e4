"""The resource tracker on its own: a fake inventory, a SQLite file.

The driver double gives only what the tracker reads of a hypervisor (the
node name and the PCI inventory); the whitelist, the PCI tracker, the
objects layer and the database are the real ones, so every test checks
what is *stored*.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa

from sriovirt import exception
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.db.records import InstanceRecord, PciDeviceRecord
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt import driver as virt_driver
from tests.doubles import NoGuests

HOST = "unit-host"
A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
PF = ("0000:10:00.0", "0000:11:00.0")
SPEC = [
    json.dumps({"address": PF[0], "physical_network": "physnet0"}),
    json.dumps({"address": PF[1], "physical_network": "physnet1"}),
]
#: 2 PFs x 4 VFs; the NVMe drive matches no entry.
TRACKED = 10


def vf(pf: int, i: int) -> str:
    return f"0000:{0x10 + pf:02x}:02.{i}"


def _devices() -> list[HostPciDevice]:
    out: list[HostPciDevice] = []
    for n, pf in enumerate(PF):
        out.append(
            HostPciDevice(
                address=PciAddress.parse(pf),
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=0,
                ifname=f"ens{n}",
            )
        )
        out += [
            HostPciDevice(
                address=PciAddress.parse(vf(n, i)),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=PciAddress.parse(pf),
                numa_node=0,
                ifname=f"ens{n}v{i}",
                parent_ifname=f"ens{n}",
            )
            for i in range(4)
        ]
    out.append(
        HostPciDevice(
            address=PciAddress.parse("0000:3b:00.0"),
            vendor_id="8086",
            product_id="0953",
            dev_type=DevType.PCI,
        )
    )
    return out


class FakeDriver(NoGuests):
    """The inventory part of a hypervisor, and nothing else."""

    def __init__(
        self,
        devices: Sequence[HostPciDevice],
        skipped: Sequence[str] = (),
    ) -> None:
        self.devices = list(devices)
        self.skipped = tuple(skipped)
        self.reads = 0

    def nodename(self) -> str:
        return HOST

    def pci_inventory(self) -> virt_driver.PciInventory:
        self.reads += 1
        return virt_driver.PciInventory(list(self.devices), self.skipped)

    def traits(self) -> dict[str, bool]:  # pragma: no cover - not read
        raise AssertionError("the resource tracker reads no traits")


@pytest.fixture
def url(tmp_path: pathlib.Path) -> str:
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    api.sync(url)
    return url


@pytest.fixture
def db(url: str) -> Iterator[api.Database]:
    with api.Database(url) as database:
        yield database


def _rt(db: api.Database, driver: FakeDriver | None = None) -> ResourceTracker:
    return ResourceTracker(
        HOST,
        driver or FakeDriver(_devices()),
        db,
        Whitelist.from_config(SPEC),
    )


def _rows(db: api.Database) -> dict[str, PciDeviceRecord]:
    node = db.get_compute_node(HOST, HOST)
    assert node is not None
    return {r.address: r for r in db.read_pci_devices(node.id)}


def _pool_counts(db: api.Database) -> dict[tuple[str, str], int]:
    node = db.get_compute_node(HOST, HOST)
    assert node is not None and node.pci_stats is not None
    return {
        (p["tags"]["dev_type"], p["tags"]["physical_network"]): p["count"]
        for p in json.loads(node.pci_stats)
    }


def _instance(db: api.Database, uuid: str) -> None:
    db.create_instance(
        InstanceRecord(uuid=uuid, vm_state="active", host=HOST, node=HOST)
    )


def _vf_request(physnet: str) -> PciRequest:
    return PciRequest(count=1, spec=[{"physical_network": physnet}])


def _edit_row(url: str, where: str, **values: str) -> None:
    """Change the row at address ``where`` behind the tracker's back."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            sets = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(
                sa.text(f"UPDATE pci_devices SET {sets} WHERE address = :w"),
                {**values, "w": where},
            )
    finally:
        engine.dispose()


# --- start and refresh --------------------------------------------------


def test_start_report_and_stored_state(db: api.Database) -> None:
    driver = FakeDriver(_devices(), skipped=("0000:99:00.0: odd (test)",))
    report = _rt(db, driver).start()

    assert (report.restored, report.released, report.conflicts) == (
        0,
        (),
        (),
    )
    refresh = report.refresh
    assert refresh.devices == TRACKED + 1
    assert refresh.skipped == ("0000:99:00.0: odd (test)",)
    assert len(refresh.sync.added) == TRACKED
    saved = refresh.saved
    assert (saved.inserted, saved.updated, saved.deleted) == (TRACKED, 0, 0)
    assert saved.stats_updated
    rows = _rows(db)
    assert set(rows) == {*PF, *(vf(n, i) for n in (0, 1) for i in range(4))}
    assert rows[vf(1, 2)].extra_info["physical_network"] == "physnet1"
    assert rows[vf(1, 2)].extra_info["ifname"] == "ens1v2"
    assert _pool_counts(db) == {
        ("type-PF", "physnet0"): 1,
        ("type-PF", "physnet1"): 1,
        ("type-VF", "physnet0"): 4,
        ("type-VF", "physnet1"): 4,
    }


def test_nothing_changed_writes_nothing(db: api.Database) -> None:
    rt = _rt(db)
    rt.start()
    node_before = db.get_compute_node(HOST, HOST)
    rows_before = _rows(db)

    report = rt.refresh()
    assert not report.sync.changed
    assert report.saved.written == 0 and report.db_ms == 0.0
    # A second process starting on the same state writes nothing either.
    again = _rt(db).start().refresh.saved
    assert again.written == 0
    assert db.get_compute_node(HOST, HOST) == node_before
    after = _rows(db)
    assert after == rows_before
    assert {a: r.id for a, r in after.items()} == {
        a: r.id for a, r in rows_before.items()
    }


def test_refresh_follows_the_inventory(db: api.Database) -> None:
    driver = FakeDriver(_devices())
    rt = _rt(db, driver)
    rt.start()
    gone = vf(0, 3)
    driver.devices = [d for d in driver.devices if str(d.address) != gone]

    report = rt.refresh()
    assert report.sync.removed == (PciAddress.parse(gone),)
    assert (report.saved.deleted, report.saved.stats_updated) == (1, True)
    assert gone not in _rows(db)
    assert _pool_counts(db)[("type-VF", "physnet0")] == 3


def test_start_restores_allocations_and_releases_stale_claims(
    db: api.Database,
) -> None:
    rt = _rt(db)
    rt.start()
    _instance(db, A)
    (kept,) = rt.tracker.claim(A, [_vf_request("physnet0")])
    rt.tracker.allocate(A)
    # B's boot never finished: claimed, no instance recorded.
    (stale,) = rt.tracker.claim(B, [_vf_request("physnet1")])
    assert rt.save().updated == 4  # two VFs and their PFs
    assert _rows(db)[str(stale.address)].status == "claimed"

    report = _rt(db).start()
    assert report.restored == 2
    assert report.released == (str(stale.address),)
    rows = _rows(db)
    assert (
        rows[str(kept.address)].status,
        rows[str(kept.address)].instance_uuid,
    ) == ("allocated", A)
    assert rows[str(stale.address)].status == "available"
    assert rows[str(stale.address)].instance_uuid is None
    assert rows[PF[0]].status == "unavailable"
    assert rows[PF[1]].status == "available"
    assert _pool_counts(db) == {
        ("type-PF", "physnet1"): 1,
        ("type-VF", "physnet0"): 3,
        ("type-VF", "physnet1"): 4,
    }


def test_start_with_given_live_instances_releases_the_rest(
    db: api.Database,
) -> None:
    rt = _rt(db)
    rt.start()
    _instance(db, A)
    rt.tracker.claim(A, [_vf_request("physnet0")])
    rt.tracker.allocate(A)
    rt.save()
    # The hypervisor says A is gone although the database still has it.
    report = _rt(db).start(live_instances=[])
    assert len(report.released) == 1
    assert {r.status for r in _rows(db).values()} == {"available"}


# --- unreadable rows (issue 7, 2.6) ---------------------------------------


@pytest.mark.parametrize(
    ("address", "values", "reason"),
    [
        (
            vf(0, 1),
            {"status": "bogus"},
            "status 'bogus' is not one of available, claimed",
        ),
        (
            vf(0, 1),
            {"dev_type": "type-XX"},
            "dev_type 'type-XX' is not one of type-PF, type-VF, type-PCI",
        ),
        (
            vf(0, 1),
            {"extra_info": "[1"},
            f"pci_devices.extra_info of {vf(0, 1)} is not JSON",
        ),
        (
            vf(0, 1),
            {"parent_addr": "zz"},
            "parent_addr: Invalid PCI address 'zz'",
        ),
        # Checked by the resource tracker itself, no longer by asking the
        # versioned object (which said "Malformed PCI address 0:10:0.0").
        (
            vf(0, 1),
            {"parent_addr": "0:10:0.0"},
            f"parent_addr '0:10:0.0' is not written as {PF[0]} (dddd:bb:ss.f)",
        ),
    ],
)
def test_unreadable_row_is_reported_kept_and_its_device_withheld(
    url: str,
    db: api.Database,
    address: str,
    values: dict[str, str],
    reason: str,
) -> None:
    _rt(db).start()
    _edit_row(url, address, instance_uuid=A, **values)
    before = _rows(db)[address]

    rt = _rt(db)
    report = rt.start()
    (conflict,) = report.conflicts
    assert conflict.startswith(
        f"pci_devices row {before.id} (address {address!r}) of compute "
        f"node {HOST}/{HOST} cannot be read: {reason}"
    )
    assert "left as stored and its device withheld" in conflict
    assert f"names instance {A}" in conflict
    # Withheld with its PF; every other device works.
    tracked = {str(d.address) for d in rt.tracker.devices}
    assert address not in tracked and PF[0] not in tracked
    assert len(tracked) == TRACKED - 2
    assert report.refresh.skipped == (
        f"{PF[0]}: withheld: the row of its VF {address} is unreadable",
        f"{address}: withheld: its pci_devices row is unreadable",
    )
    (claimed,) = rt.tracker.claim(B, [_vf_request("physnet0")])
    rt.save()
    assert rt.refresh().saved.written == 0

    rows = _rows(db)
    after = rows[address]
    # Never rewritten nor deleted.
    assert (after.id, after.status, after.dev_type, after.instance_uuid) == (
        before.id,
        values.get("status", "available"),
        values.get("dev_type", "type-VF"),
        A,
    )
    assert PF[0] not in rows  # readable, free: comes back when fixed
    assert rows[str(claimed.address)].instance_uuid == B
    assert _pool_counts(db)[("type-VF", "physnet0")] == 2


def test_unreadable_address_is_reported_and_the_rest_works(
    url: str, db: api.Database
) -> None:
    _rt(db).start()
    _edit_row(url, vf(1, 0), address="zzzz")
    rt = _rt(db)
    report = rt.start()
    (conflict,) = report.conflicts
    assert "(address 'zzzz')" in conflict
    assert "address: Invalid PCI address 'zzzz'" in conflict
    # The device itself is on the host again under its real address.
    assert report.refresh.saved.inserted == 1
    rows = _rows(db)
    assert "zzzz" in rows and vf(1, 0) in rows
    assert len(rows) == TRACKED + 1


def test_fixed_row_is_used_again(url: str, db: api.Database) -> None:
    _rt(db).start()
    _edit_row(url, vf(0, 1), status="bogus")
    assert _rt(db).start().conflicts
    _edit_row(url, vf(0, 1), status="available")
    report = _rt(db).start()
    assert report.conflicts == ()
    assert report.refresh.saved.inserted == 1  # the PF is back
    assert len(_rows(db)) == TRACKED


# --- one writer at a time (issue 7, 2.10) ---------------------------------


def test_write_after_another_writer_is_refused_with_nothing_written(
    db: api.Database,
) -> None:
    first = _rt(db)
    first.start()
    second = _rt(db)
    second.start()
    _instance(db, A)
    (mine,) = first.tracker.claim(A, [_vf_request("physnet0")])
    first.save()

    driver = second.driver
    assert isinstance(driver, FakeDriver)
    driver.devices = [d for d in driver.devices if str(d.address) != vf(1, 3)]
    with pytest.raises(exception.PciStateConflict) as info:
        second.refresh()
    text = str(info.value)
    assert text.startswith(
        f"PCI state of compute node {HOST}/{HOST} was not written: "
        "another process (a concurrent `sriovirt pci refresh` or the "
        "compute service) changed its pci_devices rows since this one "
        "read them (2 differ, first "
    )
    assert "\n" not in text
    rows = _rows(db)
    assert rows[str(mine.address)].instance_uuid == A
    assert vf(1, 3) in rows


def test_start_rebuilds_when_another_writer_got_in_first(
    db: api.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rt(db).start()
    _instance(db, A)
    other = _rt(db)
    other.start()
    rt = _rt(db)
    original = api.Database.read_pci_state
    reads: list[int] = []

    def read_then_other_writes(
        self: api.Database, compute_node_id: int
    ) -> tuple[list[PciDeviceRecord], int]:
        found = original(self, compute_node_id)
        reads.append(len(found[0]))
        if len(reads) == 1:
            # Between this read and the write: another process claims.
            other.tracker.claim(A, [_vf_request("physnet1")])
            other.tracker.allocate(A)
            other.save()
        return found

    monkeypatch.setattr(api.Database, "read_pci_state", read_then_other_writes)
    report = rt.start()
    assert reads == [TRACKED, TRACKED]
    assert report.restored == 1 and report.released == ()
    assert report.refresh.saved.written == 0
    statuses = {a: r.status for a, r in _rows(db).items()}
    assert sorted(statuses.values()).count("allocated") == 1
    assert statuses[PF[1]] == "unavailable"


def test_start_gives_up_after_repeated_conflicts(
    db: api.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _rt(db)

    def always(*args: object, **kwargs: object) -> None:
        raise exception.PciStateConflict(node="n", reason="busy (test)")

    monkeypatch.setattr(api.Database, "save_pci_state", always)
    with pytest.raises(exception.PciStateConflict, match="busy"):
        rt.start()
