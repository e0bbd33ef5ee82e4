"""Reconcile and the journal on one host, no mocks: the manager's world
(libvirt test driver, SQLite, static ports) of test_manager.py.

The SIGKILL cases (a process dying at every step) are functional
(tests/functional/test_journal.py); here are the decisions that need no
second process: a rollback that could not finish, claims nobody owns,
guests nobody knows, ports changed behind the server's back, a delete
refused while another holder works on the server.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sriovirt import exception
from sriovirt.cmd.progress import StepProgress
from sriovirt.compute import reconcile
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.reconcile import Outcome
from sriovirt.network.api import PortBinding
from sriovirt.pci.request import PciRequest
from tests.unit.compute.test_manager import (
    DIRECT,
    HOST,
    MACVTAP,
    NORMAL,
    SAMPLE_PORTS,
    UUID,
    World,
    _boot,
    world,
)

__all__ = ["world"]

OTHER = "00000000-0000-4000-8000-0000000000bb"


def _findings(report: reconcile.ReconcileReport) -> list[tuple[str, Outcome]]:
    return [(f.uuid, f.outcome) for f in report.findings]


def test_a_rollback_that_cannot_finish_is_left_for_reconcile(
    world: World,
) -> None:
    pools = world.pools()
    # A running transient guest of the same UUID makes the start fail;
    # at that step the bindings file is damaged, so the rollback cannot
    # unbind the ports.
    xml = (
        f"<domain type='test'><name>vm-1</name><uuid>{UUID}</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    world.driver.host._call("create", lambda c: c.createXML(xml, 0))
    state = world.network.state_file
    kept: list[bytes] = []

    def damage(server: str, step: str) -> None:
        if step == "spawn":
            kept.append(state.read_bytes())
            state.write_bytes(b"{damaged")

    world.manager.on_step = damage
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(_boot(DIRECT, NORMAL))
    world.manager.on_step = None
    message = str(err.value)
    assert err.value.step == "spawn"
    assert "rollback did not finish" in message
    assert f"unbind port {DIRECT}" in message and "reconcile" in message
    row = world.db.get_instance(UUID)
    assert row is not None
    assert (row.vm_state, row.task_state) == ("building", "rolling back")
    world.driver.destroy(UUID)

    state.write_bytes(kept[0])
    report = reconcile.reconcile(world.manager, resume=True)
    assert _findings(report) == [(UUID, Outcome.ROLLED_BACK)]
    world.assert_nothing_left(pools)


def test_claims_without_a_row_are_released_unless_their_boot_lives(
    world: World, tmp_path: Path
) -> None:
    pools = world.pools()
    request = PciRequest(
        spec=[{"physical_network": "physnet1", "dev_type": "type-VF"}]
    )
    world.rt.claim(OTHER, [request])
    assert world.pools() != pools
    locks = InstanceLocks(tmp_path / "locks")
    with locks.hold(OTHER):
        report = reconcile.reconcile(world.manager, resume=True)
        assert _findings(report) == [(OTHER, Outcome.IN_PROGRESS)]
        assert world.pools() != pools
    report = reconcile.reconcile(world.manager, resume=True)
    assert _findings(report) == [(OTHER, Outcome.RELEASED)]
    assert "0000:81:" in report.findings[0].detail
    world.assert_nothing_left(pools)


def test_unknown_guests_are_reported_never_destroyed(world: World) -> None:
    xml = (
        f"<domain type='test'><name>stranger</name><uuid>{OTHER}</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    world.driver.host.define(xml)
    report = reconcile.reconcile(world.manager, resume=True)
    assert _findings(report) == [(OTHER, Outcome.UNKNOWN_GUEST)]
    assert "never destroyed" in report.findings[0].detail
    assert [g.name for g in world.driver.list_instances()] == ["stranger"]


def test_changed_ports_are_reported_and_never_stop_reconcile(
    world: World,
) -> None:
    world.manager.build_and_run_instance(_boot(*SAMPLE_PORTS))
    bound = world.network.bound_ports()
    assert set(bound) == set(SAMPLE_PORTS)
    world.network.unbind_port(MACVTAP)
    world.network.bind_port(
        NORMAL, PortBinding(host="elsewhere", device_id=UUID, pci=None)
    )
    ports = json.loads(world.network._ports.path.read_text())
    ports["ports"] = [p for p in ports["ports"] if p["id"] != DIRECT]
    world.network._ports.path.write_text(json.dumps(ports))

    report = reconcile.reconcile(world.manager, resume=True)

    changed = {
        f.detail.split(":")[0]: f.detail
        for f in report.findings
        if f.outcome is Outcome.PORT_CHANGED
    }
    assert set(changed) == {f"port {p}" for p in (DIRECT, MACVTAP, NORMAL)}
    assert "deleted from the network service" in changed[f"port {DIRECT}"]
    assert "'elsewhere'" in changed[f"port {NORMAL}"]
    assert HOST in changed[f"port {NORMAL}"]
    assert "not to this server" in changed[f"port {MACVTAP}"]
    # The server and its devices are kept.
    assert world.db.get_instance(UUID) is not None
    assert not report.failed


def test_delete_while_another_holder_works_is_refused_unchanged(
    world: World, tmp_path: Path
) -> None:
    world.manager.build_and_run_instance(_boot(DIRECT))
    pools = world.pools()
    locks = InstanceLocks(tmp_path / "locks")
    with locks.hold(UUID), pytest.raises(exception.ServerBusy) as err:
        world.manager.terminate_instance(UUID)
    assert UUID in str(err.value) and "another live process" in str(err.value)
    assert world.pools() == pools
    assert world.db.get_instance(UUID) is not None
    world.manager.terminate_instance(UUID)


def test_a_name_taken_by_a_racing_boot_is_a_clean_error(world: World) -> None:
    # The other boot wrote its row after this one checked the name.
    world.manager.build_and_run_instance(_boot(DIRECT, name="vm-1"))
    pools = world.pools()
    check = world.manager._check_name_free
    world.manager._check_name_free = lambda name: None  # type: ignore[method-assign]
    try:
        with pytest.raises(exception.ServerNameInUse) as err:
            world.manager.build_and_run_instance(
                BootRequest(name="vm-1", port_ids=(NORMAL,), uuid=OTHER)
            )
    finally:
        world.manager._check_name_free = check  # type: ignore[method-assign]
    assert UUID in str(err.value)
    assert world.pools() == pools
    assert world.db.get_instance(OTHER) is None


def test_locks_exclude_each_other_and_survive_forget(tmp_path: Path) -> None:
    locks = InstanceLocks(tmp_path / "locks")
    with locks.try_hold(UUID) as first:
        assert first
        with locks.try_hold(UUID) as second:
            assert not second
        with locks.try_hold(OTHER) as other:
            assert other
        locks.forget(UUID)
    with locks.try_hold(UUID) as again:
        assert again
    with pytest.raises(ValueError):
        locks.forget("../../etc/passwd")


def test_progress_shows_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = StepProgress(stream)
        progress("vm-1", "claim")
        progress("vm-1", "spawn")
        progress.clear()
    assert pipe.getvalue() == ""
    assert tty.getvalue() == (
        "\r\x1b[Kvm-1: claim...\r\x1b[Kvm-1: spawn...\r\x1b[K"
    )
