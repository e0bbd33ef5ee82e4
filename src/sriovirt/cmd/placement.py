"""``sriovirt placement sync|show``: the host's provider tree in Placement.

``sync`` refreshes the host's PCI devices (as ``pci refresh``: releasing
nothing), computes the provider tree (:mod:`sriovirt.placement.tree`)
and reports it (:class:`~sriovirt.placement.report.ReportClient`): a new
process reads the tree back first, so it adopts what an earlier run
made and writes only differences.  ``show`` syncs nothing: it prints
the providers of the host's tree with inventories, usages and traits.

Which Placement: ``[placement]`` (see :mod:`sriovirt.conf.placement`);
the embedded one by default.  This module must not compute the tree nor
speak Placement's API itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any, TextIO

from oslo_config import cfg

from sriovirt.cmd import compute_driver, host_name, libvirt_uri, output
from sriovirt.compute.placement_report import host_tree
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.conf import pci as pci_conf
from sriovirt.conf import placement as placement_conf
from sriovirt.db import api as db_api
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement import tree as provider_tree
from sriovirt.placement.embedded import MICROVERSION, EmbeddedPlacement
from sriovirt.placement.report import ReportClient, ShownProvider, SyncReport


def report_client(conf: cfg.ConfigOpts) -> ReportClient:
    """The report client of the ``[placement]`` options."""
    return _connect(conf)[0]


def _connect(
    conf: cfg.ConfigOpts,
) -> tuple[ReportClient, EmbeddedPlacement | None]:
    if placement_conf.mode(conf) is placement_conf.Mode.EMBEDDED:
        embedded = EmbeddedPlacement(Path(str(conf.state_path)))
        return ReportClient(embedded.adapter(), embedded.describe()), embedded
    adapter = placement_conf.load_adapter(conf, MICROVERSION)
    endpoint = conf.placement.endpoint_override or (
        f"the {conf.placement.service_type} endpoint of the Keystone "
        "catalog ([placement] auth_type "
        f"{conf.placement.auth_type})"
    )
    return ReportClient(adapter, str(endpoint)), None


def _database(conf: cfg.ConfigOpts) -> db_api.Database:
    database = db_api.Database(str(conf.database.connection))
    database.check_synced()
    return database


# --- sync --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SyncSummary:
    host: str
    endpoint: str
    tree: provider_tree.ProviderTree
    sync: SyncReport
    refresh_ms: float
    #: Loading the embedded Placement (schema check, app); 0 if remote.
    load_ms: float

    def to_dict(self) -> dict[str, Any]:
        s = self.sync
        return {
            "host": self.host,
            "placement": self.endpoint,
            "providers": [p.name for p in self.tree.providers],
            "skipped": list(self.tree.skipped),
            "adopted": list(s.adopted),
            "created": list(s.created),
            "updated": list(s.updated),
            "deleted": list(s.deleted),
            "kept": list(s.kept),
            "requests": s.requests,
            "conflicts": s.conflicts,
            "ms": {
                "refresh": round(self.refresh_ms, 3),
                "placement_load": round(self.load_ms, 3),
                "sync": round(s.ms, 3),
            },
        }


class Sync(output.Document[SyncSummary]):
    """refresh the host's PCI devices and report its provider tree to
    Placement (only differences are written)"""

    def report(self, parsed_args: argparse.Namespace) -> SyncSummary:
        conf = output.conf_of(self)
        host = host_name(conf)
        libvirt_uri(conf)
        wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
        client, embedded = _connect(conf)
        if embedded is not None:
            embedded.app()
        with _database(conf) as database:
            rt = ResourceTracker(host, compute_driver(conf), database, wl)
            started = time.perf_counter()
            rt.load_and_refresh()
            refresh_ms = (time.perf_counter() - started) * 1000.0
            tree = host_tree(rt, host)
        return SyncSummary(
            host,
            client.endpoint,
            tree,
            client.sync(tree),
            refresh_ms,
            0.0 if embedded is None else embedded.load_ms,
        )

    def render(
        self,
        report: SyncSummary,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        s = report.sync
        print(f"host {report.host}: {report.endpoint}", file=out)
        for label, names in (
            ("adopted", s.adopted),
            ("created", s.created),
            ("updated", s.updated),
            ("deleted", s.deleted),
            ("kept (Placement refused to delete)", s.kept),
        ):
            if names:
                print(f"{label}: {', '.join(names)}", file=out)
        if not s.changed:
            print("nothing changed: no provider written", file=out)
        for line in report.tree.skipped:
            print(f"no provider: {line}", file=out)
        print(
            f"{s.requests} requests ({s.conflicts} generation conflicts "
            f"retried), sync {s.ms:.1f} ms, PCI refresh "
            f"{report.refresh_ms:.1f} ms"
            + (
                f", embedded Placement loaded in {report.load_ms:.0f} ms"
                if report.load_ms
                else ""
            ),
            file=out,
        )


# --- show --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShowReport:
    host: str
    endpoint: str
    providers: list[ShownProvider]

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "placement": self.endpoint,
            "providers": [_provider_dict(p) for p in self.providers],
        }


def _provider_dict(shown: ShownProvider) -> dict[str, Any]:
    p = shown.provider
    return {
        "name": p.name,
        "uuid": p.uuid,
        "parent_provider_uuid": p.parent,
        "generation": p.generation,
        "inventories": {
            rc: {**inv.to_json(), "used": shown.usages.get(rc, 0)}
            for rc, inv in sorted(p.inventories.items())
        },
        "traits": sorted(p.traits),
    }


class Show(output.Document[ShowReport]):
    """print the host's resource providers in Placement: inventories,
    usages and traits (syncs nothing)"""

    def report(self, parsed_args: argparse.Namespace) -> ShowReport:
        conf = output.conf_of(self)
        host = host_name(conf)
        client = report_client(conf)
        return ShowReport(host, client.endpoint, client.show(host))

    def status(self, report: ShowReport) -> int:
        return 0 if report.providers else 1

    def render(
        self,
        report: ShowReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        if not report.providers:
            print(
                f"no resource provider named {report.host!r} in "
                f"{report.endpoint}: run `sriovirt placement sync` (or "
                "start the compute service) first",
                file=out,
            )
            return
        names = {s.provider.uuid: s.provider.name for s in report.providers}
        rows = []
        for shown in report.providers:
            p = shown.provider
            parent = "-" if p.parent is None else names.get(p.parent, p.parent)
            traits = "\n".join(sorted(p.traits)) or "-"
            classes = sorted(p.inventories) or ["-"]
            for number, rc in enumerate(classes):
                inv = p.inventories.get(rc)
                rows.append(
                    [
                        p.name if number == 0 else "",
                        parent if number == 0 else "",
                        rc,
                        "-" if inv is None else str(inv.total),
                        "-" if inv is None else str(inv.reserved),
                        str(shown.usages.get(rc, 0)),
                        traits if number == 0 else "",
                    ]
                )
        print(f"host {report.host}: {report.endpoint}", file=out)
        output.table(
            out,
            (
                "PROVIDER",
                "PARENT",
                "RESOURCE CLASS",
                "TOTAL",
                "RESERVED",
                "USED",
                "TRAITS",
            ),
            rows,
            parsed_args,
        )
