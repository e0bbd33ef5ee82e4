"""``sriovirt compute reconcile``: reconcile this host now.

What the compute service does at its start (see
:mod:`sriovirt.compute.reconcile`): interrupted boots rolled back and
deletes completed, claims of boots that never finished released, active
servers' guests resumed when ``[DEFAULT]
resume_guests_state_on_host_boot`` is true, changed ports and unknown
guests reported, and the Placement allocations of the boots it rolled
back or deletes it completed deleted.  Safe beside live boots and
deletes in other processes.

This module must not decide anything itself: it builds the manager,
runs reconcile and prints its findings.  Exit status 1 when reconcile
could not finish something (the finding says what); reports alone exit 0.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TextIO

from sriovirt.cmd import output
from sriovirt.cmd.server import open_host, open_placement
from sriovirt.compute import reconcile
from sriovirt.compute.reconcile import ReconcileReport
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
