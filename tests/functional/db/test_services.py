"""The services table through the Database facade, on SQLite and
PostgreSQL: registration, heartbeats, disable/enable, up/down."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from sriovirt import exception
from sriovirt.db import api

BINARY = "sriovirt-compute"
TOPIC = "sriovirt-compute"


@pytest.fixture
def db(db_url: str) -> Iterator[api.Database]:
    api.sync(db_url)
    database = api.Database(db_url)
    yield database
    database.close()


def test_first_heartbeat_registers_then_counts(db: api.Database) -> None:
    first = db.service_heartbeat("h1", BINARY, TOPIC, "1.0")
    assert (first.host, first.binary, first.topic) == ("h1", BINARY, TOPIC)
    assert (first.report_count, first.disabled, first.version) == (
        1,
        False,
        "1.0",
    )
    assert first.last_seen_up is not None
    second = db.service_heartbeat("h1", BINARY, TOPIC, "1.1")
    assert second.id == first.id
    assert second.report_count == 2
    assert second.version == "1.1"
    assert second.last_seen_up is not None
    assert second.last_seen_up >= first.last_seen_up
    assert db.get_service("h1", BINARY) == second


def test_services_listed_by_host(db: api.Database) -> None:
    for host in ("h3", "h1", "h2"):
        db.service_heartbeat(host, BINARY, TOPIC, "1.1")
    db.service_heartbeat("h1", "other", "other", "1.0")
    assert [s.host for s in db.get_services(BINARY)] == ["h1", "h2", "h3"]
    assert len(db.get_services()) == 4


def test_disable_keeps_reason_until_enabled(db: api.Database) -> None:
    db.service_heartbeat("h1", BINARY, TOPIC, "1.1")
    off = db.set_service_disabled("h1", BINARY, True, "firmware update")
    assert (off.disabled, off.disabled_reason) == (True, "firmware update")
    # A heartbeat does not enable it again.
    beat = db.service_heartbeat("h1", BINARY, TOPIC, "1.1")
    assert (beat.disabled, beat.disabled_reason) == (True, "firmware update")
    on = db.set_service_disabled("h1", BINARY, False, "ignored")
    assert (on.disabled, on.disabled_reason) == (False, None)


def test_disable_unknown_service_names_host(db: api.Database) -> None:
    with pytest.raises(exception.ServiceNotFound) as caught:
        db.set_service_disabled("nowhere", BINARY, True, "x")
    assert "No sriovirt-compute service on host nowhere" in str(caught.value)


def test_up_while_heartbeat_younger_than_down_time(db: api.Database) -> None:
    record = db.service_heartbeat("h1", BINARY, TOPIC, "1.1")
    assert record.last_seen_up is not None
    seen = record.last_seen_up
    assert record.is_up(seen + datetime.timedelta(seconds=60), 60)
    assert not record.is_up(seen + datetime.timedelta(seconds=61), 60)
    assert record.heartbeat_age(seen + datetime.timedelta(seconds=5)) == 5
