"""One boot or delete through the compute manager, in a process of its own.

Run by ``test_journal.py`` as a separate Python process, so that a test
can SIGKILL it at a chosen step, or hold it at a step while another
process reconciles.  The stop points use the manager's ``on_step`` hook
(the same hook that shows progress on a terminal); nothing else in
sriovirt knows about them.

Everything lives in one work directory: the SQLite database, the ports
file, the static backend's bindings and the instance locks.  The host is
libvirt's test driver on the sample host (its guests die with the
process, as on the embedded default).

Usage::

    python boot_child.py WORKDIR boot NAME UUID PORT...  [options]
    python boot_child.py WORKDIR delete UUID             [options]

    --die-at STEP    SIGKILL this process when the manager reaches STEP
    --hold-at STEP   at STEP touch WORKDIR/held, then wait for WORKDIR/go
    --uri URI        the libvirt connection (default: the test driver on
                     the sample host); a real libvirtd keeps the guests
                     of a killed process

Prints the instance row's vm_state on success; a sriovirt error is one
line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import ComputeManager, StepHook
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver

HOST = "journal-host"
SPEC = [
    '{"address": "0000:81:00.0", "physical_network": "physnet1"}',
    '{"devname": "ens2f0", "physical_network": "physnet2"}',
]


def url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'sriovirt.sqlite'}"


def prepare(workdir: Path) -> None:
    """A fresh work directory: database synced, sample ports copied."""
    workdir.mkdir(parents=True, exist_ok=True)
    api.sync(url(workdir))
    shutil.copy(paths.etc_dir() / "ports.json", workdir / "ports.json")


@contextlib.contextmanager
def manager(
    workdir: Path, on_step: StepHook | None = None, uri: str | None = None
) -> Iterator[ComputeManager]:
    """A manager on the work directory, its tracker loaded (not started:
    only reconcile releases anything)."""
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    uri = uri or paths.test_driver_uri(paths.sample_host("small"))
    driver = LibvirtDriver.for_connection(conf, uri)
    network = StaticNetwork(
        ports_file=workdir / "ports.json",
        state_file=workdir / "bindings.json",
    )
    try:
        with api.Database(url(workdir)) as db:
            rt = ResourceTracker(HOST, driver, db, Whitelist.from_config(SPEC))
            rt.load_and_refresh()
            yield ComputeManager(
                driver=driver,
                resource_tracker=rt,
                network=network,
                database=db,
                host=HOST,
                locks=InstanceLocks(workdir / "locks"),
                on_step=on_step,
            )
    finally:
        driver.host.close()


def _stop_hook(
    workdir: Path, die_at: str | None, hold_at: str | None
) -> StepHook:
    def on_step(server: str, step: str) -> None:
        if step == die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if step == hold_at:
            (workdir / "held").touch()
            while not (workdir / "go").exists():
                time.sleep(0.02)

    return on_step


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("action", choices=("boot", "delete"))
    parser.add_argument("args", nargs="+")
    parser.add_argument("--die-at")
    parser.add_argument("--hold-at")
    parser.add_argument("--uri")
    ns = parser.parse_args()
    hook = _stop_hook(ns.workdir, ns.die_at, ns.hold_at)
    try:
        with manager(ns.workdir, hook, ns.uri) as m:
            if ns.action == "boot":
                name, uuid, *ports = ns.args
                boot = BootRequest(name=name, uuid=uuid, port_ids=tuple(ports))
                print(m.build_and_run_instance(boot).vm_state)
            else:
                print(m.terminate_instance(ns.args[0]).vm_state)
    except exception.SriovirtError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
