"""The compute service's heartbeat thread on a real SQLite database:
reports at its interval, survives a database that cannot be written,
and a stopped heartbeat turns the service down for the RPC API's rule
within service_down_time."""

from __future__ import annotations

import logging
import pathlib
import time

import pytest

from sriovirt.compute import rpc, services
from sriovirt.compute.heartbeat import Heartbeat
from sriovirt.db import api


@pytest.fixture
def db(tmp_path: pathlib.Path) -> api.Database:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    api.sync(url)
    return api.Database(url)


def _count(db: api.Database) -> int:
    found = db.get_service("h1", rpc.BINARY)
    return found.report_count if found else 0


def test_reports_at_its_interval_until_stopped(db: api.Database) -> None:
    beat = Heartbeat(db, "h1", 0.05)
    beat.start()
    # The first report is written by start itself.
    assert _count(db) == 1
    time.sleep(0.5)
    beat.stop()
    stopped_at = _count(db)
    assert stopped_at >= 4
    time.sleep(0.2)
    assert _count(db) == stopped_at


def test_stopped_heartbeat_turns_the_service_down(db: api.Database) -> None:
    state = services.service_state(db, service_down_time=1)
    beat = Heartbeat(db, "h1", 0.1)
    beat.start()
    time.sleep(0.3)
    assert state("h1") is None
    beat.stop()
    time.sleep(1.3)
    why = state("h1")
    assert why is not None
    assert why.startswith("the sriovirt-compute service of host h1 is down")


def test_failed_report_is_logged_and_retried(
    db: api.Database,
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    beat = Heartbeat(db, "h1", 0.05)
    beat.start()
    # The real table gone under the running service (as a database
    # restored from an old backup would be).
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE services RENAME TO services_away")
    with caplog.at_level(logging.WARNING, "sriovirt.compute.heartbeat"):
        time.sleep(0.3)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "ALTER TABLE services_away RENAME TO services"
            )
        before = _count(db)
        time.sleep(0.3)
    beat.stop()
    assert "Heartbeat of sriovirt-compute on host h1 not written" in (
        caplog.text
    )
    assert _count(db) > before
