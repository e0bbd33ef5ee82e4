"""``sriovirt pci explain|list|pools``: the host's PCI devices as
operators need to see them.

``explain`` reads the inventory live from libvirt and says, for each PCI
function, which ``[pci] device_spec`` entry whitelists it (with its tags),
or why none does.  ``list`` and ``pools`` show what the compute node has
stored: the tracked devices with state and owner, and the pools the
scheduler sees.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.cmd import host_name, libvirt_uri, output
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.conf import pci as pci_conf
from sriovirt.db import api as db_api
from sriovirt.db.records import ComputeNodeRecord
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.devspec import DeviceSpec
from sriovirt.pci.stats import PciStats
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt import host as libvirt_host
from sriovirt.virt.libvirt import inventory
from sriovirt.virt.libvirt.driver import LibvirtDriver


def add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address",
        nargs="?",
        metavar="ADDRESS",
        help="only this PCI address (dddd:bb:ss.f); shows every entry's "
        "verdict",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--host-xml",
        metavar="FILE",
        help="read the devices from a libvirt test-driver host document "
        "instead of [libvirt] connection_uri",
    )
    source.add_argument(
        "--connection",
        metavar="URI",
        help="libvirt URI to read the devices from (default: [libvirt] "
        "connection_uri)",
    )
    output.add_format_argument(parser)


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    output.add_format_argument(parser)


def _uri(conf: cfg.ConfigOpts) -> str:
    args = conf.command
    if args.host_xml:
        path = Path(args.host_xml)
        if not path.is_file():
            raise exception.Invalid(
                reason=f"--host-xml {args.host_xml!r} is not a file"
            )
        return paths.test_driver_uri(path)
    return libvirt_uri(conf, args.connection)


def _tags(spec: DeviceSpec | None) -> str:
    if spec is None:
        return "-"
    return ",".join(f"{k}={v}" for k, v in sorted(spec.tags.items())) or "-"


def _row(dev: HostPciDevice, spec: DeviceSpec | None) -> list[str]:
    return [
        str(dev.address),
        dev.dev_type.value,
        dev.vendor_info,
        "-" if dev.numa_node is None else str(dev.numa_node),
        dev.ifname or "-",
        "-" if spec is None else str(spec.origin.position),
        "-" if spec is None else str(spec.physical_network),
        _tags(spec),
    ]


HEADERS = (
    "ADDRESS",
    "TYPE",
    "VENDOR:PRODUCT",
    "NUMA",
    "NETDEV",
    "ENTRY",
    "PHYSNET",
    "TAGS",
)


def explain(conf: cfg.ConfigOpts) -> int:
    wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
    uri = _uri(conf)
    inv = inventory.read(libvirt_host.Host(uri))
    devices = list(inv.devices)
    wanted = conf.command.address
    # An empty ADDRESS ('') is a mistake to report, not "every device".
    if wanted is not None:
        address = PciAddress.parse(wanted)
        devices = [d for d in devices if d.address == address]
        if not devices:
            raise exception.Invalid(
                reason=f"no PCI device {address} on host {uri} "
                f"({len(inv.devices)} devices there; run without an "
                "address to list them)"
            )
    verdicts = [(d, wl.match(d)) for d in devices]
    if conf.command.format == "json":
        output.as_json(
            {
                "connection_uri": uri,
                "entries": len(wl.entries),
                "warnings": list(wl.warnings),
                "skipped": list(inv.skipped),
                "devices": [
                    {
                        "address": str(d.address),
                        "dev_type": d.dev_type.value,
                        "vendor_id": d.vendor_id,
                        "product_id": d.product_id,
                        "numa_node": d.numa_node,
                        "ifname": d.ifname,
                        "parent_addr": (
                            None
                            if d.parent_addr is None
                            else str(d.parent_addr)
                        ),
                        "entry": None if s is None else s.origin.position,
                        "physical_network": (
                            None if s is None else s.physical_network
                        ),
                        "tags": {} if s is None else dict(s.tags),
                        "explain": wl.explain(d),
                    }
                    for d, s in verdicts
                ],
            }
        )
        return 0

    print(
        f"host {uri}: {len(devices)} PCI devices, "
        f"{len(wl.entries)} device_spec entries"
    )
    output.table(HEADERS, [_row(d, s) for d, s in verdicts])
    for warning in wl.warnings:
        print(f"warning: {warning}")
    for reason in inv.skipped:
        print(f"skipped: {reason}")
    # Say why for what is not whitelisted (and for everything when one
    # address was asked about).
    unexplained = [d for d, s in verdicts if s is None or wanted]
    for dev in unexplained:
        print(f"\n{dev.address} ({dev.dev_type.value} {dev.vendor_info}):")
        for line in wl.explain(dev):
            print(f"  {line}")
    matched = sum(s is not None for _, s in verdicts)
    print(f"\n{matched} of {len(devices)} devices whitelisted")
    return 0


def _database(conf: cfg.ConfigOpts) -> db_api.Database:
    database = db_api.Database(str(conf.database.connection))
    database.check_synced()
    return database


def _stored_node(
    conf: cfg.ConfigOpts, database: db_api.Database
) -> ComputeNodeRecord:
    host = host_name(conf)
    nodename = LibvirtDriver(conf).nodename()
    node = database.get_compute_node(host, nodename)
    if node is None:
        raise exception.Invalid(
            reason=f"no compute node {host}/{nodename} in "
            f"{database.masked_url} yet: run `sriovirt pci refresh` or "
            "start the compute service"
        )
    return node


def refresh(conf: cfg.ConfigOpts) -> int:
    # Checked before anything is stored under them.
    host_name(conf)
    libvirt_uri(conf)
    wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
    with _database(conf) as database:
        rt = ResourceTracker(conf.host, LibvirtDriver(conf), database, wl)
        report = rt.start()
    r = report.refresh
    summary = {
        "host": conf.host,
        "devices": r.devices,
        "tracked": len(rt.tracker.devices),
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
    if conf.command.format == "json":
        output.as_json(summary)
        return 0
    s = r.saved
    print(
        f"host {conf.host}: {r.devices} PCI devices on the host, "
        f"{len(rt.tracker.devices)} whitelisted and tracked"
    )
    print(
        f"stored: {s.inserted} inserted, {s.updated} updated, "
        f"{s.deleted} deleted, pools "
        f"{'updated' if s.stats_updated else 'unchanged'}"
        + (" (nothing changed)" if not s.written else "")
    )
    for label, items in (
        ("released (instance gone or boot unfinished)", report.released),
        ("in use but missing from the host", report.missing),
        ("conflicting records", report.conflicts),
        ("skipped", r.skipped),
    ):
        for item in items:
            print(f"{label}: {item}")
    print(
        f"took {r.total_ms:.1f} ms (inventory {r.inventory_ms:.1f}, sync "
        f"{r.sync_ms:.1f}, pools {r.pools_ms:.1f}, db {r.db_ms:.1f})"
    )
    return 0


def list_devices(conf: cfg.ConfigOpts) -> int:
    with _database(conf) as database:
        node = _stored_node(conf, database)
        records = database.get_pci_devices(node.id)
    if conf.command.format == "json":
        output.as_json(
            [
                {
                    "address": r.address,
                    "dev_type": r.dev_type,
                    "vendor_id": r.vendor_id,
                    "product_id": r.product_id,
                    "numa_node": r.numa_node,
                    "parent_addr": r.parent_addr,
                    "status": r.status,
                    "instance_uuid": r.instance_uuid,
                    "request_id": r.request_id,
                    "extra_info": r.extra_info,
                }
                for r in records
            ]
        )
        return 0
    output.table(
        (
            "ADDRESS",
            "TYPE",
            "VENDOR:PRODUCT",
            "NUMA",
            "STATUS",
            "INSTANCE",
            "REQUEST_ID",
            "PHYSNET",
            "PARENT",
        ),
        [
            [
                r.address,
                r.dev_type,
                f"{r.vendor_id}:{r.product_id}",
                "-" if r.numa_node is None else str(r.numa_node),
                r.status,
                r.instance_uuid or "-",
                r.request_id or "-",
                r.extra_info.get("physical_network", "-"),
                r.parent_addr or "-",
            ]
            for r in records
        ],
    )
    print(f"{len(records)} devices on compute node {node.hypervisor_hostname}")
    return 0


def pools(conf: cfg.ConfigOpts) -> int:
    with _database(conf) as database:
        node = _stored_node(conf, database)
    stats = PciStats.from_json(
        node.pci_stats or "[]",
        source=f"compute_nodes.pci_stats of {node.hypervisor_hostname}",
    )
    if conf.command.format == "json":
        output.as_json(json.loads(stats.to_json()))
        return 0
    rows = []
    for pool in stats.pools:
        key = pool.key
        tags = dict(key.tags)
        rows.append(
            [
                f"{key.vendor_id}:{key.product_id}",
                key.dev_type,
                "-" if key.numa_node is None else str(key.numa_node),
                str(key.physical_network or "-"),
                ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-",
                str(pool.count),
            ]
        )
    output.table(
        ("VENDOR:PRODUCT", "TYPE", "NUMA", "PHYSNET", "TAGS", "FREE"), rows
    )
    total = sum(p.count for p in stats.pools)
    print(f"{len(rows)} pools, {total} free devices")
    return 0
