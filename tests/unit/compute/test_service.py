"""The compute service's main loop, reload and stop on their own.

The loop runs with a fake clock and a scripted ``wait`` (what the
signal handlers would report); the reload runs on a real resource
tracker (a fake inventory, SQLite) so the test checks what is stored.
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any, cast

import pytest

from sriovirt import exception
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import ComputeManager
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.compute.service import ComputeService, Settings, Wake
from sriovirt.db import api
from sriovirt.pci.tracker import DeviceMatcher
from sriovirt.pci.whitelist import Whitelist
from tests.unit.compute.test_resource_tracker import (
    HOST,
    PF,
    SPEC,
    FakeDriver,
    _devices,
)

INTERVAL = 60.0


def _settings(tmp_path: pathlib.Path) -> Settings:
    return Settings(
        host=HOST,
        resume=False,
        update_resources_interval=INTERVAL,
        report_interval=10.0,
        locks_dir=tmp_path / "locks",
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeManager:
    """What the loop uses of the manager: refresh_resources."""

    def __init__(self, fail: Sequence[Exception | None] = ()) -> None:
        self.fail = list(fail)
        self.refreshes = 0

    def refresh_resources(self) -> None:
        self.refreshes += 1
        error = self.fail.pop(0) if self.fail else None
        if error is not None:
            raise error


def _service(
    tmp_path: pathlib.Path, clock: Clock, manager: object = None
) -> ComputeService:
    service = ComputeService(
        _settings(tmp_path),
        driver=FakeDriver(_devices()),
        database=cast(Any, None),
        network=cast(Any, None),
        placement_adapter=None,
        placement_endpoint="none",
        whitelist=Whitelist.from_config(SPEC),
        rpc_server=lambda endpoint: cast(Any, None),
        clock=clock,
    )
    service.manager = cast(Any, manager)
    return service


def _script(clock: Clock, wakes: Sequence[Wake | float]) -> Any:
    """A ``wait`` that returns each scripted wake in turn; a float is
    time passing with nothing asked (the clock advances by the timeout
    or that many seconds, whichever is shorter)."""
    steps = list(wakes)
    timeouts: list[float] = []

    def wait(timeout: float) -> Wake:
        timeouts.append(timeout)
        step = steps.pop(0)
        if isinstance(step, Wake):
            return step
        clock.now += min(timeout, step)
        return Wake()

    wait.timeouts = timeouts  # type: ignore[attr-defined]
    return wait


def test_periodic_refresh_every_interval_until_stop(
    tmp_path: pathlib.Path,
) -> None:
    clock = Clock()
    manager = FakeManager()
    service = _service(tmp_path, clock, manager)
    wait = _script(clock, [INTERVAL, 10.0, INTERVAL, Wake(stop=True)])
    service.run(wait, lambda: None)
    assert manager.refreshes == 2
    # Each wait is the time left to the next refresh.
    assert wait.timeouts == [INTERVAL, INTERVAL, INTERVAL - 10.0, INTERVAL]


def test_a_failed_refresh_is_logged_and_the_loop_goes_on(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    manager = FakeManager(
        [exception.PlacementError(endpoint="x", reason="down"), None]
    )
    service = _service(tmp_path, clock, manager)
    wait = _script(clock, [INTERVAL, INTERVAL, Wake(stop=True)])
    with caplog.at_level(logging.WARNING, "sriovirt.compute.service"):
        service.run(wait, lambda: None)
    assert manager.refreshes == 2
    assert service.refreshes == 2
    assert "Periodic refresh of unit-host failed (next in 60 s)" in caplog.text


def test_a_refused_reload_keeps_the_whitelist(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    service = _service(tmp_path, clock, FakeManager())
    old = service.whitelist
    asked: list[int] = []

    def refused() -> DeviceMatcher | None:
        asked.append(1)
        return None

    wait = _script(clock, [Wake(reload=True), Wake(stop=True)])
    with caplog.at_level(logging.ERROR, "sriovirt.compute.service"):
        service.run(wait, refused)
    assert asked == [1]
    assert service.whitelist is old
    assert "New configuration refused" in caplog.text


def test_a_stop_during_start_is_seen_at_the_first_wait(
    tmp_path: pathlib.Path,
) -> None:
    manager = FakeManager()
    service = _service(tmp_path, Clock(), manager)
    service.run(lambda timeout: Wake(stop=True, reload=True), lambda: None)
    assert manager.refreshes == 0


class FakeServer:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def wait(self) -> None:
        self.calls.append("wait")


def test_stop_stops_taking_calls_then_waits_for_those_in_flight(
    tmp_path: pathlib.Path,
) -> None:
    calls: list[str] = []
    service = _service(tmp_path, Clock())
    service.server = FakeServer(calls)
    service.stop()
    assert calls == ["stop", "wait"]
    assert service.server is None
    service.stop()  # twice is harmless
    assert calls == ["stop", "wait"]


def test_not_started_refuses_a_reload(tmp_path: pathlib.Path) -> None:
    service = _service(tmp_path, Clock())
    with pytest.raises(RuntimeError, match="not started"):
        service.reload(Whitelist.from_config(SPEC))


# --- reload on a real tracker ---------------------------------------------


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Iterator[api.Database]:
    url = f"sqlite:///{tmp_path / 'svc.sqlite'}"
    api.sync(url)
    with api.Database(url) as database:
        yield database


def test_reload_follows_the_new_whitelist_and_stores_it(
    tmp_path: pathlib.Path, db: api.Database
) -> None:
    driver = FakeDriver(_devices())
    rt = ResourceTracker(HOST, driver, db, Whitelist.from_config(SPEC))
    rt.start()
    manager = ComputeManager(
        driver=driver,
        resource_tracker=rt,
        network=cast(Any, None),
        database=db,
        host=HOST,
        locks=InstanceLocks(tmp_path / "locks"),
    )
    service = _service(tmp_path, Clock(), manager)
    node = rt.node
    assert len(db.get_pci_devices(node.id)) == 10
    only_pf1 = Whitelist.from_config([SPEC[1]])
    report = service.reload(only_pf1)
    assert len(report.sync.removed) == 5
    stored = {r.address for r in db.get_pci_devices(node.id)}
    assert len(stored) == 5
    assert all(a.startswith(PF[1][:7]) for a in stored)
    assert rt.whitelist is only_pf1
    stored_node = db.get_compute_node(HOST, HOST)
    assert stored_node is not None
    stats = json.loads(stored_node.pci_stats or "[]")
    assert sum(p["count"] for p in stats) == 5
