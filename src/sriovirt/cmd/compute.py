"""``sriovirt compute reconcile|list|disable|enable``.

``list`` shows the compute services of the services table: up or down
by the age of their last heartbeat against ``[DEFAULT]
service_down_time``, enabled or disabled (and why), the RPC version
each serves.  ``disable HOST --reason ...`` and ``enable HOST`` set
what the scheduler side reads before sending a host work.

``ping HOST`` calls the host's compute service over the message bus
(``[DEFAULT] transport_url``) and shows its answer and the round trip.

``reconcile`` reconciles this host now.

What the compute service does at its start (see
:mod:`sriovirt.compute.reconcile`): interrupted boots rolled back and
deletes completed, claims of boots that never finished released, active
servers' guests resumed when ``[DEFAULT]
resume_guests_state_on_host_boot`` is true, changed ports and unknown
guests reported, and the Placement allocations of the boots it rolled
back or deletes it completed deleted.  Safe beside live boots and
deletes in other processes.

This module must not decide anything itself: it builds the manager,
runs reconcile and prints its findings; it reads and writes the
services table through :class:`~sriovirt.db.api.Database`.  Exit
status 1 when reconcile could not finish something (the finding says
what); reports alone exit 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import time
from collections.abc import Sequence
from typing import Any, TextIO

from oslo_config import cfg

from sriovirt import exception
from sriovirt.cmd import output
from sriovirt.cmd.local import open_host, open_placement
from sriovirt.compute import reconcile, rpc, rpcapi
from sriovirt.compute.reconcile import ReconcileReport
from sriovirt.db import api as db_api
from sriovirt.db.services import ServiceRecord
from sriovirt.placement.allocations import AllocationClient

COLUMNS = ("uuid", "name", "outcome", "detail")


@dataclasses.dataclass(frozen=True)
class _Report:
    report: ReconcileReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.report.host,
            "findings": [
                {
                    "uuid": f.uuid,
                    "name": f.name,
                    "outcome": f.outcome.value,
                    "detail": f.detail,
                }
                for f in self.report.findings
            ],
        }


class Reconcile(output.Document[_Report]):
    """reconcile this host: finish interrupted boots and deletes, resume
    guests, report changed ports and unknown guests"""

    def report(self, parsed_args: argparse.Namespace) -> _Report:
        conf = output.conf_of(self)
        resume = bool(conf.resume_guests_state_on_host_boot)
        with open_host(conf) as found, open_placement(conf) as placement:
            manager = found.manager(conf, placement=placement)
            allocations = AllocationClient(
                placement.adapter, placement.endpoint
            )
            return _Report(
                reconcile.reconcile(
                    manager, resume=resume, allocations=allocations
                )
            )

    def render(
        self, report: _Report, out: TextIO, parsed_args: argparse.Namespace
    ) -> None:
        r = report.report
        done = sum(f.outcome in reconcile.ACTIONS for f in r.findings)
        print(
            f"host {r.host}: {len(r.findings)} findings, {done} acted on",
            file=out,
        )
        if r.findings:
            output.table(
                out,
                COLUMNS,
                [
                    [f.uuid, f.name or "-", f.outcome.value, f.detail]
                    for f in r.findings
                ],
                parsed_args,
            )

    def status(self, report: _Report) -> int:
        return 1 if report.report.failed else 0


# --- services ----------------------------------------------------------------

SERVICE_COLUMNS = (
    "host",
    "binary",
    "status",
    "state",
    "disabled reason",
    "version",
    "last seen up",
)


def _database(conf: cfg.ConfigOpts) -> db_api.Database:
    database = db_api.Database(str(conf.database.connection))
    database.check_synced()
    return database


def service_state(service: ServiceRecord, service_down_time: float) -> str:
    """``up`` or ``down``: the heartbeat's age against the limit."""
    # Stored heartbeats are naive UTC.
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return "up" if service.is_up(now, service_down_time) else "down"


def _status(service: ServiceRecord) -> str:
    return "disabled" if service.disabled else "enabled"


def _seen(service: ServiceRecord) -> str | None:
    if service.last_seen_up is None:
        return None
    return service.last_seen_up.isoformat(sep=" ", timespec="seconds")


class ListServices(output.Listing):
    """list the compute services: up/down, enabled/disabled, version"""

    _notes: Sequence[str] = ()

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        conf = output.conf_of(self)
        down_time = int(conf.service_down_time)
        with _database(conf) as database:
            found = database.get_services(rpc.BINARY)
        rows = [
            [
                s.host,
                s.binary,
                _status(s),
                service_state(s, down_time),
                output.Nullable(s.disabled_reason),
                s.version,
                output.Nullable(_seen(s)),
            ]
            for s in found
        ]
        up = sum(row[3] == "up" for row in rows)
        self._notes = (
            f"{len(rows)} compute services, {up} up (down after "
            f"{down_time} s without a heartbeat: [DEFAULT] "
            "service_down_time)",
        )
        return SERVICE_COLUMNS, rows

    def notes(self) -> Sequence[str]:
        return self._notes


@dataclasses.dataclass(frozen=True)
class _ServiceReport:
    service: ServiceRecord

    def to_dict(self) -> dict[str, Any]:
        s = self.service
        return {
            "host": s.host,
            "binary": s.binary,
            "status": _status(s),
            "disabled_reason": s.disabled_reason,
        }


class _SetDisabled(output.Document[_ServiceReport]):
    disable = True

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "host", metavar="HOST", help="the compute service's host"
        )
        if self.disable:
            parser.add_argument(
                "--reason",
                help="why (shown by `sriovirt compute list` and in the "
                "scheduler's 'no valid host')",
            )
        return parser

    def report(self, parsed_args: argparse.Namespace) -> _ServiceReport:
        conf = output.conf_of(self)
        reason = getattr(parsed_args, "reason", None)
        with _database(conf) as database:
            record = database.set_service_disabled(
                parsed_args.host, rpc.BINARY, self.disable, reason
            )
        return _ServiceReport(record)

    def render(
        self,
        report: _ServiceReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        s = report.service
        why = f" ({s.disabled_reason})" if s.disabled_reason else ""
        print(f"{s.binary} on host {s.host}: {_status(s)}{why}", file=out)


class Disable(_SetDisabled):
    """disable a compute service: the scheduler side sends it no work"""

    disable = True


class Enable(_SetDisabled):
    """enable a compute service again (its disabled reason is cleared)"""

    disable = False


# --- ping --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Pong:
    host: str
    version: str
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "version": self.version, "ms": self.ms}


class Ping(output.Document[_Pong]):
    """call a host's compute service over the message bus and time it"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "host", metavar="HOST", help="the compute service's host"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="seconds to wait for the answer (default 10)",
        )
        return parser

    def report(self, parsed_args: argparse.Namespace) -> _Pong:
        conf = output.conf_of(self)
        if not conf.transport_url:
            raise exception.ConfigError(
                reason="[DEFAULT] transport_url is unset: there is no "
                "message bus to reach a compute service on (set it to "
                "rabbit://USER:PASSWORD@HOST:PORT/)"
            )
        transport = rpc.transport(conf)
        try:
            api = rpcapi.ComputeAPI(
                conf, transport, timeout=parsed_args.timeout
            )
            start = time.perf_counter()
            answer = api.ping(parsed_args.host)
            ms = (time.perf_counter() - start) * 1000
        finally:
            rpc.cleanup(transport)
        return _Pong(str(answer["host"]), str(answer["version"]), ms)

    def render(
        self, report: _Pong, out: TextIO, parsed_args: argparse.Namespace
    ) -> None:
        print(
            f"{rpc.BINARY} on host {report.host} answered in "
            f"{report.ms:.1f} ms (RPC version {report.version})",
            file=out,
        )
