"""A boot delivered twice is run once: the compute manager is idempotent
by instance uuid (a message redelivered by the bus, or a caller that
retried after a lost answer).  Real manager on libvirt's test driver,
SQLite and the static network (the ``world`` of test_manager)."""

from __future__ import annotations

import json

import pytest

from sriovirt import exception
from sriovirt.compute import journal
from sriovirt.db.records import InstanceRecord
from tests.unit.compute import test_manager
from tests.unit.compute.test_manager import (
    DIRECT,
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
