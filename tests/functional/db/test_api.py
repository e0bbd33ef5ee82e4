"""Query functions of sriovirt.db.api on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sriovirt import exception
from sriovirt.db import api, models
from sriovirt.db.records import InstanceRecord, PciDeviceRecord

INSTANCE = "6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d11"
REQUEST = "0b4c7c3e-39e7-4c1b-8f55-1a0f1a1e2f3a"
STATS = '[{"count": 2, "numa_node": 0, "product_id": "1515", '
STATS += '"tags": {"dev_type": "type-VF"}, "vendor_id": "8086"}]'


@pytest.fixture
def db(db_url: str) -> Iterator[api.Database]:
    api.sync(db_url)
    database = api.Database(db_url)
    database.check_synced()
    yield database
    database.close()


def _devices(n: int) -> list[PciDeviceRecord]:
    pf = PciDeviceRecord(
        address="0000:81:00.0",
        vendor_id="8086",
        product_id="1528",
        dev_type="type-PF",
        status="unavailable",
        extra_info={"physical_network": "physnet1"},
    )
    vfs = [
        PciDeviceRecord(
            address=f"0000:81:{0x10 + i // 8:02x}.{i % 8}",
            vendor_id="8086",
            product_id="1515",
            dev_type="type-VF",
            status="available",
            parent_addr="0000:81:00.0",
            numa_node=0,
            extra_info={"physical_network": "physnet1"},
        )
        for i in range(n)
    ]
    return [pf, *vfs]


def test_get_or_create_compute_node(db: api.Database) -> None:
    assert db.get_compute_node("h1", "h1.example") is None
    node = db.get_or_create_compute_node("h1", "h1.example")
    again = db.get_or_create_compute_node("h1", "h1.example")
    assert again.id == node.id and again.uuid == node.uuid
    other = db.get_or_create_compute_node("h1", "h1-other")
    assert other.id != node.id
    assert node.pci_stats is None


def test_save_pci_state_writes_only_differences(db: api.Database) -> None:
    node = db.get_or_create_compute_node("h1", "h1")
    devices = _devices(20)
    first = db.save_pci_state(node.id, devices, STATS)
    assert (first.inserted, first.updated, first.deleted) == (21, 0, 0)
    assert first.stats_updated
    assert db.get_pci_devices(node.id) == sorted(
        devices, key=lambda d: d.address
    )

    # The same state again: nothing written.
    assert db.save_pci_state(node.id, devices, STATS).written == 0
    # Same pools, other key order: still nothing.
    reordered = (
        '[{"vendor_id": "8086", "product_id": "1515", "numa_node": 0, '
        '"count": 2, "tags": {"dev_type": "type-VF"}}]'
    )
    assert db.save_pci_state(node.id, devices, reordered).written == 0

    # One claimed, one gone, one new.
    changed = list(devices)
    changed[1] = dataclasses.replace(
        changed[1],
        status="claimed",
        instance_uuid=INSTANCE,
        request_id=REQUEST,
    )
    del changed[2]
    changed.append(dataclasses.replace(devices[3], address="0000:82:00.1"))
    result = db.save_pci_state(node.id, changed, "[]")
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 1)
    assert result.stats_updated and result.written == 4
    stored = {d.address: d for d in db.get_pci_devices(node.id)}
    assert stored[changed[1].address].request_id == REQUEST
    assert devices[2].address not in stored
    assert "0000:82:00.1" in stored
    stored_node = db.get_compute_node("h1", "h1")
    assert stored_node is not None and stored_node.pci_stats == "[]"


def test_save_pci_changes_writes_only_the_given_rows_at_its_generation(
    db: api.Database,
) -> None:
    node = db.get_or_create_compute_node("h1", "h1")
    devices = _devices(20)
    assert db.read_pci_state(node.id) == ([], 0)
    first = db.save_pci_state(node.id, devices, STATS)
    assert first.generation == 1
    # Nothing written: the generation stays.
    assert db.save_pci_state(node.id, devices, STATS).generation == 1

    claimed = dataclasses.replace(
        devices[1],
        status="claimed",
        instance_uuid=INSTANCE,
        request_id=REQUEST,
    )
    result = db.save_pci_changes(
        node.id,
        {claimed.address: claimed, devices[2].address: None},
        "[]",
        expected_generation=1,
    )
    assert (result.updated, result.deleted, result.generation) == (1, 1, 2)
    rows, generation = db.read_pci_state(node.id)
    assert generation == 2
    stored = {r.address: r for r in rows}
    assert stored[claimed.address].request_id == REQUEST
    assert devices[2].address not in stored
    assert len(stored) == 20

    # A writer that read generation 1 is refused, nothing written.
    other = dataclasses.replace(
        devices[3], status="claimed", instance_uuid=REQUEST
    )
    with pytest.raises(exception.PciStateConflict, match="generation 2"):
        db.save_pci_changes(
            node.id, {other.address: other}, STATS, expected_generation=1
        )
    rows, generation = db.read_pci_state(node.id)
    assert generation == 2
    assert {r.address: r for r in rows}[other.address] == devices[3]
    # A whole save bumps it too, so a small one after it is refused.
    db.save_pci_state(node.id, devices, STATS)
    with pytest.raises(exception.PciStateConflict):
        db.save_pci_changes(
            node.id, {other.address: other}, STATS, expected_generation=2
        )


def test_save_pci_state_is_per_node(db: api.Database) -> None:
    one = db.get_or_create_compute_node("h1", "h1")
    two = db.get_or_create_compute_node("h2", "h2")
    db.save_pci_state(one.id, _devices(2), STATS)
    db.save_pci_state(two.id, _devices(1), STATS)
    assert len(db.get_pci_devices(one.id)) == 3
    assert len(db.get_pci_devices(two.id)) == 2
    assert db.save_pci_state(one.id, [], "[]").deleted == 3
    assert len(db.get_pci_devices(two.id)) == 2


def test_save_pci_state_many_devices(db: api.Database) -> None:
    # More rows than one bulk chunk, in every direction.
    node = db.get_or_create_compute_node("h1", "h1")
    devices = _devices(1200)
    assert db.save_pci_state(node.id, devices, STATS).inserted == 1201
    freed = [dataclasses.replace(d, status="reserved") for d in devices]
    assert db.save_pci_state(node.id, freed, STATS).updated == 1201
    assert db.save_pci_state(node.id, freed, STATS).written == 0
    assert db.save_pci_state(node.id, [], STATS).deleted == 1201


def test_save_pci_state_rejects_duplicates_and_unknown_node(
    db: api.Database,
) -> None:
    node = db.get_or_create_compute_node("h1", "h1")
    devices = _devices(1)
    with pytest.raises(exception.DatabaseError, match="given twice"):
        db.save_pci_state(node.id, [*devices, devices[0]], STATS)
    with pytest.raises(exception.DatabaseError, match="does not exist"):
        db.save_pci_state(node.id + 100, devices, STATS)
    assert db.get_pci_devices(node.id) == []


def test_save_pci_state_is_one_transaction(db: api.Database) -> None:
    node = db.get_or_create_compute_node("h1", "h1")
    before = _devices(3)
    db.save_pci_state(node.id, before, STATS)
    # Inserts run first and succeed; the update then violates NOT NULL:
    # nothing of the save may remain.
    broken = dataclasses.replace(before[1], status=None)  # type: ignore[arg-type]
    after = [before[0], broken, before[2], *_devices(6)[4:]]
    with pytest.raises(exception.DatabaseError, match="Database error on"):
        db.save_pci_state(node.id, after, "[]")
    assert db.get_pci_devices(node.id) == sorted(
        before, key=lambda d: d.address
    )
    stored = db.get_compute_node("h1", "h1")
    assert stored is not None and stored.pci_stats == STATS


def test_instances_and_pci_requests(db: api.Database) -> None:
    record = InstanceRecord(
        uuid=INSTANCE,
        vm_state="building",
        host="h1",
        node="h1",
        task_state="spawning",
        flavor='{"name": "m1.small"}',
        image='{"properties": {}}',
    )
    created = db.create_instance(record, pci_requests='[{"count": 1}]')
    assert created.created_at is not None
    assert db.get_instance_pci_requests(INSTANCE) == '[{"count": 1}]'
    db.create_instance(
        InstanceRecord(
            uuid="11111111-2222-3333-4444-555555555555",
            vm_state="active",
            host="h2",
        )
    )
    active = db.update_instance(
        INSTANCE, vm_state="active", clear_task_state=True
    )
    assert (active.vm_state, active.task_state) == ("active", None)
    on_host = db.get_instances_by_host("h1")
    assert [i.uuid for i in on_host] == [INSTANCE]
    assert on_host[0].flavor == '{"name": "m1.small"}'
    assert db.get_instances_by_host("h1", node="other") == []

    db.save_instance_pci_requests(INSTANCE, '[{"count": 2}]')
    assert db.get_pci_requests_by_instances(
        [INSTANCE, "11111111-2222-3333-4444-555555555555"]
    ) == {INSTANCE: '[{"count": 2}]'}

    assert db.delete_instance(INSTANCE)
    assert not db.delete_instance(INSTANCE)
    assert db.get_instance(INSTANCE) is None
    assert db.get_instance_pci_requests(INSTANCE) is None
    with pytest.raises(exception.DatabaseError, match="does not exist"):
        db.update_instance(INSTANCE, vm_state="active")


def test_duplicate_instance_is_a_database_error(db: api.Database) -> None:
    record = InstanceRecord(uuid=INSTANCE, vm_state="building")
    db.create_instance(record)
    with pytest.raises(exception.DatabaseError) as info:
        db.create_instance(record)
    assert "Database error on" in str(info.value)


def test_pci_requests_need_an_instance(db: api.Database) -> None:
    # Foreign keys are enforced on SQLite too.
    with pytest.raises(exception.DatabaseError):
        db.save_instance_pci_requests(INSTANCE, "[]")


@pytest.mark.parametrize("stored", ["[1", '["not", "an object"]'])
def test_unreadable_extra_info_is_a_database_error(
    db: api.Database, stored: str
) -> None:
    # A row edited by hand: one DatabaseError naming the database, the
    # column and the device, never a bare JSON error (a traceback in
    # `sriovirt pci list`).
    node = db.get_or_create_compute_node("h1", "h1")
    devices = _devices(1)
    db.save_pci_state(node.id, devices, STATS)
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(models.PciDeviceRow)
            .where(models.PciDeviceRow.address == devices[1].address)
            .values(extra_info=stored)
        )
    with pytest.raises(exception.DatabaseError) as info:
        db.get_pci_devices(node.id)
    text = str(info.value)
    assert text.startswith(f"Database error on {db.masked_url}: ")
    assert f"pci_devices.extra_info of {devices[1].address} is not " in text

    # The resource tracker's read reports it instead, row id and all.
    records = {r.address: r for r in db.read_pci_devices(node.id)}
    bad = records[devices[1].address]
    assert bad.id is not None and bad.extra_info == {}
    assert bad.problem is not None and bad.problem in text
    assert records[devices[0].address].problem is None

    # Kept rows are left alone; an explicit save rewrites the row.
    kept = db.save_pci_state(node.id, devices, STATS, keep=[bad.address])
    assert kept.written == 0
    assert db.save_pci_state(node.id, devices, STATS).updated == 1
    assert db.get_pci_devices(node.id) == devices
