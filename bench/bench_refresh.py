"""Refresh bench: the resource tracker's full and steady-state refresh.

``run(sizes)`` renders the design's reference host (:mod:`bench.workload`,
N NICs x 2 PFs x 128 VFs) as a libvirt test-driver host document, reads
it through the real driver (``LibvirtDriver`` -> ``Host`` -> inventory)
and times, per NIC count:

* ``full``: a new :class:`~sriovirt.compute.resource_tracker.
  ResourceTracker` on a fresh, synced SQLite database running ``start()``
  (inventory, tracker sync of every device, restore from the empty
  database, pools, insert of every row).  The phases come from its
  ``RefreshReport`` (``sync_ms`` includes the restore); ``start_other_ms``
  is the rest (schema check, compute node, reading stored rows and
  instances).
* ``steady``: ``refresh()`` again with nothing changed, phases from its
  ``RefreshReport`` (pools and DB are 0: nothing is written).
* ``libvirt``: the test driver's own costs, which are not ours: opening
  the connection (it parses the host document) and ``Host.
  node_device_xmls`` (listing + ``XMLDesc`` per device); ``parse_ms`` is
  ours: node-device XML -> ``HostPciDevice`` (``inventory.
  from_node_device_xmls``).
* ``match``: ``Whitelist.match`` over the inventory, timed on its own
  (inside a refresh it is part of ``sync``).

Every phase is also given in ns per device.  Best of a few repeats (fewer
for big hosts), GC off while timing.  This module only measures; it
raises if a refresh does not do what the design says (every device stored
by the full refresh, nothing written by the steady one).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from oslo_config import cfg
from tests.doubles import empty_conf

from bench.hostdoc import host_document
from bench.timing import best_ms, gc_off
from bench.workload import build_device_spec, build_devices
from sriovirt import paths
from sriovirt.compute.resource_tracker import RefreshReport, ResourceTracker
from sriovirt.db import api
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt import inventory
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host

HOST = "bench-host"
REPEATS = 5
#: Hosts at least this big (devices) get fewer repeats.
BIG = 4_000
BIG_REPEATS = 3


def _conf() -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", HOST)
    return conf


def _per_device(phases: dict[str, float], n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, ms in phases.items():
        out[name] = round(ms, 3)
        out[name.removesuffix("_ms") + "_ns_per_device"] = round(ms * 1e6 / n)
    return out


def _full_refresh(
    workdir: Path,
    index: int,
    host: Host,
    whitelist: Whitelist,
) -> tuple[dict[str, float], ResourceTracker, api.Database]:
    url = f"sqlite:///{workdir / f'full-{index}.sqlite'}"
    if (workdir / f"full-{index}.sqlite").exists():
        raise AssertionError(f"{url} is not a fresh database")
    api.sync(url)
    database = api.Database(url)
    driver = LibvirtDriver(_conf(), host=host)
    rt = ResourceTracker(HOST, driver, database, whitelist)
    with gc_off():
        start = time.perf_counter()
        report = rt.start()
        total = time.perf_counter() - start
    refresh = report.refresh
    if (
        refresh.saved.inserted != len(rt.tracker.devices)
        or not refresh.saved.stats_updated
    ):
        raise AssertionError(f"full refresh stored {refresh.saved}")
    # The report's phases; the total is start()'s wall time, of which
    # start_other_ms is what the phases do not cover.
    phases = _phases(refresh)
    phases["total_ms"] = total * 1e3
    phases["start_other_ms"] = phases["total_ms"] - refresh.total_ms
    return phases, rt, database


def _phases(report: RefreshReport) -> dict[str, float]:
    return {
        "total_ms": report.total_ms,
        "inventory_ms": report.inventory_ms,
        "sync_ms": report.sync_ms,
        "pools_ms": report.pools_ms,
        "db_ms": report.db_ms,
    }


def _steady(rt: ResourceTracker, repeats: int) -> dict[str, float]:
    best: RefreshReport | None = None
    with gc_off():
        for _ in range(repeats):
            report = rt.refresh()
            if report.sync.changed or report.saved.written:
                raise AssertionError(
                    f"steady refresh changed something: {report.sync}, "
                    f"{report.saved}"
                )
            if best is None or report.total_ms < best.total_ms:
                best = report
    assert best is not None
    return _phases(best)


def _size(n_nics: int, workdir: Path) -> dict[str, object]:
    devices = build_devices(n_nics)
    n = len(devices)
    repeats = BIG_REPEATS if n >= BIG else REPEATS
    whitelist = Whitelist.from_config(build_device_spec(devices))
    doc = workdir / f"host-{n_nics}.xml"
    doc.write_text(host_document(devices))
    uri = paths.test_driver_uri(doc)

    def open_host() -> None:
        fresh = Host(uri)
        fresh.versions()
        fresh.close()

    open_ms = best_ms(open_host, repeats)
    host = Host(uri)
    xmls = host.node_device_xmls()  # opens the connection: not timed
    listing_ms = best_ms(host.node_device_xmls, repeats)
    parse_ms = best_ms(lambda: inventory.from_node_device_xmls(xmls), repeats)
    found = inventory.from_node_device_xmls(xmls).devices
    if len(found) != n:
        raise AssertionError(f"inventory found {len(found)} of {n} devices")

    def match_all() -> None:
        match = whitelist.match
        for dev in found:
            match(dev)

    match_ms = best_ms(match_all, repeats)

    full: dict[str, float] | None = None
    rt: ResourceTracker | None = None
    databases: list[api.Database] = []
    for index in range(repeats):
        phases, candidate, database = _full_refresh(
            workdir, index, host, whitelist
        )
        databases.append(database)
        if full is None or phases["total_ms"] < full["total_ms"]:
            full, rt = phases, candidate
    assert full is not None and rt is not None
    steady = _steady(rt, repeats)
    result: dict[str, object] = {
        "nics": n_nics,
        "devices": n,
        "tracked": len(rt.tracker.devices),
        "pools": len(rt.tracker.stats.pools),
        "repeats": repeats,
        "libvirt": _per_device(
            {"open_ms": open_ms, "listing_ms": listing_ms}, n
        ),
        "parse": _per_device({"parse_ms": parse_ms}, n),
        "match": _per_device({"match_ms": match_ms}, n),
        "full": _per_device(full, n),
        "steady": _per_device(steady, n),
    }
    for database in databases:
        database.close()
    host.close()
    return result


def run(sizes: Iterable[int] = (2, 8, 32)) -> dict[str, object]:
    """Full and steady-state refresh timings for each NIC count."""
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="sriovirt-bench-") as tmp:
        for n_nics in sizes:
            workdir = Path(tmp) / f"nics-{n_nics}"
            workdir.mkdir()
            results[str(n_nics)] = _size(n_nics, workdir)
    return results
