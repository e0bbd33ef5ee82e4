"""The conductor after a boot's call got no answer
(:class:`~sriovirt.exception.ComputeUnreachable`): the instance's row,
read by uuid from a real database, decides between "never started"
(free, next host), "finished, the answer was lost" (its row) and "in
doubt" (allocation kept, no other host tried)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.db import api
from sriovirt.db.records import InstanceRecord
from tests.unit.compute.test_conductor import BOOT, Compute, _setup, _spec


@pytest.fixture
def db(tmp_path: Path) -> Iterator[api.Database]:
    url = f"sqlite:///{tmp_path / 'sched.sqlite'}"
    api.sync(url)
    database = api.Database(url)
    yield database
    database.close()


class Unanswered(Compute):
    """A host whose call times out; ``row``: what it wrote first (its
    journal) before going silent."""

    def __init__(
        self, host: str, db: api.Database, row: InstanceRecord | None
    ) -> None:
        super().__init__(host)
        self.db = db
        self.row = row

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord:
        self.boots.append(boot)
        if self.row is not None:
            self.db.create_instance(self.row, None)
        raise exception.ComputeUnreachable(
            method="build_and_run_instance",
            host=self.host,
            topic="sriovirt-compute",
            reason="no answer within 3 s",
        )


def _row(host: str, vm_state: str, task_state: str | None) -> InstanceRecord:
    return InstanceRecord(
        uuid=BOOT.uuid,
        host=host,
        node=host,
        vm_state=vm_state,
        task_state=task_state,
        name=BOOT.name,
    )


def test_no_row_means_never_started_free_and_next_host(
    db: api.Database,
) -> None:
    placement, computes, manager, _ = _setup(db)
    computes["a"] = Unanswered("a", db, None)
    record = manager.schedule_and_build(BOOT, _spec())
    assert record.host == "b"
    assert placement.deleted == [BOOT.uuid]
    assert [b.uuid for b in computes["b"].boots] == [BOOT.uuid]


def test_every_host_unanswered_names_host_and_method(
    db: api.Database,
) -> None:
    placement, computes, manager, _ = _setup(db)
    computes["a"] = Unanswered("a", db, None)
    computes["b"] = Unanswered("b", db, None)
    with pytest.raises(exception.SchedulingFailed) as caught:
        manager.schedule_and_build(BOOT, _spec())
    message = str(caught.value)
    for host in ("a", "b"):
        assert f"build_and_run_instance on compute host {host}" in message
    assert "no row written: not started" in message
    assert placement.deleted == [BOOT.uuid, BOOT.uuid]


def test_an_active_row_is_the_result_and_keeps_the_allocation(
    db: api.Database,
) -> None:
    placement, computes, manager, _ = _setup(db)
    computes["a"] = Unanswered("a", db, _row("a", "active", None))
    record = manager.schedule_and_build(BOOT, _spec())
    assert (record.host, record.vm_state) == ("a", "active")
    assert placement.deleted == []
    assert computes["b"].boots == []


@pytest.mark.parametrize("task_state", ["claiming", "binding", "spawning"])
def test_a_journalled_row_is_in_doubt_kept_and_not_retried(
    db: api.Database, task_state: str
) -> None:
    placement, computes, manager, _ = _setup(db)
    computes["a"] = Unanswered("a", db, _row("a", "building", task_state))
    with pytest.raises(exception.ServerInDoubt) as caught:
        manager.schedule_and_build(BOOT, _spec())
    doubt = caught.value
    assert doubt.host == "a"
    assert doubt.server == f"'vm' ({BOOT.uuid})"
    assert f"building/{task_state}" in str(doubt)
    assert "reconcile" in str(doubt)
    assert isinstance(doubt.__cause__, exception.ComputeUnreachable)
    assert placement.deleted == []
    assert computes["b"].boots == []


class _NoRows:
    """Nodes without a way to read instances."""

    def __init__(self, db: api.Database) -> None:
        self.db = db

    def get_compute_nodes_by_uuids(self, uuids: set[str]) -> object:
        return self.db.get_compute_nodes_by_uuids(uuids)


def test_without_a_row_reader_an_unanswered_call_is_in_doubt(
    db: api.Database,
) -> None:
    placement, computes, manager, _ = _setup(db)
    manager.nodes = _NoRows(db)  # type: ignore[assignment]
    manager.instances = None
    computes["a"] = Unanswered("a", db, None)
    with pytest.raises(exception.ServerInDoubt, match="unknown"):
        manager.schedule_and_build(BOOT, _spec())
    assert placement.deleted == []
    assert computes["b"].boots == []
