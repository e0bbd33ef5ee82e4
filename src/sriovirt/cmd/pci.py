"""``sriovirt pci explain|refresh|list|pools``: the host's PCI devices as
operators need to see them.

``explain`` reads the inventory live through the compute driver and says,
for each PCI function, which ``[pci] device_spec`` entry whitelists it
(with its tags), or why none does.  ``refresh`` stores what the host has
now through the resource tracker, releasing nothing.  ``list`` and
``pools`` show what the compute node has stored: the tracked devices with
state and owner, and the pools the scheduler sees.

This module must not reach past the compute driver interface, the
resource tracker and the database API (no libvirt host or inventory
parsing here), and must not decide matching or pools.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.cmd import compute_driver, host_name, libvirt_uri, output
from sriovirt.compute.resource_tracker import ResourceTracker, StartReport
from sriovirt.conf import pci as pci_conf
from sriovirt.db import api as db_api
from sriovirt.db.records import ComputeNodeRecord
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.devspec import DeviceSpec
from sriovirt.pci.stats import PciStats
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.driver import PciInventory

# --- explain -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One host PCI function and the entry that whitelists it, if any."""

    device: HostPciDevice
    spec: DeviceSpec | None
    explain: list[str]

    def to_dict(self) -> dict[str, Any]:
        d, s = self.device, self.spec
        return {
            "address": str(d.address),
            "dev_type": d.dev_type.value,
            "vendor_id": d.vendor_id,
            "product_id": d.product_id,
            "numa_node": d.numa_node,
            "ifname": d.ifname,
            "parent_addr": None
            if d.parent_addr is None
            else str(d.parent_addr),
            "entry": None if s is None else s.origin.position,
            "physical_network": None if s is None else s.physical_network,
            "tags": {} if s is None else dict(s.tags),
            "explain": list(self.explain),
        }

    def row(self) -> list[str]:
        d, s = self.device, self.spec
        return [
            str(d.address),
            d.dev_type.value,
            d.vendor_info,
            "-" if d.numa_node is None else str(d.numa_node),
            d.ifname or "-",
            "-" if s is None else str(s.origin.position),
            "-" if s is None else str(s.physical_network),
            "-" if s is None else output.tags_text(s.tags),
        ]


EXPLAIN_HEADERS = (
    "ADDRESS",
    "TYPE",
    "VENDOR:PRODUCT",
    "NUMA",
    "NETDEV",
    "ENTRY",
    "PHYSNET",
    "TAGS",
)


@dataclasses.dataclass(frozen=True)
class ExplainReport:
    connection_uri: str
    entries: int
    warnings: list[str]
    skipped: list[str]
    verdicts: list[Verdict]
    #: One address was asked about: every verdict is explained.
    one_address: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection_uri": self.connection_uri,
            "entries": self.entries,
            "warnings": list(self.warnings),
            "skipped": list(self.skipped),
            "devices": [v.to_dict() for v in self.verdicts],
        }


class Explain(output.Document[ExplainReport]):
    """show which device_spec entry whitelists each host PCI device"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "address",
            nargs="?",
            metavar="ADDRESS",
            help="only this PCI address (dddd:bb:ss.f); shows every "
            "entry's verdict",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--host-xml",
            metavar="FILE",
            help="read the devices from a libvirt test-driver host "
            "document instead of [libvirt] connection_uri",
        )
        source.add_argument(
            "--connection",
            metavar="URI",
            help="libvirt URI to read the devices from (default: "
            "[libvirt] connection_uri)",
        )
        return parser

    def report(self, parsed_args: argparse.Namespace) -> ExplainReport:
        conf = output.conf_of(self)
        wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
        uri = _uri(conf, parsed_args)
        inv = compute_driver(conf, uri).pci_inventory()
        devices = _only(inv, parsed_args.address, uri)
        return ExplainReport(
            connection_uri=uri,
            entries=len(wl.entries),
            warnings=list(wl.warnings),
            skipped=list(inv.skipped),
            verdicts=[Verdict(d, wl.match(d), wl.explain(d)) for d in devices],
            one_address=parsed_args.address is not None,
        )

    def render(
        self,
        report: ExplainReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        verdicts = report.verdicts
        print(
            f"host {report.connection_uri}: {len(verdicts)} PCI devices, "
            f"{report.entries} device_spec entries",
            file=out,
        )
        output.table(
            out, EXPLAIN_HEADERS, [v.row() for v in verdicts], parsed_args
        )
        for warning in report.warnings:
            print(f"warning: {warning}", file=out)
        for reason in report.skipped:
            print(f"skipped: {reason}", file=out)
        # Say why for what is not whitelisted (and for everything when
        # one address was asked about).
        for v in verdicts:
            if v.spec is None or report.one_address:
                d = v.device
                print(
                    f"\n{d.address} ({d.dev_type.value} {d.vendor_info}):",
                    file=out,
                )
                for line in v.explain:
                    print(f"  {line}", file=out)
        matched = sum(v.spec is not None for v in verdicts)
        print(f"\n{matched} of {len(verdicts)} devices whitelisted", file=out)


def _uri(conf: cfg.ConfigOpts, parsed_args: argparse.Namespace) -> str:
    if parsed_args.host_xml:
        path = Path(parsed_args.host_xml)
        if not path.is_file():
            raise exception.Invalid(
                reason=f"--host-xml {parsed_args.host_xml!r} is not a file"
            )
        return paths.test_driver_uri(path)
    return libvirt_uri(conf, parsed_args.connection)


def _only(
    inv: PciInventory, wanted: str | None, uri: str
) -> list[HostPciDevice]:
    """The devices to explain: all, or the one at ``wanted``."""
    devices = list(inv.devices)
    # An empty ADDRESS ('') is a mistake to report, not "every device".
    if wanted is None:
        return devices
    address = PciAddress.parse(wanted)
    devices = [d for d in devices if d.address == address]
    if not devices:
        raise exception.Invalid(
            reason=f"no PCI device {address} on host {uri} "
            f"({len(inv.devices)} devices there; run without an address "
            "to list them)"
        )
    return devices


# --- refresh -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RefreshSummary:
    host: str
    tracked: int
    start: StartReport

    def to_dict(self) -> dict[str, Any]:
        report, r = self.start, self.start.refresh
        return {
            "host": self.host,
            "devices": r.devices,
            "tracked": self.tracked,
            "restored_in_use": report.restored,
            "released": list(report.released),
            "missing_in_use": list(report.missing),
            "conflicts": list(report.conflicts),
            "skipped": list(r.skipped),
            "written": {
                "inserted": r.saved.inserted,
                "updated": r.saved.updated,
                "deleted": r.saved.deleted,
                "pools_updated": r.saved.stats_updated,
            },
            "ms": {
                "inventory": round(r.inventory_ms, 3),
                "sync": round(r.sync_ms, 3),
                "pools": round(r.pools_ms, 3),
                "db": round(r.db_ms, 3),
            },
        }


class Refresh(output.Document[RefreshSummary]):
    """discover the host's PCI devices now and store devices and pools

    Stored claims and allocations are kept as they are: releasing those
    of unfinished boots is the compute service's decision at its start.
    """

    def report(self, parsed_args: argparse.Namespace) -> RefreshSummary:
        conf = output.conf_of(self)
        # Checked before anything is stored under them.
        host = host_name(conf)
        libvirt_uri(conf)
        wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
        with _database(conf) as database:
            rt = ResourceTracker(host, compute_driver(conf), database, wl)
            start = rt.load_and_refresh()
        return RefreshSummary(host, len(rt.tracker.devices), start)

    def render(
        self,
        report: RefreshSummary,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        start, r = report.start, report.start.refresh
        s = r.saved
        print(
            f"host {report.host}: {r.devices} PCI devices on the host, "
            f"{report.tracked} whitelisted and tracked",
            file=out,
        )
        print(
            f"stored: {s.inserted} inserted, {s.updated} updated, "
            f"{s.deleted} deleted, pools "
            f"{'updated' if s.stats_updated else 'unchanged'}"
            + (" (nothing changed)" if not s.written else ""),
            file=out,
        )
        for label, items in (
            ("in use but missing from the host", start.missing),
            ("conflicting records", start.conflicts),
            ("skipped", r.skipped),
        ):
            for item in items:
                print(f"{label}: {item}", file=out)
        print(
            f"took {r.total_ms:.1f} ms (inventory {r.inventory_ms:.1f}, sync "
            f"{r.sync_ms:.1f}, pools {r.pools_ms:.1f}, db {r.db_ms:.1f})",
            file=out,
        )


# --- list and pools ----------------------------------------------------------


def _database(conf: cfg.ConfigOpts) -> db_api.Database:
    database = db_api.Database(str(conf.database.connection))
    database.check_synced()
    return database


def _stored_node(
    conf: cfg.ConfigOpts, database: db_api.Database
) -> ComputeNodeRecord:
    host = host_name(conf)
    nodename = compute_driver(conf).nodename()
    node = database.get_compute_node(host, nodename)
    if node is None:
        raise exception.Invalid(
            reason=f"no compute node {host}/{nodename} in "
            f"{database.masked_url} yet: run `sriovirt pci refresh` or "
            "start the compute service"
        )
    return node


DEVICE_COLUMNS = (
    "address",
    "dev_type",
    "vendor_id",
    "product_id",
    "numa_node",
    "parent_addr",
    "status",
    "instance_uuid",
    "request_id",
    "extra_info",
)


class ListDevices(output.Listing):
    """list the tracked PCI devices with state and owner"""

    _notes: Sequence[str] = ()

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        conf = output.conf_of(self)
        with _database(conf) as database:
            node = _stored_node(conf, database)
            records = database.get_pci_devices(node.id)
        self._notes = (
            f"{len(records)} devices on compute node "
            f"{node.hypervisor_hostname}",
        )
        return DEVICE_COLUMNS, [
            [
                r.address,
                r.dev_type,
                r.vendor_id,
                r.product_id,
                output.Nullable(r.numa_node),
                output.Nullable(r.parent_addr),
                r.status,
                output.Nullable(r.instance_uuid),
                output.Nullable(r.request_id),
                output.Tags(dict(r.extra_info)),
            ]
            for r in records
        ]

    def notes(self) -> Sequence[str]:
        return self._notes


POOL_COLUMNS = ("vendor_id", "product_id", "numa_node", "tags", "count")


class Pools(output.Listing):
    """show the PCI stats pools as the scheduler sees them"""

    _notes: Sequence[str] = ()

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        conf = output.conf_of(self)
        with _database(conf) as database:
            node = _stored_node(conf, database)
        stats = PciStats.from_json(
            node.pci_stats or "[]",
            source=f"compute_nodes.pci_stats of {node.hypervisor_hostname}",
        )
        # The pools' own JSON (what Placement and the scheduler read).
        pools = json.loads(stats.to_json())
        total = sum(p["count"] for p in pools)
        self._notes = (f"{len(pools)} pools, {total} free devices",)
        return POOL_COLUMNS, [
            [
                p["vendor_id"],
                p["product_id"],
                output.Nullable(p["numa_node"]),
                output.Tags(p["tags"]),
                p["count"],
            ]
            for p in pools
        ]

    def notes(self) -> Sequence[str]:
        return self._notes
