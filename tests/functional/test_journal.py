"""Boots and deletes killed with SIGKILL at every step, then reconciled.

Each boot or delete runs ``boot_child.py`` in a process of its own,
which kills itself with SIGKILL when the manager reaches the chosen step
(or holds there while this process reconciles).  Then this process runs
:func:`~sriovirt.compute.reconcile.reconcile` on the same files and
checks that nothing of the dead work is left: devices free (the pools of
before), no binding, no instance rows; and that the same ports boot
again.  A boot held alive in another process is never undone.

The sample ports: a VLAN ``direct`` port, a ``macvtap`` one, a
``direct-physical`` one and a normal port, so a boot claims two VFs and
a PF and binds four ports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sriovirt.compute import reconcile
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.reconcile import Outcome
from sriovirt.virt.driver import InstanceState
from tests.functional import boot_child

CHILD = Path(boot_child.__file__)
PORTS = (
    "6f0c1e2a-0000-4000-8000-000000000001",
    "6f0c1e2a-0000-4000-8000-000000000002",
    "6f0c1e2a-0000-4000-8000-000000000003",
    "6f0c1e2a-0000-4000-8000-000000000004",
)
UUID = "0b5e5a1d-0000-4000-8000-00000000000a"
TIMEOUT = 60

#: Every step of a boot, in order; the first three write nothing.
BOOT_STEPS = (
    "instance",
    "packed virtqueue constraint",
    "read ports",
    "record boot",
    "claim",
    "allocate",
    "journal binding",
    *(f"bind port {p}" for p in PORTS),
    "VIFs",
    "journal spawning",
    "spawn",
    "store instance",
)
DELETE_STEPS = (
    "journal deleting",
    "destroy guest",
    *(f"unbind port {p}" for p in PORTS),
    "free devices",
    "delete rows",
)


def _child(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), str(workdir), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=Path(__file__).resolve().parents[2],
    )


def _boot(workdir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return _child(workdir, "boot", "vm-j", UUID, *PORTS, *options)


def _state(workdir: Path) -> dict[str, object]:
    """Pools, device owners, bindings and rows, as stored."""
    with boot_child.manager(workdir) as m:
        node = m.rt.node
        stored = m.db.get_compute_node(node.host, node.hypervisor_hostname)
        assert stored is not None and stored.pci_stats is not None
        pools = sorted(
            (json.dumps(p["tags"], sort_keys=True), p["count"])
            for p in json.loads(stored.pci_stats)
        )
        owners = {
            d.address: (d.status, d.instance_uuid)
            for d in m.db.get_pci_devices(node.id)
            if d.instance_uuid
        }
        bindings = m.network.bound_ports()
        rows = [
            (r.uuid, r.vm_state) for r in m.db.get_instances_by_host(m.host)
        ]
    return {
        "pools": pools,
        "owners": owners,
        "bindings": bindings,
        "rows": rows,
    }


def _reconcile(workdir: Path) -> reconcile.ReconcileReport:
    with boot_child.manager(workdir) as m:
        return reconcile.reconcile(m, resume=True)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    boot_child.prepare(tmp_path / "w")
    return tmp_path / "w"


@pytest.fixture
def empty(workdir: Path) -> dict[str, object]:
    state = _state(workdir)
    assert state["owners"] == {} and state["rows"] == []
    return state


@pytest.mark.parametrize("step", BOOT_STEPS)
def test_boot_killed_at_each_step_is_rolled_back(
    workdir: Path, empty: dict[str, object], step: str
) -> None:
    died = _boot(workdir, "--die-at", step)
    assert died.returncode == -9, died.stderr

    report = _reconcile(workdir)

    wrote_row = BOOT_STEPS.index(step) > BOOT_STEPS.index("record boot")
    expected = [(UUID, Outcome.ROLLED_BACK)] if wrote_row else []
    assert [(f.uuid, f.outcome) for f in report.findings] == expected
    assert _state(workdir) == empty
    # Nothing of the dead boot is in the way of the same ports.
    with boot_child.manager(workdir) as m:
        boot = BootRequest(name="vm-j", uuid=UUID, port_ids=PORTS)
        assert m.build_and_run_instance(boot).vm_state == "active"


@pytest.mark.parametrize("step", DELETE_STEPS)
def test_delete_killed_at_each_step_is_completed(
    workdir: Path, empty: dict[str, object], step: str
) -> None:
    booted = _boot(workdir)
    assert booted.returncode == 0, booted.stderr
    died = _child(workdir, "delete", UUID, "--die-at", step)
    assert died.returncode == -9, died.stderr

    report = _reconcile(workdir)

    if step == DELETE_STEPS[0]:
        # Killed before its first write: no delete was started, and the
        # server's guest (forgotten with the process) is resumed.
        assert [(f.uuid, f.outcome) for f in report.findings] == [
            (UUID, Outcome.RESUMED)
        ]
        assert _state(workdir)["rows"] == [(UUID, "active")]
        return
    assert [(f.uuid, f.outcome) for f in report.findings] == [
        (UUID, Outcome.DELETED)
    ]
    assert _state(workdir) == empty


def test_a_live_boot_is_never_undone_by_reconcile(
    workdir: Path, empty: dict[str, object]
) -> None:
    held = subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            str(workdir),
            "boot",
            "vm-j",
            UUID,
            *PORTS,
            "--hold-at",
            "spawn",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (workdir / "held").exists():
            assert held.poll() is None, held.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        during = _state(workdir)

        report = _reconcile(workdir)

        assert [(f.uuid, f.outcome) for f in report.findings] == [
            (UUID, Outcome.IN_PROGRESS)
        ]
        assert _state(workdir) == during
        assert len(during["owners"]) == 3  # type: ignore[arg-type]
        assert set(during["bindings"]) == set(PORTS)  # type: ignore[arg-type]
        (workdir / "go").touch()
        out, err = held.communicate(timeout=TIMEOUT)
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
    assert (held.returncode, out.strip()) == (0, "active"), err
    assert _state(workdir)["rows"] == [(UUID, "active")]


def test_reconcile_resumes_a_forgotten_guest_and_keeps_its_devices(
    workdir: Path,
) -> None:
    booted = _boot(workdir)
    assert booted.returncode == 0, booted.stderr
    before = _state(workdir)

    with boot_child.manager(workdir) as m:
        # A new process: the test-driver host has forgotten the guest.
        assert m.driver.instance_state(UUID) is InstanceState.MISSING
        report = reconcile.reconcile(m, resume=True)
        assert m.driver.instance_state(UUID) is InstanceState.RUNNING
        assert [(f.uuid, f.outcome) for f in report.findings] == [
            (UUID, Outcome.RESUMED)
        ]
        # Resumed from the stored XML: the same guest as booted.
        record = m.db.get_instance(UUID)
        assert record is not None
        assert m.driver.guest_xml(UUID) == record.domain_xml
        again = reconcile.reconcile(m, resume=True)
        assert again.findings == ()
    assert _state(workdir) == before

    with boot_child.manager(workdir) as m:
        report = reconcile.reconcile(m, resume=False)
    assert [(f.outcome, f.detail) for f in report.findings] == [
        (
            Outcome.NOT_RUNNING,
            "the guest is missing; [DEFAULT] "
            "resume_guests_state_on_host_boot is false",
        )
    ]
    assert _state(workdir) == before
