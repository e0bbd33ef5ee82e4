"""The scheduling flow with doubles of Placement and the computes: which
candidate is claimed, what the compute is told, what is freed when."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import SchedulerManager
from sriovirt.db import api
from sriovirt.db.records import InstanceRecord
from sriovirt.network.values import VnicType
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.scheduler.placement_query import AllocationCandidatesQuery
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec
from tests.unit.scheduler.test_request_spec import port
from tests.unit.scheduler.test_selection import pool


class Placement:
    """Two candidates per root (two PF providers ``<root>-pf0/1``);
    ``refuse``: providers whose claim gets a 409; ``down``: no answer."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots
        self.refuse: set[str] = set()
        self.down = False
        self.claims: list[tuple[str, set[str]]] = []
        self.deleted: list[str] = []

    def allocation_candidates(
        self, query: AllocationCandidatesQuery
    ) -> Mapping[str, object]:
        requests = [
            {
                "allocations": {
                    r: {"resources": {"VCPU": 1}},
                    f"{r}-pf{i}": {"resources": {"SRIOV_NET_VF": 1}},
                },
                "mappings": {"": [r], "_PORT1": [f"{r}-pf{i}"]},
            }
            for r in self.roots
            for i in range(2)
        ]
        summaries = {r: {"root_provider_uuid": r} for r in self.roots}
        for r in self.roots:
            for i in range(2):
                summaries[f"{r}-pf{i}"] = {"root_provider_uuid": r}
        return {
            "allocation_requests": requests,
            "provider_summaries": summaries,
        }

    def claim(
        self,
        consumer: str,
        allocations: Mapping[str, Mapping[str, int]],
        *,
        project_id: str,
        user_id: str,
    ) -> str | None:
        if self.down:
            raise exception.PlacementUnavailable(
                endpoint="double", reason="PUT: no answer"
            )
        self.claims.append((consumer, set(allocations)))
        if self.refuse & set(allocations):
            return "HTTP 409 taken"
        return None

    def delete(self, consumer: str) -> bool:
        self.deleted.append(consumer)
        return True


class Compute:
    def __init__(self, host: str, fail: bool = False) -> None:
        self.host = host
        self.fail = fail
        self.boots: list[BootRequest] = []

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord:
        self.boots.append(boot)
        if self.fail:
            raise exception.BuildFailed(
                instance=boot.name,
                step="spawn",
                reason="domain exists",
                aftermath="every earlier step was rolled back",
            )
        return InstanceRecord(
            uuid=boot.uuid, vm_state="active", host=self.host, name=boot.name
        )

    def terminate_instance(self, instance_uuid: str) -> InstanceRecord:
        return InstanceRecord(uuid=instance_uuid, vm_state="deleted")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[api.Database]:
    url = f"sqlite:///{tmp_path / 'sched.sqlite'}"
    api.sync(url)
    database = api.Database(url)
    yield database
    database.close()


def _node(db: api.Database, host: str, vfs: int) -> str:
    node = db.get_or_create_compute_node(host, host)
    db.save_pci_state(node.id, [], json.dumps([pool("physnet1", vfs)]))
    return node.uuid


def _spec() -> RequestSpec:
    return build_request_spec(
        vcpus=1,
        memory_mb=64,
        ports=[port("p1", VnicType.DIRECT, "physnet1")],
    )


def _setup(
    db: api.Database, **fail: bool
) -> tuple[Placement, dict[str, Compute], SchedulerManager, dict[str, str]]:
    uuids = {"a": _node(db, "a", 5), "b": _node(db, "b", 3)}
    placement = Placement(list(uuids.values()))
    computes = {h: Compute(h, fail.get(h, False)) for h in uuids}
    manager = SchedulerManager(
        placement=placement, nodes=db, instances=db, computes=computes
    )
    return placement, computes, manager, uuids


BOOT = BootRequest(name="vm", port_ids=("p1",))


def test_the_compute_is_told_the_pf_provider_of_the_claim(
    db: api.Database,
) -> None:
    placement, computes, manager, uuids = _setup(db)
    record = manager.schedule_and_build(BOOT, _spec())
    assert record.host == "a"  # more free VFs
    (boot,) = computes["a"].boots
    assert boot.port_providers == {"p1": f"{uuids['a']}-pf0"}
    assert placement.claims == [(BOOT.uuid, {uuids["a"], f"{uuids['a']}-pf0"})]
    assert placement.deleted == []


def test_a_409_tries_the_hosts_next_candidate(db: api.Database) -> None:
    placement, computes, manager, uuids = _setup(db)
    placement.refuse = {f"{uuids['a']}-pf0"}
    manager.schedule_and_build(BOOT, _spec())
    (boot,) = computes["a"].boots
    assert boot.port_providers == {"p1": f"{uuids['a']}-pf1"}
    assert len(placement.claims) == 2


def test_a_failed_build_frees_and_tries_the_next_host(
    db: api.Database,
) -> None:
    placement, computes, manager, uuids = _setup(db, a=True)
    record = manager.schedule_and_build(BOOT, _spec())
    assert record.host == "b"
    assert placement.deleted == [BOOT.uuid]
    assert computes["b"].boots[0].port_providers == {"p1": f"{uuids['b']}-pf0"}


def test_every_host_failing_names_each_attempt(db: api.Database) -> None:
    placement, _, manager, _ = _setup(db, a=True, b=True)
    placement.refuse = set()
    with pytest.raises(exception.SchedulingFailed) as err:
        manager.schedule_and_build(BOOT, _spec())
    text = str(err.value)
    assert "2 host(s) tried" in text
    assert "a: Boot of server vm failed at step spawn" in text
    assert "b: Boot of server vm failed at step spawn" in text
    assert placement.deleted == [BOOT.uuid, BOOT.uuid]


def test_all_candidates_refused_is_an_attempt(db: api.Database) -> None:
    placement, computes, manager, uuids = _setup(db)
    placement.refuse = {f"{uuids['a']}-pf0", f"{uuids['a']}-pf1"}
    record = manager.schedule_and_build(BOOT, _spec())
    assert record.host == "b"
    assert computes["a"].boots == []


def test_no_answer_on_the_claim_frees_and_raises(db: api.Database) -> None:
    placement, computes, manager, _ = _setup(db)
    placement.down = True
    with pytest.raises(exception.PlacementUnavailable):
        manager.schedule_and_build(BOOT, _spec())
    # The PUT may have landed: its allocation is deleted (tried).
    assert placement.deleted == [BOOT.uuid]
    assert all(c.boots == [] for c in computes.values())


def test_forced_host_runs_no_filter(db: api.Database) -> None:
    _, _, manager, _ = _setup(db)
    # host b has fewer free VFs: the weigher would pick a.
    record = manager.schedule_and_build(BOOT, _spec(), force_host="b")
    assert record.host == "b"
    with pytest.raises(exception.NoValidHost) as err:
        manager.schedule_and_build(BOOT, _spec(), force_host="nowhere")
    assert "forced host nowhere" in str(err.value)


def test_delete_terminates_then_frees(db: api.Database) -> None:
    placement, _, manager, _ = _setup(db)
    manager.delete("a", "some-uuid")
    assert placement.deleted == ["some-uuid"]
    with pytest.raises(exception.ServerNotFound):
        manager.delete("nowhere", "some-uuid")


def test_delete_says_the_allocation_is_left_when_placement_is_down(
    db: api.Database,
) -> None:
    placement, _, manager, _ = _setup(db)

    def down(consumer: str) -> bool:
        raise exception.PlacementUnavailable(
            endpoint="double", reason="DELETE: no answer"
        )

    placement.delete = down  # type: ignore[method-assign]
    with pytest.raises(exception.PlacementError) as err:
        manager.delete("a", "some-uuid")
    assert "was deleted on a" in str(err.value)
    assert "DELETE /allocations/some-uuid" in str(err.value)


def test_max_attempts_bounds_the_hosts_tried(db: api.Database) -> None:
    placement, computes, _, _ = _setup(db, a=True, b=True)
    manager = SchedulerManager(
        placement=placement,
        nodes=db,
        computes=computes,
        settings=SchedulerSettings(max_attempts=1),
    )
    with pytest.raises(exception.SchedulingFailed) as err:
        manager.schedule_and_build(BOOT, _spec())
    assert "1 host(s) tried: a:" in str(err.value)
    assert computes["b"].boots == []
