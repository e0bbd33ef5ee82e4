"""A boot delivered twice is run once: the compute manager is idempotent
by instance uuid (a message redelivered by the bus, or a caller that
retried after a lost answer).  Real manager on libvirt's test driver,
SQLite and the static network (the ``world`` of test_manager)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest

from sriovirt import exception
from sriovirt.compute import journal
from sriovirt.compute.journal import InstanceLocks
from sriovirt.db.records import InstanceRecord
from sriovirt.placement import tree as pt
from tests.unit.compute import test_manager
from tests.unit.compute.test_manager import (
    DIRECT,
    EXTRA_DIRECT,
    HOST,
    MACVTAP,
    NORMAL,
    UUID,
    World,
    _boot,
)

#: The real manager on the test driver, SQLite and the static network.
world = test_manager.world


def _held(world: World) -> dict[str, str | None]:
    return {a: u for a, (_, u) in world.rows().items() if u is not None}


def test_the_same_boot_again_answers_its_row_and_does_nothing(
    world: World,
) -> None:
    first = world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    held, bound = _held(world), world.network.bound_ports()
    again = world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    assert again == first
    assert again.vm_state == journal.ACTIVE
    assert _held(world) == held and len(held) == 1
    assert world.network.bound_ports() == bound
    assert [g.uuid for g in world.driver.list_instances()] == [UUID]
    assert len(world.db.get_instances_by_host(HOST)) == 1


@pytest.mark.parametrize(
    ("name", "ports"),
    [("vm-other", (DIRECT, NORMAL)), ("vm-1", (MACVTAP,))],
    ids=["other name", "other ports"],
)
def test_the_uuid_of_another_server_is_refused(
    world: World, name: str, ports: tuple[str, ...]
) -> None:
    world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    held = _held(world)
    with pytest.raises(exception.InstanceUuidInUse) as caught:
        world.manager.build_and_run_instance(_boot(*ports, name=name))
    refused = caught.value
    assert (refused.uuid, refused.other, refused.other_host) == (
        UUID,
        "vm-1",
        HOST,
    )
    assert "active" in str(refused)
    assert _held(world) == held
    assert MACVTAP not in world.network.bound_ports()


def test_a_row_of_another_host_is_refused(world: World) -> None:
    elsewhere = InstanceRecord(
        uuid=UUID,
        vm_state=journal.BUILDING,
        task_state=journal.Step.BIND.value,
        host="other-host",
        node="other-node",
        name="vm-1",
    )
    world.db.create_instance(elsewhere, None)
    with pytest.raises(exception.InstanceUuidInUse) as caught:
        world.manager.build_and_run_instance(_boot(DIRECT))
    assert caught.value.other_host == "other-host"
    assert "building, task binding" in str(caught.value)
    assert _held(world) == {}
    assert world.network.bound_ports() == {}
    # Nothing of the other host's row was touched.
    kept = world.db.get_instance(UUID)
    assert kept is not None
    assert (kept.host, kept.task_state) == ("other-host", "binding")
    assert world.db.get_instances_by_host(HOST) == []


def test_a_boot_in_flight_on_this_host_is_refused(world: World) -> None:
    """A row still building here (another delivery running, or a dead
    one reconcile has not rolled back yet) is not booted over."""
    building = InstanceRecord(
        uuid=UUID,
        vm_state=journal.BUILDING,
        task_state=journal.Step.SPAWN.value,
        host=HOST,
        node=world.driver.nodename(),
        name="vm-1",
        requested_networks=json.dumps(
            [{"port_id": DIRECT, "vnic_type": "direct"}]
        ),
    )
    world.db.create_instance(building, None)
    with pytest.raises(exception.InstanceUuidInUse, match="spawning"):
        world.manager.build_and_run_instance(_boot(DIRECT))
    assert _held(world) == {}
    assert world.driver.list_instances() == ()


def test_two_deliveries_in_flight_boot_once_and_answer_alike(
    world: World, tmp_path: Path
) -> None:
    """Two deliveries of one boot at once (threads of one service, as
    the RPC server runs them): both wait for the instance's lock, held
    here; once it is free one boots, the other answers its row."""
    answers: list[InstanceRecord | BaseException] = []

    def deliver() -> None:
        try:
            answers.append(world.manager.build_and_run_instance(_boot(DIRECT)))
        except BaseException as exc:  # handed to the test
            answers.append(exc)

    locks = InstanceLocks(tmp_path / "locks")
    with locks.hold(UUID):
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        assert answers == []
    for thread in threads:
        thread.join(30)
    first, second = answers
    assert isinstance(first, InstanceRecord), first
    assert second == first
    assert len(_held(world)) == 1
    assert [g.uuid for g in world.driver.list_instances()] == [UUID]


def test_a_delivery_after_a_failed_one_is_not_run_again(
    world: World,
) -> None:
    pools = world.pools()
    with pytest.raises(exception.BuildFailed) as first:
        world.manager.build_and_run_instance(_boot(*EXTRA_DIRECT))
    assert first.value.step == "claim"
    with pytest.raises(exception.BuildFailed) as again:
        world.manager.build_and_run_instance(_boot(*EXTRA_DIRECT))
    assert again.value.step == "duplicate delivery"
    assert "earlier delivery of this boot to this host failed" in str(
        again.value
    )
    world.assert_nothing_left(pools)


class _Allocations:
    """Placement's allocations by consumer, as the scheduler left them."""

    def __init__(self, held: dict[str, dict[str, dict[str, int]]]) -> None:
        self.held = held

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        return self.held.get(consumer, {})


def test_a_late_delivery_whose_allocation_is_gone_is_refused(
    world: World,
) -> None:
    """A scheduled boot (port providers) runs only while Placement holds
    its allocation on this host's providers: the scheduler frees it
    when it gives up on this host, or claims it on another."""
    pf1 = pt.child_uuid(world.rt.node.uuid, "0000:81:00.0")
    boot = dataclasses.replace(_boot(DIRECT), port_providers={DIRECT: pf1})
    pools = world.pools()
    for held in ({}, {UUID: {"other-host-pf": {"SRIOV_NET_VF": 1}}}):
        world.manager.allocations = _Allocations(held)
        with pytest.raises(exception.BuildFailed) as late:
            world.manager.build_and_run_instance(
                dataclasses.replace(boot, uuid=UUID)
            )
        assert late.value.step == "check allocation"
        assert "came too late" in str(late.value)
        assert late.value.aftermath == "nothing was done"
        world.assert_nothing_left(pools)
        # The next case as a first delivery (this one is remembered).
        world.manager._deliveries = type(world.manager._deliveries)()
    world.manager.allocations = _Allocations(
        {UUID: {pf1: {"SRIOV_NET_VF": 1}}}
    )
    record = world.manager.build_and_run_instance(boot)
    assert record.vm_state == journal.ACTIVE
