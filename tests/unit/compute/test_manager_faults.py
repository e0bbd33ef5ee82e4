"""libvirt failing under the manager: define refused, start refused.

Each through the manager's whole boot (the world of test_manager.py:
libvirt's test driver, SQLite, static ports), and each must leave
nothing behind: devices free (pools as before), ports unbound, no rows,
and the other guest that caused the failure untouched.
"""

from __future__ import annotations

import pytest

from sriovirt import exception
from tests.unit.compute.test_manager import (
    SAMPLE_PORTS,
    UUID,
    World,
    _boot,
    world,
)

__all__ = ["world"]

OTHER = "00000000-0000-4000-8000-0000000000ff"


def _transient(world: World, name: str, uuid: str) -> None:
    xml = (
        f"<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    world.driver.host._call("create", lambda c: c.createXML(xml, 0))


def test_a_define_libvirt_refuses_rolls_back_everything(world: World) -> None:
    # A running guest of the same name and another UUID: libvirt refuses
    # the definition itself.
    _transient(world, "vm-1", OTHER)
    pools = world.pools()
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(_boot(*SAMPLE_PORTS))
    assert err.value.step == "spawn"
    assert "domain define" in str(err.value)
    assert "every earlier step was rolled back" in str(err.value)
    assert [g.uuid for g in world.driver.list_instances()] == [OTHER]
    world.driver.destroy(OTHER)
    world.assert_nothing_left(pools)


def test_a_start_libvirt_refuses_rolls_back_everything(world: World) -> None:
    # A running transient guest of our UUID: the define succeeds, the
    # start is refused ("already running").
    _transient(world, "vm-1", UUID)
    pools = world.pools()
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(_boot(*SAMPLE_PORTS))
    assert err.value.step == "spawn"
    assert "already running" in str(err.value)
    assert world.db.get_instance(UUID) is None
    world.driver.destroy(UUID)
    world.assert_nothing_left(pools)
