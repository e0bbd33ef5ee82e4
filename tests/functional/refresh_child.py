"""One ``pci refresh`` (resource tracker start) in a process of its own.

Run by ``test_refresh_processes.py`` as a separate Python process, so a
test can run two at once or SIGKILL one in the middle of its database
transaction.  The pauses are SQLAlchemy event listeners installed here,
on this process's engine: nothing in sriovirt knows about them.

Usage::

    python refresh_child.py URL HOST_XML SPEC_JSON HOST
        [--locking FILE]           touch FILE when about to lock the node
        [--pause READY [GO]]       after the first write to pci_devices
                                   touch READY, then wait for GO to exist
                                   (forever without GO)

Prints the start report as one JSON line; a sriovirt error is one line
on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any

from oslo_config import cfg
from sqlalchemy import event

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host

WRITES = ("INSERT INTO pci_devices", "UPDATE pci_devices", "DELETE FROM pci_")


def _hooks(database: api.Database, args: argparse.Namespace) -> None:
    paused: list[bool] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def before(*params: Any) -> None:
        statement = str(params[2])
        if args.locking and (
            statement.startswith("BEGIN IMMEDIATE")
            or statement.rstrip().endswith("FOR UPDATE")
        ):
            pathlib.Path(args.locking).touch()

    @event.listens_for(database.engine, "after_cursor_execute")
    def after(*params: Any) -> None:
        statement = str(params[2])
        if not args.pause or paused or not statement.startswith(WRITES):
            return
        paused.append(True)
        ready, go = [*args.pause, None][:2]
        pathlib.Path(ready).touch()
        while go is None or not pathlib.Path(go).exists():
            time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("host_xml")
    parser.add_argument("spec")
    parser.add_argument("host")
    parser.add_argument("--locking")
    parser.add_argument("--pause", nargs="+")
    args = parser.parse_args()

    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([], project="sriovirt", default_config_files=[])
    conf.set_override("host", args.host)
    spec = json.loads(pathlib.Path(args.spec).read_text())
    host = Host(paths.test_driver_uri(pathlib.Path(args.host_xml)))
    try:
        with api.Database(args.url) as database:
            _hooks(database, args)
            rt = ResourceTracker(
                args.host,
                LibvirtDriver(conf, host=host),
                database,
                Whitelist.from_config(spec),
            )
            report = rt.start()
    except exception.SriovirtError as error:
        print(f"refresh_child: error: {error}", file=sys.stderr)
        return 1
    finally:
        host.close()
    saved = report.refresh.saved
    print(
        json.dumps(
            {
                "inserted": saved.inserted,
                "updated": saved.updated,
                "deleted": saved.deleted,
                "restored": report.restored,
                "conflicts": list(report.conflicts),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
