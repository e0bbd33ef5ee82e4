"""Decision bench: one whole scheduling decision through the real Placement.

A fleet of N hosts (:data:`HOSTS`: 100 and 1,000) is set up the way the
compute services would leave it:

* **Placement** (openstack-placement, in-process on SQLite as the
  embedded default runs it) holds every host's provider tree as
  :func:`sriovirt.placement.tree.compute_tree` makes it from the
  tracked devices of a 1-NIC workload host (``bench.workload``: 2 PFs x
  128 VFs, ``exact_address`` spec, PF 0 on physnet0, PF 1 on physnet1):
  a root with ``VCPU`` 256, ``MEMORY_MB`` 262144, ``DISK_GB`` 2000 and
  ``COMPUTE_NET_VIRTIO_PACKED`` on every other host, and per PF a child
  with ``SRIOV_NET_VF`` 128, ``CUSTOM_SRIOV_NET_PF`` 1, its physnet
  trait and the three vnic-type traits.  The first :data:`TEMPLATES`
  hosts (one with the packed trait, one without) go through the real
  :class:`~sriovirt.placement.report.ReportClient` (its cost per host is
  reported: ~85 ms, so 1,000 hosts that way would take minutes); the
  others are written into Placement's tables in one transaction from
  the same :class:`~sriovirt.placement.tree.ProviderTree` values, with
  the generations the report client left on the templates.  Then a
  *new* report client syncs a sample of the bulk-written hosts (first,
  middle, last): it reads each tree back through Placement's API and
  must find nothing to send (``changed`` False), or the bench fails.
  ``populate="report"`` sends every host through the report client
  instead (slow; for checking that the bulk path changes nothing).
* **sriovirt's database** (SQLite) holds one compute node per host
  (uuid = root provider uuid) whose ``pci_stats`` is that host's
  tracker's pools JSON: the templates' rows written through
  :class:`~sriovirt.db.api.Database` as the resource tracker writes
  them (~35 ms a host), the others inserted in one statement as copies
  of the first template's row, a sample read back through the
  scheduler's query.  No ``pci_devices`` rows: a decision never reads
  them.

Everything is built afresh in a temporary directory each run (a few
seconds at 1,000 hosts): nothing is cached between runs, so a change of
the tree, the pools or Placement's schema cannot leave a stale fleet.
The 1,000-host fleet is the 100-host one plus 900 hosts.

Each request (:data:`REQUESTS`) is decided :data:`REPEAT` times by
:func:`~sriovirt.scheduler.destinations.select_destinations` (after one
untimed decision), garbage collector off: ``one_port`` (1 vCPU, 64 MB,
one ``direct`` port on physnet1: one candidate per host), ``two_ports``
(physnet0 and physnet1: two granular groups) and ``packed`` (one port,
``hw:virtio_packed_ring=true``: the packed trait is required, half the
hosts answer).  ``cold``: a new pools cache per decision (every host's
pools JSON parsed); ``warm``: one :class:`PoolsCache` across the
decisions (a long-lived scheduler whose hosts' pools did not change).

Per decision the figures split the wall time (``total``) into
``placement`` (the ``GET /allocation_candidates`` call measured client
side, as ``select_destinations`` reports it: ``placement_http`` the
request and answer, ``placement_decode`` the JSON decoding of the
body), ``database`` (the one compute-node query) and ``ours``
(everything else: request filters, the query, candidates to values,
pools parsed, filters, weigher, sort).  Each is a median and p90 in ms;
``ours_share`` is the median of ``ours / total`` per decision, and
``not_placement_share`` the median of ``(total - placement_http) /
total`` (everything outside Placement's own answer).  The target is
``ours_share`` < 0.10.

``ours_parts_ms`` (per request, on Placement's last answer, best of
:data:`PARTS_REPEAT`) says where ours goes: ``candidates`` (the JSON to
values), ``pools_cold`` / ``pools_warm`` (every candidate's pools
parsed / found in a primed cache), ``pools_cold_recounted`` (cold, with
every host's counts made different: the fleet's rows are copies of one
text, and this shows the cold figure does not rest on that) and
``select`` (host states, the PCI filter, the weigher, the sort).

``placements``: ``embedded`` (the WSGI app in this process, no socket)
and ``loopback`` (the same app and database served by wsgiref in a
child process, reached over HTTP through keystoneauth as a remote
``[placement] endpoint_override`` is).
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import statistics
import tempfile
import time
import uuid as uuid_lib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from bench import placement_loopback
from bench.timing import best_ms
from bench.workload import build_device_spec, build_devices
from sriovirt import conf as sriovirt_conf
from sriovirt.conf import placement as placement_conf
from sriovirt.db import api
from sriovirt.db.models import ComputeNodeRow
from sriovirt.network.values import PortRequest, VnicType
from sriovirt.pci.device import DevType, PciDevice
from sriovirt.pci.stats import PciStats, Pool
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement import tree as provider_tree
from sriovirt.placement.embedded import MICROVERSION, EmbeddedPlacement
from sriovirt.placement.report import ReportClient
from sriovirt.scheduler.destinations import (
    Destinations,
    SchedulerSettings,
    select_destinations,
)
from sriovirt.scheduler.host_state import (
    PoolsCache,
    candidates_from_response,
)
from sriovirt.scheduler.placement_query import (
    AllocationCandidatesQuery,
    allocation_candidates_query,
)
from sriovirt.scheduler.request_filter import apply_request_filters
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec
from sriovirt.scheduler.selection import select_hosts

#: Host counts, in order (each fleet grows from the previous one).
HOSTS = (100, 1_000)
#: Timed decisions per request and cache mode.
REPEAT = 10
#: Best of how many runs each step of ours is (``ours_parts_ms``).
PARTS_REPEAT = 5
#: NICs per host (2 PFs each).
NICS = 1
#: Hosts sent through the report client before the bulk write.
TEMPLATES = 2
VCPUS = 256
MEMORY_MB = 262_144
DISK_GB = 2_000
PACKED_TRAIT = "COMPUTE_NET_VIRTIO_PACKED"
PLACEMENTS = ("embedded", "loopback")
POPULATE_MODES = ("bulk", "report")


def host_uuid(index: int) -> str:
    return str(uuid_lib.UUID(int=index + 1))


def host_name(index: int) -> str:
    return f"host{index:05d}"


def host_tree(
    index: int, devices: Iterable[PciDevice]
) -> provider_tree.ProviderTree:
    """Host ``index``'s tree, as a compute service reports it."""
    root = provider_tree.root_provider(
        node_uuid=host_uuid(index),
        host=host_name(index),
        vcpus=VCPUS,
        memory_mb=MEMORY_MB,
        disk_gb=DISK_GB,
        traits={PACKED_TRAIT: index % 2 == 0},
    )
    return provider_tree.compute_tree(root, devices)


def _port(number: int, physnet: str) -> PortRequest:
    return PortRequest(
        port_id=f"port-{number}",
        network_id=f"net-{physnet}",
        vnic_type=VnicType.DIRECT,
        physical_network=physnet,
        dev_type=DevType.VF,
    )


def _requests() -> dict[str, RequestSpec]:
    one = [_port(1, "physnet1")]
    return {
        "one_port": build_request_spec(vcpus=1, memory_mb=64, ports=one),
        "two_ports": build_request_spec(
            vcpus=1,
            memory_mb=64,
            ports=[_port(1, "physnet0"), _port(2, "physnet1")],
        ),
        "packed": build_request_spec(
            vcpus=1,
            memory_mb=64,
            extra_specs={"hw:virtio_packed_ring": "true"},
            ports=one,
        ),
    }


REQUESTS = tuple(_requests())


class TimedCandidates:
    """``GET /allocation_candidates`` through a keystoneauth Adapter,
    timing the answer and its decoding apart (the last call's)."""

    def __init__(self, adapter: Any, endpoint: str) -> None:
        self.adapter = adapter
        self.endpoint = endpoint
        self.http_s = 0.0
        self.decode_s = 0.0
        self.body_bytes = 0
        self.last_body: Mapping[str, object] = {}

    def allocation_candidates(
        self, query: AllocationCandidatesQuery
    ) -> Mapping[str, object]:
        url = f"/allocation_candidates?{query.query_string()}"
        started = time.perf_counter()
        response = self.adapter.get(url, raise_exc=False)
        answered = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.endpoint}: GET {url}: HTTP {response.status_code} "
                f"{response.text[:300]}"
            )
        body: Mapping[str, object] = response.json()
        self.http_s = answered - started
        self.decode_s = time.perf_counter() - answered
        self.body_bytes = len(response.content)
        self.last_body = body
        return body


@dataclass
class Fleet:
    """The hosts set up so far, in Placement and in sriovirt's database."""

    state_path: Path
    placement: EmbeddedPlacement
    database: api.Database
    devices: tuple[PciDevice, ...]
    pools_json: str
    count: int = 0
    #: Generation of each template's provider levels, as the report
    #: client left them.
    generations: dict[tuple[int, str], int] = field(default_factory=dict)


def _tracked(nics: int) -> tuple[tuple[PciDevice, ...], str]:
    devices = build_devices(nics)
    tracker = PciTracker(Whitelist.from_config(build_device_spec(devices)))
    tracker.sync(devices)
    return tracker.devices, tracker.stats.to_json()


@contextlib.contextmanager
def fleet(state_path: Path) -> Iterator[Fleet]:
    """An empty fleet on ``state_path`` (Placement's schema, ours)."""
    url = f"sqlite:///{state_path / 'sriovirt.sqlite'}"
    api.sync(url)
    placement = EmbeddedPlacement(state_path)
    placement.app()
    devices, pools = _tracked(NICS)
    database = api.Database(url)
    try:
        yield Fleet(state_path, placement, database, devices, pools)
    finally:
        database.close()
        placement.close()


def _report(fleet: Fleet, indexes: Iterable[int]) -> tuple[int, float]:
    """Sync each host's tree through a report client (one per host, as
    each compute service has its own); requests sent and ms per host."""
    requests = 0
    count = 0
    started = time.perf_counter()
    for index in indexes:
        client = ReportClient(fleet.placement.adapter(), "bench")
        result = client.sync(host_tree(index, fleet.devices))
        assert result.created, f"host {index} was not created: {result}"
        requests += result.requests
        count += 1
    elapsed = (time.perf_counter() - started) * 1e3
    return requests, elapsed / max(count, 1)


def _template_generations(
    db: sqlite3.Connection,
) -> dict[tuple[int, str], int]:
    """``(template, "root" | "child")`` -> the generation the report
    client left (a root with traits has had one more write).  Host ``i``
    has the shape of template ``i % TEMPLATES``."""
    found: dict[tuple[int, str], set[int]] = {}
    for index in range(TEMPLATES):
        for generation, parent in db.execute(
            "SELECT generation, parent_provider_id FROM resource_providers "
            "WHERE root_provider_id = (SELECT id FROM resource_providers "
            "WHERE uuid = ?)",
            (host_uuid(index),),
        ):
            level = "root" if parent is None else "child"
            found.setdefault((index, level), set()).add(generation)
    if len(found) != 2 * TEMPLATES or any(len(v) != 1 for v in found.values()):
        raise RuntimeError(f"template generations differ: {found}")
    return {key: values.pop() for key, values in found.items()}


def _bulk_write(fleet: Fleet, indexes: Sequence[int]) -> None:
    """Write the trees of ``indexes`` into Placement's tables, one
    transaction, from the same values the report client sends."""
    db = sqlite3.connect(fleet.placement.database, timeout=30)
    try:
        if not fleet.generations:
            fleet.generations = _template_generations(db)
        classes = dict(db.execute("SELECT name, id FROM resource_classes"))
        traits = dict(db.execute("SELECT name, id FROM traits"))
        (created,) = db.execute(
            "SELECT created_at FROM resource_providers WHERE uuid = ?",
            (host_uuid(0),),
        ).fetchone()
        (next_id,) = db.execute(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM resource_providers"
        ).fetchone()
        providers: list[tuple[object, ...]] = []
        inventories: list[tuple[object, ...]] = []
        provider_traits: list[tuple[object, ...]] = []
        for index in indexes:
            tree = host_tree(index, fleet.devices)
            root_id = next_id
            for provider in tree.providers:
                rp_id = next_id
                next_id += 1
                level = "root" if provider.parent is None else "child"
                providers.append(
                    (
                        created,
                        rp_id,
                        provider.uuid,
                        provider.name,
                        fleet.generations[index % TEMPLATES, level],
                        root_id,
                        None if provider.parent is None else root_id,
                    )
                )
                for rc, inv in provider.inventories.items():
                    inventories.append(
                        (
                            created,
                            rp_id,
                            classes[rc],
                            inv.total,
                            inv.reserved,
                            inv.min_unit,
                            inv.max_unit,
                            inv.step_size,
                            inv.allocation_ratio,
                        )
                    )
                provider_traits.extend(
                    (created, traits[name], rp_id)
                    for name in sorted(provider.traits)
                )
        with db:
            db.executemany(
                "INSERT INTO resource_providers (created_at, id, uuid, name, "
                "generation, root_provider_id, parent_provider_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                providers,
            )
            db.executemany(
                "INSERT INTO inventories (created_at, resource_provider_id, "
                "resource_class_id, total, reserved, min_unit, max_unit, "
                "step_size, allocation_ratio) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inventories,
            )
            db.executemany(
                "INSERT INTO resource_provider_traits (created_at, trait_id, "
                "resource_provider_id) VALUES (?, ?, ?)",
                provider_traits,
            )
    finally:
        db.close()


def _check_same_as_reported(fleet: Fleet, indexes: Iterable[int]) -> None:
    """A new report client must find nothing to send for these hosts."""
    for index in indexes:
        client = ReportClient(fleet.placement.adapter(), "bench")
        result = client.sync(host_tree(index, fleet.devices))
        if result.changed:
            raise RuntimeError(
                f"host {index}: the bulk-written tree differs from what "
                f"the report client makes: {result}"
            )


def _add_compute_nodes(fleet: Fleet, indexes: Sequence[int]) -> None:
    """The compute node rows of ``indexes``: the templates' through
    :class:`~sriovirt.db.api.Database` as a compute service writes them
    (create, then save the pools), the others in one insert copying the
    first template's row (same pools JSON and generation); a sample is
    read back through the scheduler's query and must equal it."""
    templates = [i for i in indexes if i < TEMPLATES]
    for index in templates:
        name = host_name(index)
        node = fleet.database.get_or_create_compute_node(
            name, name, host_uuid(index)
        )
        fleet.database.save_pci_state(node.id, [], fleet.pools_json)
    bulk = [i for i in indexes if i >= TEMPLATES]
    if not bulk:
        return
    table = ComputeNodeRow.__table__
    assert isinstance(table, sa.Table)
    with fleet.database.engine.begin() as connection:
        template = connection.execute(
            sa.select(table).where(table.c.uuid == host_uuid(0))
        ).one()
        connection.execute(
            sa.insert(table),
            [
                {
                    "uuid": host_uuid(index),
                    "host": host_name(index),
                    "hypervisor_hostname": host_name(index),
                    "pci_stats": template.pci_stats,
                    "pci_generation": template.pci_generation,
                    "created_at": template.created_at,
                    "updated_at": template.updated_at,
                }
                for index in bulk
            ],
        )
    sample = {host_uuid(i) for i in (bulk[0], bulk[len(bulk) // 2], bulk[-1])}
    read = fleet.database.get_compute_nodes_by_uuids(sample)
    if sorted(read) != sorted(sample) or any(
        r.pci_stats != fleet.pools_json for r in read.values()
    ):
        raise RuntimeError(f"compute nodes {sorted(sample)} read back wrong")


def grow(fleet: Fleet, hosts: int, populate: str) -> dict[str, object]:
    """Add hosts up to ``hosts``; what it took."""
    new = range(fleet.count, hosts)
    templates = [i for i in new if i < TEMPLATES or populate == "report"]
    bulk = [i for i in new if i not in set(templates)]
    figures: dict[str, object] = {}
    started = time.perf_counter()
    if templates:
        requests, ms_per_host = _report(fleet, templates)
        figures["report_client_hosts"] = len(templates)
        figures["report_client_ms_per_host"] = round(ms_per_host, 1)
        figures["report_client_requests_per_host"] = round(
            requests / len(templates), 1
        )
    if bulk:
        bulk_started = time.perf_counter()
        _bulk_write(fleet, bulk)
        figures["bulk_hosts"] = len(bulk)
        figures["bulk_ms"] = round(
            (time.perf_counter() - bulk_started) * 1e3, 1
        )
        sample = sorted({bulk[0], bulk[len(bulk) // 2], bulk[-1]})
        _check_same_as_reported(fleet, sample)
        figures["checked_hosts"] = sample
    placement_s = time.perf_counter() - started
    started = time.perf_counter()
    _add_compute_nodes(fleet, list(new))
    figures["placement_s"] = round(placement_s, 2)
    figures["database_s"] = round(time.perf_counter() - started, 2)
    fleet.count = hosts
    return figures


def _loopback_adapter(state_path: Path, port: int) -> Any:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override("state_path", str(state_path))
    conf.set_override(
        "endpoint_override", f"http://127.0.0.1:{port}", group="placement"
    )
    return placement_conf.load_adapter(conf, MICROVERSION)


def _stats(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 2),
        "p90": round(p90, 2),
    }


def _decisions(
    spec: RequestSpec,
    source: TimedCandidates,
    database: api.Database,
    shared: PoolsCache | None,
    repeat: int,
) -> dict[str, object]:
    """``repeat`` decisions (after one untimed); ``shared`` None: a new
    pools cache per decision (cold), else that one throughout (warm)."""
    settings = SchedulerSettings()
    runs: dict[str, list[float]] = {
        k: []
        for k in (
            "total_ms",
            "placement_ms",
            "placement_http_ms",
            "placement_decode_ms",
            "database_ms",
            "ours_ms",
        )
    }
    shares: list[float] = []
    outside: list[float] = []
    found: Destinations | None = None
    for attempt in range(repeat + 1):
        cache = PoolsCache() if shared is None else shared
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            found = select_destinations(
                spec,
                placement=source,
                nodes=database,
                settings=settings,
                pools_cache=cache,
            )
            total = time.perf_counter() - started
        finally:
            gc.enable()
        if attempt == 0:
            continue  # untimed: first use of this request's code paths
        ours = total - found.placement_s - found.database_s
        for key, seconds in (
            ("total_ms", total),
            ("placement_ms", found.placement_s),
            ("placement_http_ms", source.http_s),
            ("placement_decode_ms", source.decode_s),
            ("database_ms", found.database_s),
            ("ours_ms", ours),
        ):
            runs[key].append(seconds * 1e3)
        shares.append(ours / total)
        outside.append((total - source.http_s) / total)
    assert found is not None
    figures: dict[str, object] = {k: _stats(v) for k, v in runs.items()}
    figures["ours_share"] = round(statistics.median(shares), 3)
    figures["not_placement_share"] = round(statistics.median(outside), 3)
    figures["chosen"] = found.selection.chosen.host
    return figures


def _request_figures(
    source: TimedCandidates,
    fleet: Fleet,
    specs: Mapping[str, RequestSpec],
    repeat: int,
) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, spec in specs.items():
        cold = _decisions(spec, source, fleet.database, None, repeat)
        candidates = source.body_bytes
        warm = _decisions(spec, source, fleet.database, PoolsCache(), repeat)
        out[name] = {
            "answer_kb": round(candidates / 1024, 1),
            "cold": cold,
            "warm": warm,
            "ours_parts_ms": _ours_parts(spec, source.last_body, fleet),
        }
    return out


def _ours_parts(
    spec: RequestSpec, body: Mapping[str, object], fleet: Fleet
) -> dict[str, float]:
    """Best of :data:`PARTS_REPEAT` of each step of ours on Placement's
    last answer: ``candidates`` (the JSON to values), ``pools_cold`` /
    ``pools_warm`` (every candidate's pools JSON parsed / found in a
    primed cache), ``select`` (host states, filters, weigher, sort)."""
    spec = apply_request_filters(spec)
    query = allocation_candidates_query(
        spec, limit=SchedulerSettings().max_placement_results
    )
    found = candidates_from_response(body)
    records = fleet.database.get_compute_nodes_by_uuids(
        {c.root_uuid for c in found}
    )
    rows = {u: (r.host, r.pci_stats) for u, r in records.items()}
    recounted = {
        u: (host, _recounted(text, n))
        for n, (u, (host, text)) in enumerate(rows.items())
    }
    cache = PoolsCache()
    pools = cache.load(rows)
    parts = {
        "candidates": best_ms(
            lambda: candidates_from_response(body), PARTS_REPEAT
        ),
        "pools_cold": best_ms(lambda: PoolsCache().load(rows), PARTS_REPEAT),
        "pools_cold_recounted": best_ms(
            lambda: PoolsCache().load(recounted), PARTS_REPEAT
        ),
        "pools_warm": best_ms(lambda: cache.load(rows), PARTS_REPEAT),
        "select": best_ms(
            lambda: select_hosts(
                spec,
                found,
                pools,
                query=query,
                max_hosts=SchedulerSettings().max_attempts,
            ),
            PARTS_REPEAT,
        ),
    }
    return {k: round(v, 2) for k, v in parts.items()}


def _recounted(text: str | None, n: int) -> str | None:
    """``text`` with each pool's count lowered by ``n`` modulo the count
    (at least 1 left): every host's text differs, as in a fleet in use,
    so no per-text shortcut could apply (the pools are the same)."""
    if text is None:
        return None
    stats = PciStats.from_json(text)
    return PciStats(
        Pool(p.key, p.count - n % p.count) for p in stats.pools
    ).to_json()


def run(
    sizes: Sequence[int] | None = None,
    hosts: Iterable[int] = HOSTS,
    placements: Iterable[str] = PLACEMENTS,
    repeat: int = REPEAT,
    populate: str = "bulk",
) -> dict[str, object]:
    """``populate`` -> host count -> figures; ``placements`` -> kind ->
    host count -> request -> cold / warm figures.  ``sizes`` (NIC
    counts of the other benches) is ignored."""
    del sizes
    if populate not in POPULATE_MODES:
        raise ValueError(
            f"populate must be one of {POPULATE_MODES}, got {populate!r}"
        )
    kinds = tuple(placements)
    unknown = [k for k in kinds if k not in PLACEMENTS]
    if unknown:
        raise ValueError(f"placements must be in {PLACEMENTS}: {unknown}")
    specs = _requests()
    report: dict[str, Any] = {
        "nics_per_host": NICS,
        "repeat": repeat,
        "populate_mode": populate,
        "populate": {},
        "placements": {k: {} for k in kinds},
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-decision-") as tmp,
        fleet(Path(tmp)) as hosts_so_far,
    ):
        report["placement_load_ms"] = round(hosts_so_far.placement.load_ms, 1)
        for count in sorted(set(hosts)):
            report["populate"][str(count)] = grow(
                hosts_so_far, count, populate
            )
            for kind in kinds:
                report["placements"][kind][str(count)] = _measure(
                    kind, hosts_so_far, specs, repeat
                )
    return report


def _measure(
    kind: str, fleet: Fleet, specs: Mapping[str, RequestSpec], repeat: int
) -> dict[str, object]:
    if kind == "embedded":
        source = TimedCandidates(
            fleet.placement.adapter(), fleet.placement.describe()
        )
        return _request_figures(source, fleet, specs, repeat)
    process, port = placement_loopback.start(fleet.state_path)
    try:
        source = TimedCandidates(
            _loopback_adapter(fleet.state_path, port),
            f"http://127.0.0.1:{port}",
        )
        return _request_figures(source, fleet, specs, repeat)
    finally:
        placement_loopback.stop(process)


if __name__ == "__main__":
    import json
    import sys

    counts = tuple(int(n) for n in sys.argv[1:]) or HOSTS
    print(json.dumps(run(hosts=counts), indent=2))
