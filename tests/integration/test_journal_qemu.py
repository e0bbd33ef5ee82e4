"""A compute process killed on a real libvirtd + QEMU: its guest outlives
it, and reconcile must find and remove it (no orphan domain).

On the embedded test driver a guest dies with its process, so only here
does "no orphan domain" mean something.  The boot runs
``tests/functional/boot_child.py`` against the private daemon with one
normal port (bound as ``tap``, which QEMU can start here), killed with
SIGKILL after its guest started; a delete is killed after the guest was
destroyed and before its port was unbound.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sriovirt.compute import reconcile
from sriovirt.compute.reconcile import Outcome
from sriovirt.virt.driver import InstanceState
from tests.functional import boot_child

pytestmark = pytest.mark.integration

NORMAL = "6f0c1e2a-0000-4000-8000-000000000004"
UUID = "0b5e5a1d-0000-4000-8000-0000000000f1"
CHILD = Path(boot_child.__file__)


def _child(
    workdir: Path, uri: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), str(workdir), *args, "--uri", uri],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.fixture
def workdir(tmp_path: Path, libvirtd_uri: str) -> Iterator[Path]:
    boot_child.prepare(tmp_path / "w")
    yield tmp_path / "w"
    with boot_child.manager(tmp_path / "w", uri=libvirtd_uri) as m:
        if m.driver.instance_state(UUID) is not InstanceState.MISSING:
            m.driver.destroy(UUID)


def test_a_boot_killed_after_its_guest_started_leaves_no_orphan(
    workdir: Path, libvirtd_uri: str
) -> None:
    died = _child(
        workdir,
        libvirtd_uri,
        "boot",
        "vm-q",
        UUID,
        NORMAL,
        "--die-at",
        "store instance",
    )
    assert died.returncode == -9, died.stderr
    with boot_child.manager(workdir, uri=libvirtd_uri) as m:
        # The guest outlived the process that started it.
        assert m.driver.instance_state(UUID) is InstanceState.RUNNING
        assert set(m.network.bound_ports()) == {NORMAL}

        report = reconcile.reconcile(m, resume=True)

        assert [(f.uuid, f.outcome) for f in report.findings] == [
            (UUID, Outcome.ROLLED_BACK)
        ]
        assert m.driver.instance_state(UUID) is InstanceState.MISSING
        assert m.network.bound_ports() == {}
        assert m.db.get_instance(UUID) is None


def test_a_delete_killed_after_destroy_is_completed(
    workdir: Path, libvirtd_uri: str
) -> None:
    booted = _child(workdir, libvirtd_uri, "boot", "vm-q", UUID, NORMAL)
    assert (booted.returncode, booted.stdout.strip()) == (0, "active")
    died = _child(
        workdir,
        libvirtd_uri,
        "delete",
        UUID,
        "--die-at",
        f"unbind port {NORMAL}",
    )
    assert died.returncode == -9, died.stderr
    with boot_child.manager(workdir, uri=libvirtd_uri) as m:
        assert m.driver.instance_state(UUID) is InstanceState.MISSING
        report = reconcile.reconcile(m, resume=True)
        assert [(f.uuid, f.outcome) for f in report.findings] == [
            (UUID, Outcome.DELETED)
        ]
        assert m.network.bound_ports() == {}
        assert m.db.get_instance(UUID) is None


def test_reconcile_reports_a_guest_it_does_not_know_and_keeps_it(
    workdir: Path, libvirtd_uri: str
) -> None:
    booted = _child(workdir, libvirtd_uri, "boot", "vm-q", UUID, NORMAL)
    assert booted.returncode == 0, booted.stderr
    # Another database (another deployment's) does not know the guest.
    other = workdir.parent / "other"
    boot_child.prepare(other)
    with boot_child.manager(other, uri=libvirtd_uri) as m:
        report = reconcile.reconcile(m, resume=True)
        assert (UUID, Outcome.UNKNOWN_GUEST) in [
            (f.uuid, f.outcome) for f in report.findings
        ]
        assert m.driver.instance_state(UUID) is InstanceState.RUNNING
