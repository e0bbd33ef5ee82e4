"""Queries of the ``instances`` and ``instance_pci_requests`` tables,
inside a caller's session.

Instances come back as :class:`~sriovirt.db.records.InstanceRecord`
values; an instance's PCI requests are JSON text whose format the objects
layer owns.

This module must not open sessions or commit (the transaction belongs
to :class:`~sriovirt.db.api.Database`), nor parse the JSON it stores.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlalchemy import orm

from sriovirt.db.common import chunks, same_json
from sriovirt.db.models import InstancePciRequestsRow, InstanceRow
from sriovirt.db.records import InstanceRecord


def to_record(row: InstanceRow) -> InstanceRecord:
    return InstanceRecord(
        uuid=row.uuid,
        host=row.host,
        node=row.node,
        vm_state=row.vm_state,
        task_state=row.task_state,
        flavor=row.flavor,
        image=row.image,
        name=row.display_name,
        requested_networks=row.requested_networks,
        domain_xml=row.domain_xml,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create(
    session: orm.Session, instance: InstanceRecord, pci_requests: str | None
) -> InstanceRecord:
    row = InstanceRow(
        uuid=instance.uuid,
        host=instance.host,
        node=instance.node,
        vm_state=instance.vm_state,
        task_state=instance.task_state,
        flavor=instance.flavor,
        image=instance.image,
        display_name=instance.name,
        requested_networks=instance.requested_networks,
        domain_xml=instance.domain_xml,
    )
    session.add(row)
    # No ORM relationship orders the inserts: the parent first.
    session.flush()
    if pci_requests is not None:
        session.add(
            InstancePciRequestsRow(
                instance_uuid=instance.uuid, requests=pci_requests
            )
        )
    session.flush()
    return to_record(row)


def get(session: orm.Session, uuid: str) -> InstanceRecord | None:
    row = session.get(InstanceRow, uuid)
    return to_record(row) if row is not None else None


def by_name(
    session: orm.Session, host: str, name: str
) -> InstanceRecord | None:
    row = session.scalars(
        sa.select(InstanceRow).where(
            InstanceRow.host == host, InstanceRow.display_name == name
        )
    ).one_or_none()
    return to_record(row) if row is not None else None


def by_host(
    session: orm.Session, host: str, node: str | None
) -> list[InstanceRecord]:
    query = sa.select(InstanceRow).where(InstanceRow.host == host)
    if node is not None:
        query = query.where(InstanceRow.node == node)
    rows = session.scalars(query.order_by(InstanceRow.uuid))
    return [to_record(row) for row in rows]


def by_name_on_hosts(
    session: orm.Session, name: str, hosts: Collection[str]
) -> list[InstanceRecord]:
    """The instances named ``name`` on any of ``hosts``, by host: one
    query per :data:`~sriovirt.db.common.CHUNK` hosts, on the (host,
    name) unique index."""
    found: list[InstanceRecord] = []
    for chunk in chunks(sorted(hosts)):
        rows = session.scalars(
            sa.select(InstanceRow).where(
                InstanceRow.host.in_(chunk), InstanceRow.display_name == name
            )
        )
        found.extend(to_record(row) for row in rows)
    return sorted(found, key=lambda r: r.host or "")


def by_hosts(
    session: orm.Session, hosts: Collection[str]
) -> list[InstanceRecord]:
    """The instances of any of ``hosts``, by host then uuid: one query
    per :data:`~sriovirt.db.common.CHUNK` hosts, on the host index."""
    found: list[InstanceRecord] = []
    for chunk in chunks(sorted(hosts)):
        rows = session.scalars(
            sa.select(InstanceRow).where(InstanceRow.host.in_(chunk))
        )
        found.extend(to_record(row) for row in rows)
    return sorted(found, key=lambda r: (r.host or "", r.uuid))


def update(
    session: orm.Session,
    uuid: str,
    *,
    vm_state: str | None,
    task_state: str | None,
    clear_task_state: bool,
    host: str | None,
    node: str | None,
    domain_xml: str | None = None,
) -> InstanceRecord | None:
    """Change the given fields; None if the instance does not exist."""
    row = session.get(InstanceRow, uuid)
    if row is None:
        return None
    if vm_state is not None:
        row.vm_state = vm_state
    if task_state is not None or clear_task_state:
        row.task_state = task_state
    if host is not None:
        row.host = host
    if node is not None:
        row.node = node
    if domain_xml is not None:
        row.domain_xml = domain_xml
    session.flush()
    return to_record(row)


def delete(session: orm.Session, uuid: str) -> bool:
    # Explicit child delete: do not rely on the backend's cascade
    # (SQLite connections made elsewhere may not enforce FKs).
    session.execute(
        sa.delete(InstancePciRequestsRow).where(
            InstancePciRequestsRow.instance_uuid == uuid
        )
    )
    result = session.execute(
        sa.delete(InstanceRow).where(InstanceRow.uuid == uuid)
    )
    return bool(getattr(result, "rowcount", 0))


def save_pci_requests(
    session: orm.Session, instance_uuid: str, requests: str
) -> None:
    row = session.scalars(
        sa.select(InstancePciRequestsRow).where(
            InstancePciRequestsRow.instance_uuid == instance_uuid
        )
    ).one_or_none()
    if row is None:
        session.add(
            InstancePciRequestsRow(
                instance_uuid=instance_uuid, requests=requests
            )
        )
    elif not same_json(row.requests, requests):
        row.requests = requests


def pci_requests_by_instances(
    session: orm.Session, instance_uuids: Iterable[str]
) -> dict[str, str]:
    uuids = sorted(set(instance_uuids))
    found: dict[str, str] = {}
    for chunk in chunks(uuids):
        rows = session.scalars(
            sa.select(InstancePciRequestsRow).where(
                InstancePciRequestsRow.instance_uuid.in_(chunk)
            )
        )
        found.update((row.instance_uuid, row.requests) for row in rows)
    return found
