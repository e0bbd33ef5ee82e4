"""The compute service filter over a real (SQLite) services table."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sriovirt.compute.rpc import BINARY
from sriovirt.compute.service_filter import ComputeServiceFilter
from sriovirt.db import api
from sriovirt.db.migration import sync
from sriovirt.scheduler.host_state import HostState
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[api.Database]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sync(url)
    with api.Database(url) as db:
        yield db


def _spec() -> RequestSpec:
    return build_request_spec(
        vcpus=1, memory_mb=64, extra_specs={}, image_properties={}, ports=[]
    )


def _host(n: int, name: str) -> HostState:
    return HostState(f"00000000-0000-4000-8000-{n:012d}", name, None, None, ())


def _register(db: api.Database, host: str) -> None:
    db.service_heartbeat(host, BINARY, "sriovirt-compute", "1.2")


def _seen(db: api.Database, host: str, seconds_ago: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE services SET last_seen_up = :t WHERE host = :h"),
            {"t": NOW - datetime.timedelta(seconds=seconds_ago), "h": host},
        )


def test_down_disabled_and_unknown_hosts_are_removed_with_reasons(
    database: api.Database,
) -> None:
    for host in ("host-a", "host-b", "host-c"):
        _register(database, host)
    database.set_service_disabled("host-b", BINARY, True, "maintenance")
    _seen(database, "host-a", 5)
    _seen(database, "host-b", 5)
    _seen(database, "host-c", 61)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        hosts = [
            _host(1, "host-a"),
            _host(2, "host-b"),
            _host(3, "host-c"),
            _host(4, "host-d"),
        ]
        result = ComputeServiceFilter(
            database, 60, now=lambda: NOW
        ).filter_hosts(_spec(), hosts)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert [h.host for h in result.kept] == ["host-a"]
    reasons = dict(result.removed)
    assert reasons[hosts[1].uuid] == (
        "host-b: the sriovirt-compute service of host host-b is disabled: "
        "maintenance"
    )
    assert reasons[hosts[2].uuid].startswith(
        "host-c: the sriovirt-compute service of host host-c is down: "
        "last heartbeat 61 s ago"
    )
    assert reasons[hosts[3].uuid].startswith(
        "host-d: no sriovirt-compute service registered for host host-d"
    )


def test_services_of_hosts_reads_only_those_hosts(
    database: api.Database,
) -> None:
    for host in ("h1", "h2", "h3"):
        _register(database, host)
    found = database.get_services_of_hosts(["h1", "h3", "h9"], BINARY)
    assert sorted(found) == ["h1", "h3"]
    assert database.get_services_of_hosts([], BINARY) == {}
    assert database.get_services_of_hosts(["h1"], "other") == {}
