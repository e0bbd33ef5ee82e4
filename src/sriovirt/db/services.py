"""The ``services`` table: one row per service on a host, its heartbeat
and whether an operator disabled it; and :class:`ServiceRecord`, its
value.

A service writes :func:`heartbeat` every ``[DEFAULT] report_interval``
seconds; it is up while its last heartbeat is younger than ``[DEFAULT]
service_down_time`` (:meth:`ServiceRecord.is_up`, the caller passes
both "now" and the limit).

This module must not open sessions or commit (the transaction belongs
to :class:`~sriovirt.db.api.Database`), nor read configuration.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from sriovirt.db.models import ServiceRow, utcnow


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRecord:
    """A service on a host as stored (times naive UTC)."""

    id: int
    host: str
    binary: str
    topic: str
    report_count: int
    last_seen_up: datetime.datetime | None
    disabled: bool
    disabled_reason: str | None
    #: The newest RPC API version the service serves.
    version: str
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def heartbeat_age(self, now: datetime.datetime) -> float | None:
        """Seconds since the last heartbeat (None: never reported)."""
        if self.last_seen_up is None:
            return None
        return (now - self.last_seen_up).total_seconds()

    def is_up(self, now: datetime.datetime, service_down_time: float) -> bool:
        age = self.heartbeat_age(now)
        return age is not None and age <= service_down_time


def to_record(row: ServiceRow) -> ServiceRecord:
    return ServiceRecord(
        id=row.id,
        host=row.host,
        binary=row.binary,
        topic=row.topic,
        report_count=row.report_count,
        last_seen_up=row.last_seen_up,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(session: orm.Session, host: str, binary: str) -> ServiceRow | None:
    return session.scalars(
        sa.select(ServiceRow).where(
            ServiceRow.host == host, ServiceRow.binary == binary
        )
    ).one_or_none()


def get(session: orm.Session, host: str, binary: str) -> ServiceRecord | None:
    row = _row(session, host, binary)
    return to_record(row) if row is not None else None


def by_hosts(
    session: orm.Session, hosts: Collection[str], binary: str
) -> dict[str, ServiceRecord]:
    """host -> its ``binary`` service, for the given hosts, in one query
    (the (host, binary) unique index: one lookup per host, no scan);
    hosts without such a service are absent."""
    if not hosts:
        return {}
    rows = session.scalars(
        sa.select(ServiceRow).where(
            ServiceRow.host.in_(sorted(set(hosts))),
            ServiceRow.binary == binary,
        )
    )
    return {row.host: to_record(row) for row in rows}


def all_services(
    session: orm.Session, binary: str | None = None
) -> list[ServiceRecord]:
    query = sa.select(ServiceRow).order_by(ServiceRow.host, ServiceRow.binary)
    if binary is not None:
        query = query.where(ServiceRow.binary == binary)
    return [to_record(row) for row in session.scalars(query)]


def heartbeat(
    session: orm.Session,
    host: str,
    binary: str,
    topic: str,
    version: str,
) -> ServiceRecord:
    """Create the service's row, or count one more report on it, and
    stamp it up now (its topic and version as given: an upgraded
    service reports its new version).  Disabled stays as it was."""
    now = utcnow()
    row = _row(session, host, binary)
    if row is None:
        row = ServiceRow(
            host=host,
            binary=binary,
            topic=topic,
            report_count=1,
            last_seen_up=now,
            disabled=False,
            version=version,
        )
        session.add(row)
    else:
        row.report_count += 1
        row.last_seen_up = now
        row.topic = topic
        row.version = version
    session.flush()
    return to_record(row)


def set_disabled(
    session: orm.Session,
    host: str,
    binary: str,
    disabled: bool,
    reason: str | None,
) -> ServiceRecord | None:
    """Disable (with ``reason``) or enable (reason cleared) the service;
    None when there is no such service."""
    row = _row(session, host, binary)
    if row is None:
        return None
    row.disabled = disabled
    row.disabled_reason = reason if disabled else None
    session.flush()
    return to_record(row)
