"""Queries of the ``pci_devices`` table, inside a caller's session.

Rows become :class:`~sriovirt.db.records.PciDeviceRecord` values here
(``extra_info`` JSON text <-> a dict of strings) and nowhere else.
:func:`save_state` writes a node's whole PCI state: it locks the node,
compares the stored rows with what the caller expects (compare-and-swap),
and writes only the differences in bulk.  :func:`save_changes` writes the
few rows a claim, allocation or free changed: its compare-and-swap is the
node's ``pci_generation``, which every write of either kind increments.

This module must not open sessions or commit (the transaction belongs
to :class:`~sriovirt.db.api.Database`), nor decide what the reserved
``extra_info`` keys mean: the dict is carried as it is.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from sriovirt import exception
from sriovirt.db import models
from sriovirt.db.common import chunks, same_json
from sriovirt.db.engine import UnreadableValue
from sriovirt.db.models import ComputeNodeRow, PciDeviceRow
from sriovirt.db.records import PciDeviceRecord, PciSaveResult

#: The columns of pci_devices that PciDeviceRecord carries as they are
#: (``extra_info`` is JSON text in the row, a dict in the record).
_DEVICE_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(PciDeviceRecord)
    if f.name not in ("extra_info", "id", "problem")
)


# --- Row <-> record ---------------------------------------------------------


def _dump_info(info: dict[str, str]) -> str:
    # Sorted keys: the same tags always give the same text.
    return json.dumps(info, sort_keys=True, separators=(",", ":"))


def _load_info(text: str | None, address: str) -> dict[str, str]:
    if not text:
        return {}
    where = f"pci_devices.extra_info of {address}"
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UnreadableValue(f"{where} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise UnreadableValue(f"{where} is not a JSON object: {text[:80]!r}")
    return {str(k): str(v) for k, v in value.items()}


def to_record(row: PciDeviceRow) -> PciDeviceRecord:
    """The row as a record; an unreadable ``extra_info`` is kept as
    ``problem`` (with empty tags) for the caller to report."""
    try:
        info, problem = _load_info(row.extra_info, row.address), None
    except UnreadableValue as error:
        info, problem = {}, str(error)
    return PciDeviceRecord(
        **{name: getattr(row, name) for name in _DEVICE_FIELDS},
        extra_info=info,
        id=row.id,
        problem=problem,
    )


def _values(dev: PciDeviceRecord) -> dict[str, Any]:
    values = {name: getattr(dev, name) for name in _DEVICE_FIELDS}
    values["extra_info"] = _dump_info(dev.extra_info)
    return values


# --- Reading ----------------------------------------------------------------


def generation(session: orm.Session, compute_node_id: int) -> int:
    """The node's ``pci_generation`` (0 when the node does not exist)."""
    value = session.scalar(
        sa.select(ComputeNodeRow.pci_generation).where(
            ComputeNodeRow.id == compute_node_id
        )
    )
    return int(value or 0)


def read(session: orm.Session, compute_node_id: int) -> list[PciDeviceRecord]:
    """The node's rows as stored, ordered by address, with their ids."""
    rows = session.scalars(
        sa.select(PciDeviceRow)
        .where(PciDeviceRow.compute_node_id == compute_node_id)
        .order_by(PciDeviceRow.address)
    )
    return [to_record(row) for row in rows]


# --- Writing the node's PCI state -------------------------------------------


def by_address(
    devices: Iterable[PciDeviceRecord], compute_node_id: int, masked_url: str
) -> dict[str, PciDeviceRecord]:
    """``devices`` keyed by address; DatabaseError if one is twice."""
    wanted: dict[str, PciDeviceRecord] = {}
    for dev in devices:
        if dev.address in wanted:
            raise exception.DatabaseError(
                connection=masked_url,
                reason=f"PCI device {dev.address} given twice for "
                f"compute node {compute_node_id}",
            )
        wanted[dev.address] = dev
    return wanted


@dataclass(slots=True)
class _Writes:
    """The bulk statements that make the stored rows equal the wanted."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deleted_ids: list[int] = field(default_factory=list)


def save_state(
    session: orm.Session,
    masked_url: str,
    compute_node_id: int,
    wanted: dict[str, PciDeviceRecord],
    pci_stats: str,
    *,
    expected: Mapping[str, PciDeviceRecord] | None,
    keep: Collection[str],
) -> PciSaveResult:
    """The body of :meth:`~sriovirt.db.api.Database.save_pci_state`
    (see there); ``wanted`` comes from :func:`by_address`."""
    node = _lock_node(session, compute_node_id, masked_url)
    if node is None:
        raise exception.DatabaseError(
            connection=masked_url,
            reason=f"compute node {compute_node_id} does not exist",
        )
    stored = _stored_rows(session, compute_node_id)
    if expected is not None:
        _compare(node, stored, expected, masked_url)
    for address in keep:
        stored.pop(address, None)
        wanted.pop(address, None)
    now = models.utcnow()
    writes = _diff(compute_node_id, wanted, stored, now)
    return _apply(session, node, writes, pci_stats, now)


def save_changes(
    session: orm.Session,
    masked_url: str,
    compute_node_id: int,
    changed: Mapping[str, PciDeviceRecord | None],
    pci_stats: str,
    *,
    expected_generation: int,
) -> PciSaveResult:
    """Write the rows at the addresses of ``changed`` (None: delete the
    row) and the pools, if the node is still at ``expected_generation``
    (else :class:`~sriovirt.exception.PciStateConflict`, nothing
    written).  Costs what changed, never a read of every row."""
    node = _lock_node(session, compute_node_id, masked_url)
    if node is None:
        raise exception.DatabaseError(
            connection=masked_url,
            reason=f"compute node {compute_node_id} does not exist",
        )
    _check_generation(node, expected_generation, masked_url)
    now = models.utcnow()
    stored = _rows_at(session, compute_node_id, changed)
    wanted = {a: r for a, r in changed.items() if r is not None}
    writes = _diff(compute_node_id, wanted, stored, now)
    # Only the addresses given were read: what is left in ``stored`` is
    # exactly the rows to delete (changed to None).
    return _apply(session, node, writes, pci_stats, now)


def _check_generation(
    node: ComputeNodeRow, expected: int, masked_url: str
) -> None:
    if node.pci_generation != expected:
        raise exception.PciStateConflict(
            connection=masked_url,
            node=f"{node.host}/{node.hypervisor_hostname}",
            reason=f"another process wrote its PCI state since this one "
            f"read it (generation {node.pci_generation}, expected "
            f"{expected}); nothing written, run it again",
        )


def _rows_at(
    session: orm.Session, compute_node_id: int, addresses: Iterable[str]
) -> dict[str, PciDeviceRow]:
    """The node's stored rows at ``addresses`` (those that exist)."""
    return {
        row.address: row
        for chunk in chunks(sorted(addresses))
        for row in session.scalars(
            sa.select(PciDeviceRow).where(
                PciDeviceRow.compute_node_id == compute_node_id,
                PciDeviceRow.address.in_(chunk),
            )
        )
    }


def _apply(
    session: orm.Session,
    node: ComputeNodeRow,
    writes: _Writes,
    pci_stats: str,
    now: datetime.datetime,
) -> PciSaveResult:
    """Run ``writes`` and store the pools; when anything was written,
    increment the node's generation.  What was written, with the
    generation now stored."""
    node_id, old_stats, generation = (
        node.id,
        node.pci_stats,
        node.pci_generation,
    )
    # The ORM objects loaded before would be stale after bulk
    # statements; nothing reads them again.
    session.expunge_all()
    _write(session, writes)
    stats_updated = _write_stats(session, node_id, old_stats, pci_stats, now)
    result = PciSaveResult(
        inserted=len(writes.inserts),
        updated=len(writes.updates),
        deleted=len(writes.deleted_ids),
        stats_updated=stats_updated,
    )
    if result.written:
        generation += 1
        session.execute(
            sa.update(ComputeNodeRow)
            .where(ComputeNodeRow.id == node_id)
            .values(pci_generation=generation)
        )
    return dataclasses.replace(result, generation=generation)


def _stored_rows(
    session: orm.Session, compute_node_id: int
) -> dict[str, PciDeviceRow]:
    return {
        row.address: row
        for row in session.scalars(
            sa.select(PciDeviceRow).where(
                PciDeviceRow.compute_node_id == compute_node_id
            )
        )
    }


def _diff(
    compute_node_id: int,
    wanted: Mapping[str, PciDeviceRecord],
    stored: dict[str, PciDeviceRow],
    now: datetime.datetime,
) -> _Writes:
    """Inserts of new addresses, updates of changed rows, deletes of the
    stored rows not wanted (``stored`` is emptied of the wanted ones)."""
    writes = _Writes()
    for address, dev in wanted.items():
        row = stored.pop(address, None)
        if row is None:
            values = _values(dev)
            values.update(compute_node_id=compute_node_id, created_at=now)
            writes.inserts.append(values)
        elif to_record(row) != dev:
            values = _values(dev)
            values.update(id=row.id, updated_at=now)
            writes.updates.append(values)
    # What is left in ``stored`` was not given: gone from the host.
    writes.deleted_ids = [row.id for row in stored.values()]
    return writes


def _write(session: orm.Session, writes: _Writes) -> None:
    for chunk in chunks(writes.inserts):
        session.execute(sa.insert(PciDeviceRow), list(chunk))
    for chunk in chunks(writes.updates):
        session.execute(sa.update(PciDeviceRow), list(chunk))
    for chunk in chunks(writes.deleted_ids):
        session.execute(
            sa.delete(PciDeviceRow).where(PciDeviceRow.id.in_(chunk))
        )


def _write_stats(
    session: orm.Session,
    compute_node_id: int,
    old: str | None,
    new: str,
    now: datetime.datetime,
) -> bool:
    """Store the node's pools if they changed; whether they did."""
    if same_json(old, new):
        return False
    session.execute(
        sa.update(ComputeNodeRow)
        .where(ComputeNodeRow.id == compute_node_id)
        .values(pci_stats=new, updated_at=now)
    )
    return True


def _lock_node(
    session: orm.Session, compute_node_id: int, masked_url: str
) -> ComputeNodeRow | None:
    """The node's row, locked against other writers until commit."""
    try:
        if session.get_bind().dialect.name == "sqlite":
            # pysqlite opens a transaction only at the first write,
            # so two writers would both read the old rows and the
            # second would fail on the unique address.  BEGIN
            # IMMEDIATE takes the write lock before anything is read
            # (a second writer waits for it, up to the busy
            # timeout).
            session.execute(sa.text("BEGIN IMMEDIATE"))
            return session.get(ComputeNodeRow, compute_node_id)
        return session.scalars(
            sa.select(ComputeNodeRow)
            .where(ComputeNodeRow.id == compute_node_id)
            .with_for_update()
        ).one_or_none()
    except exc.OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        raise exception.PciStateConflict(
            connection=masked_url,
            node=compute_node_id,
            reason="another process (a concurrent `sriovirt pci "
            "refresh` or the compute service) held the database "
            "lock for too long; run it again",
        ) from None


def _compare(
    node: ComputeNodeRow,
    stored: Mapping[str, PciDeviceRow],
    expected: Mapping[str, PciDeviceRecord],
    masked_url: str,
) -> None:
    """Raise PciStateConflict unless ``stored`` equals ``expected``."""
    differ = sorted(
        address
        for address in stored.keys() | expected.keys()
        if address not in stored
        or address not in expected
        or to_record(stored[address]) != expected[address]
    )
    if differ:
        raise exception.PciStateConflict(
            connection=masked_url,
            node=f"{node.host}/{node.hypervisor_hostname}",
            reason=f"another process (a concurrent `sriovirt pci "
            f"refresh` or the compute service) changed its "
            f"pci_devices rows since this one read them "
            f"({len(differ)} differ, first {differ[0]}); nothing "
            "written, run it again",
        )
