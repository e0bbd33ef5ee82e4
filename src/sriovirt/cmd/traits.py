"""``sriovirt traits`` (``traits show``): the host's traits, each with
the reason.

The decision itself belongs to the compute driver
(:meth:`~sriovirt.virt.driver.ComputeDriver.explain_traits`); this
command only asks the driver and prints.  It must not decide a trait.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any, TextIO

from sriovirt.cmd import compute_driver, libvirt_uri, output
from sriovirt.virt.driver import HostVersions, TraitExplanation


@dataclasses.dataclass(frozen=True)
class TraitsReport:
    connection_uri: str
    versions: HostVersions
    traits: Sequence[TraitExplanation]

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection_uri": self.connection_uri,
            "lib_version": self.versions.library,
            "hypervisor": self.versions.hypervisor_type,
            "hv_version": self.versions.hypervisor,
            "traits": {
                t.name: {"supported": t.supported, "reason": t.reason}
                for t in self.traits
            },
        }


class ShowTraits(output.Document[TraitsReport]):
    """print the host's traits with the reason for each"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--connection",
            metavar="URI",
            help="libvirt URI to ask (default: [libvirt] connection_uri)",
        )
        return parser

    def report(self, parsed_args: argparse.Namespace) -> TraitsReport:
        conf = output.conf_of(self)
        uri = libvirt_uri(conf, parsed_args.connection)
        driver = compute_driver(conf, uri)
        return TraitsReport(
            uri, driver.host_versions(), tuple(driver.explain_traits())
        )

    def render(
        self,
        report: TraitsReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        v = report.versions
        print(
            f"host {report.connection_uri}: libvirt {v.library}, "
            f"{v.hypervisor_type} {v.hypervisor}",
            file=out,
        )
        output.table(
            out,
            ("TRAIT", "REPORTED", "REASON"),
            [
                [t.name, "yes" if t.supported else "no", t.reason]
                for t in report.traits
            ],
            parsed_args,
        )
