"""Cluster bench: boots through the scheduler to compute services over
RabbitMQ, against the same hosts in one process.

Three hosts (``host-a``, ``host-b``, ``host-c``), each the same
generated test-driver devices (:mod:`bench.hostdoc`: one NIC, 2 PFs x
128 VFs on ``physnet0``; 16 CPUs, its own system UUID), one SQLite
database, one ports file of
``direct`` ports and the embedded Placement, run two ways:

* ``rpc``: a private RabbitMQ on loopback
  (:class:`tests.fixtures.rabbitmq.Broker`) and one ``sriovirt-compute``
  process per host (:mod:`tests.fixtures.compute_service`); the
  scheduler side is the :class:`~sriovirt.compute.conductor.SchedulerManager`
  ``sriovirt server boot`` builds with ``transport_url`` set
  (:class:`~sriovirt.compute.remote.RemoteComputes`, the compute service
  filter first);
* ``in_process``: the three
  :class:`~sriovirt.compute.manager.ComputeManager` of
  :func:`sriovirt.compute.multihost.open_hosts` in this process (a fresh
  state directory built the same way: the embedded Placement serves one
  database per process).

It measures:

* ``throughput`` (``rpc`` and ``in_process``): :data:`BOOTS` 1-port
  boots, :data:`CONCURRENCY` client threads at a time (each its own
  scheduler over the shared database and Placement), servers per second
  and where they landed; then the same servers deleted,
  :data:`CONCURRENCY` at a time; ``rpc_over_in_process``: the ratio of
  the servers per second;
* ``latency``: during the RPC run, with a fourth host ``host-local``
  (the same document) whose manager runs in this process on the same
  database, Placement and ports file: after :data:`WARMUP` untimed
  pairs, :data:`RUNS` pairs of sequential cycles, one 1-port boot +
  delete on ``host-a`` over RPC then one on ``host-local`` in-process
  (``force_host``: Placement still claims, no filters), so both sides
  see the same moment of a shared machine; median and p90 of each;
  ``rpc_overhead_ms``: the median of the per-pair differences (and the
  difference of the medians), and ``ping``: a bare RPC round trip
  (:data:`PINGS` calls).

``--sizes`` does not apply.  Times are ``time.perf_counter``.  It needs
root and Debian's rabbitmq-server (``tools/install-bindeps
functional``); without them it reports ``{"skipped": reason}`` instead
of figures.  This module only measures; it raises when a boot or a
delete does not do what it should.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_context.context import RequestContext
from tests.doubles import empty_conf, unbound_port
from tests.fixtures import compute_service
from tests.fixtures.rabbitmq import EPMD, SERVER, Broker

from bench.hostdoc import host_document
from bench.workload import VENDOR_ID, VF_PRODUCT_ID, build_devices
from sriovirt import paths
from sriovirt.compute import rpc, rpcapi, services
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import (
    Computes,
    SchedulerManager,
    request_spec_of,
)
from sriovirt.compute.multihost import HostSetup, open_hosts
from sriovirt.compute.remote import RemoteComputes
from sriovirt.compute.service_filter import ComputeServiceFilter
from sriovirt.db import api as db_api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement.allocations import AllocationClient
from sriovirt.placement.embedded import EmbeddedPlacement
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.scheduler.filters import ALL_HOST_FILTERS, HostFilter
from sriovirt.virt.libvirt.driver import LibvirtDriver

HOSTS = ("host-a", "host-b", "host-c")
#: The in-process host of the latency pairs (beside the RPC run's hosts).
LOCAL_HOST = "host-local"
NICS = 1
BOOTS = 30
CONCURRENCY = 4
WARMUP = 3
RUNS = 15
PINGS = 50
LATENCY_HOST = "host-a"
SERVICE_DOWN_TIME = 60.0
NETWORK_ID = "3c5d7e9f-0000-4000-8000-0000000c1a57"
SPEC = json.dumps(
    {
        "vendor_id": VENDOR_ID,
        "product_id": VF_PRODUCT_ID,
        "physical_network": "physnet0",
    }
)


def _port_id(n: int) -> str:
    return f"6f0c1e2a-0000-4000-8000-0000c1{n:06x}"


def _ports_document(count: int) -> str:
    network = {
        "id": NETWORK_ID,
        "name": "physnet0-vlan100",
        "mtu": 1500,
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet0",
        "provider:segmentation_id": 100,
    }
    ports = [
        unbound_port(
            _port_id(n),
            NETWORK_ID,
            f"fa:16:3e:c1:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}",
            f"cluster-{n}",
        )
        for n in range(count)
    ]
    return json.dumps({"networks": [network], "ports": ports})


@dataclass(frozen=True, slots=True)
class _Files:
    """What both runs share: each host's document and the ports file."""

    host_xml: dict[str, Path]
    ports: Path


def _host_document(n: int) -> str:
    """The generated host with its own system UUID (the compute node's)
    and 16 CPUs (2 sockets x 4 cores x 2 threads): Placement allocates
    one VCPU per server at ratio 1.0, and 30 servers need more than the
    generator's 8 per host."""
    doc = host_document(
        build_devices(NICS),
        system_uuid=f"c1c1c1c1-0000-4000-8000-{n:012x}",
    )
    for old, new in (
        ("<active>8</active>", "<active>16</active>"),
        ("<cores>2</cores>", "<cores>4</cores>"),
    ):
        if old not in doc:
            raise AssertionError(f"no {old} in bench.hostdoc's document")
        doc = doc.replace(old, new, 1)
    return doc


def _files(workdir: Path) -> _Files:
    docs = {}
    for n, host in enumerate((*HOSTS, LOCAL_HOST)):
        docs[host] = workdir / f"{host}.xml"
        docs[host].write_text(_host_document(n))
    ports = workdir / "ports.json"
    ports.write_text(_ports_document(BOOTS + 2))
    return _Files(docs, ports)


@dataclass
class _Side:
    """The scheduler side of one run: how a client thread gets its own
    scheduler, and the network and database both runs read."""

    make_scheduler: Callable[[], SchedulerManager]
    network: StaticNetwork
    database: db_api.Database
    placement: EmbeddedPlacement
    state: Path
    #: An RPC round trip to a host's service (``ping``); None in-process.
    ping: Callable[[str], object] | None = None


def _stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p90_ms": round(p90 * 1e3, 2),
    }


def _in_threads(
    work: Iterable[Any],
    side: _Side,
    step: Callable[[SchedulerManager, Any], Any],
) -> tuple[float, list[Any]]:
    """Run ``step(scheduler, item)`` for every item, CONCURRENCY client
    threads at a time (a scheduler each); elapsed seconds and results."""
    todo: queue.Queue[Any] = queue.Queue()
    for item in work:
        todo.put(item)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    schedulers = [side.make_scheduler() for _ in range(CONCURRENCY)]

    def client(scheduler: SchedulerManager) -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                result = step(scheduler, item)
            except BaseException as error:  # reported after the join
                with lock:
                    errors.append(error)
                return
            with lock:
                results.append(result)

    threads = [
        threading.Thread(target=client, args=(s,), name=f"client-{n}")
        for n, s in enumerate(schedulers)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(
            f"{len(errors)} of the client threads failed: {errors[0]!r}"
        ) from errors[0]
    return elapsed, results


def _boot(side: _Side, scheduler: SchedulerManager, boot: BootRequest) -> str:
    spec = request_spec_of(boot, side.network)
    record = scheduler.schedule_and_build(boot, spec)
    if record.host not in HOSTS:
        raise AssertionError(f"{boot.name} landed on {record.host!r}")
    return str(record.host)


def _throughput(side: _Side) -> dict[str, object]:
    boots = [
        BootRequest(name=f"tp-{n}", port_ids=(_port_id(n),))
        for n in range(BOOTS)
    ]
    boot_s, _ = _in_threads(
        boots, side, lambda s, b: (b.uuid, _boot(side, s, b))
    )
    placed = {
        str(r.uuid): str(r.host)
        for h in HOSTS
        for r in side.database.get_instances_by_host(h)
    }
    if len(placed) != BOOTS:
        raise AssertionError(f"{len(placed)} servers after {BOOTS} boots")
    delete_s, _ = _in_threads(
        placed.items(), side, lambda s, item: s.delete(item[1], item[0])
    )
    left = sum(len(side.database.get_instances_by_host(h)) for h in HOSTS)
    if left:
        raise AssertionError(f"{left} servers left after the deletes")
    return {
        "boots": BOOTS,
        "concurrency": CONCURRENCY,
        "boot_s": round(boot_s, 2),
        "servers_per_s": round(BOOTS / boot_s, 2),
        "delete_s": round(delete_s, 2),
        "deletes_per_s": round(BOOTS / delete_s, 2),
        "per_host": dict(sorted(Counter(placed.values()).items())),
    }


def _cycle(
    side: _Side, scheduler: SchedulerManager, host: str, name: str, port: str
) -> tuple[float, float]:
    """One 1-port boot forced onto ``host`` and its delete (seconds)."""
    boot = BootRequest(name=name, port_ids=(port,))
    spec = request_spec_of(boot, side.network)
    start = time.perf_counter()
    record = scheduler.schedule_and_build(boot, spec, force_host=host)
    booted = time.perf_counter() - start
    if record.host != host:
        raise AssertionError(f"{boot.name} on {record.host!r}, not {host}")
    start = time.perf_counter()
    scheduler.delete(host, boot.uuid)
    return booted, time.perf_counter() - start


def _latency(side: _Side, local: SchedulerManager) -> dict[str, object]:
    """RPC and in-process cycles alternated (same moment, database,
    Placement and ports file), after WARMUP untimed pairs."""
    remote = side.make_scheduler()
    times: dict[str, list[tuple[float, float]]] = {"rpc": [], "local": []}
    for n in range(WARMUP + RUNS):
        pair = {
            "rpc": _cycle(
                side, remote, LATENCY_HOST, f"lat-{n}", _port_id(BOOTS)
            ),
            "local": _cycle(
                side, local, LOCAL_HOST, f"lat-{n}", _port_id(BOOTS + 1)
            ),
        }
        if n >= WARMUP:
            for key, value in pair.items():
                times[key].append(value)
    pings: list[float] = []
    assert side.ping is not None
    for n in range(WARMUP + PINGS):
        start = time.perf_counter()
        side.ping(LATENCY_HOST)
        if n >= WARMUP:
            pings.append(time.perf_counter() - start)

    def figures(key: str, index: int) -> dict[str, float]:
        return _stats([t[index] for t in times[key]])

    def paired(index: int) -> float:
        return round(
            statistics.median(
                r[index] - lo[index]
                for r, lo in zip(times["rpc"], times["local"], strict=True)
            )
            * 1e3,
            2,
        )

    return {
        "warmup": WARMUP,
        "runs": RUNS,
        "rpc": {
            "host": LATENCY_HOST,
            "boot": figures("rpc", 0),
            "delete": figures("rpc", 1),
        },
        "in_process": {
            "host": LOCAL_HOST,
            "boot": figures("local", 0),
            "delete": figures("local", 1),
        },
        "rpc_overhead_ms": {
            "boot": paired(0),
            "delete": paired(1),
            "boot_medians": round(
                figures("rpc", 0)["median_ms"]
                - figures("local", 0)["median_ms"],
                2,
            ),
            "delete_medians": round(
                figures("rpc", 1)["median_ms"]
                - figures("local", 1)["median_ms"],
                2,
            ),
        },
        "ping": {"runs": PINGS, **_stats(pings)},
    }


def _scheduler(
    database: db_api.Database,
    placement: EmbeddedPlacement,
    computes: Computes,
    filters: Sequence[HostFilter],
) -> SchedulerManager:
    return SchedulerManager(
        placement=AllocationClient(placement.adapter(), placement.describe()),
        nodes=database,
        instances=database,
        computes=computes,
        settings=SchedulerSettings(),
        host_filters=tuple(filters),
    )


@contextmanager
def _rpc_side(files: _Files, state: Path) -> Iterator[_Side]:
    """Three ``sriovirt-compute`` processes on a private broker."""
    broker = Broker()
    broker.start()
    try:
        state.mkdir()
        (state / "ports.json").write_text(files.ports.read_text())
        confs = [
            (
                host,
                compute_service.write_conf(
                    state / f"{host}.conf",
                    host=host,
                    state_path=state,
                    transport_url=broker.url,
                    specs=[SPEC],
                    host_xml=files.host_xml[host],
                    update_resources_interval=600,
                    report_interval=2,
                ),
            )
            for host in HOSTS
        ]
        compute_service.prepare(confs[0][1])
        url = f"sqlite:///{state}/sriovirt.sqlite"
        conf = compute_service.client_conf(broker.url)
        transport = rpc.transport(conf)
        started: list[compute_service.ComputeProcess] = []
        try:
            started = compute_service.start_services(
                rpcapi.ComputeAPI(conf, transport), confs, state, url
            )
            placement = EmbeddedPlacement(state)
            database = db_api.Database(url)
            network = StaticNetwork(
                ports_file=state / "ports.json",
                state_file=state / "port_bindings.sqlite",
            )

            def make() -> SchedulerManager:
                api = rpcapi.ComputeAPI(
                    conf,
                    transport,
                    timeout=60,
                    service_state=services.service_state(
                        database, SERVICE_DOWN_TIME
                    ),
                )
                return _scheduler(
                    database,
                    placement,
                    RemoteComputes(api, RequestContext(overwrite=False)),
                    (
                        ComputeServiceFilter(database, SERVICE_DOWN_TIME),
                        *ALL_HOST_FILTERS,
                    ),
                )

            ping_api = rpcapi.ComputeAPI(conf, transport, timeout=60)
            try:
                yield _Side(
                    make, network, database, placement, state, ping_api.ping
                )
            finally:
                database.close()
                placement.close()
        finally:
            statuses = compute_service.stop_services(started)
            rpc.cleanup(transport)
            if any(statuses.values()):
                raise RuntimeError(f"compute services exited {statuses}")
    finally:
        broker.stop()


def _driver_conf(host: str, state: Path) -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", host)
    conf.set_override("state_path", str(state))
    return conf


@contextmanager
def _in_process_side(files: _Files, state: Path) -> Iterator[_Side]:
    """The three hosts' managers in this process."""
    state.mkdir()
    url = f"sqlite:///{state}/sriovirt.sqlite"
    db_api.sync(url)
    database = db_api.Database(url)
    placement = EmbeddedPlacement(state)
    network = StaticNetwork(
        ports_file=files.ports, state_file=state / "port_bindings.sqlite"
    )
    drivers = [
        LibvirtDriver.for_connection(
            _driver_conf(host, state),
            paths.test_driver_uri(files.host_xml[host]),
        )
        for host in HOSTS
    ]
    try:
        managers = open_hosts(
            [
                HostSetup(host, driver, Whitelist.from_config([SPEC]))
                for host, driver in zip(HOSTS, drivers, strict=True)
            ],
            database=database,
            network=network,
            placement_adapter=placement.adapter(),
            placement_endpoint=placement.describe(),
            locks_dir=state / "locks",
        )

        def make() -> SchedulerManager:
            return _scheduler(database, placement, managers, ALL_HOST_FILTERS)

        yield _Side(make, network, database, placement, state)
    finally:
        for driver in drivers:
            driver.host.close()
        placement.close()
        database.close()


@contextmanager
def _local_host(side: _Side, host_xml: Path) -> Iterator[SchedulerManager]:
    """LOCAL_HOST's manager in this process, on the RPC run's database,
    Placement and ports (a scheduler that knows only it)."""
    driver = LibvirtDriver.for_connection(
        _driver_conf(LOCAL_HOST, side.state), paths.test_driver_uri(host_xml)
    )
    try:
        managers = open_hosts(
            [HostSetup(LOCAL_HOST, driver, Whitelist.from_config([SPEC]))],
            database=side.database,
            network=side.network,
            placement_adapter=side.placement.adapter(),
            placement_endpoint=side.placement.describe(),
            locks_dir=side.state / "locks",
        )
        yield _scheduler(
            side.database, side.placement, managers, ALL_HOST_FILTERS
        )
    finally:
        driver.host.close()


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def run(sizes: Iterable[int] | None = None) -> dict[str, object]:
    """Throughput and per-boot latency over RPC and in-process.

    ``sizes`` (NIC counts of the other benches) is accepted and ignored.
    """
    del sizes
    missing = [
        what
        for what, ok in (
            (f"{SERVER} (rabbitmq-server)", SERVER.is_file()),
            (f"{EPMD} (erlang-base)", EPMD.is_file()),
            ("root", os.geteuid() == 0),
        )
        if not ok
    ]
    if missing:
        # `make bench` goes on without this figure on a machine without
        # RabbitMQ; the report says what is missing.
        return {
            "skipped": "needs "
            + ", ".join(missing)
            + " (tools/install-bindeps functional, as root)"
        }
    with tempfile.TemporaryDirectory(prefix="sriovirt-bench-") as tmp:
        workdir = Path(tmp)
        files = _files(workdir)
        with _rpc_side(files, workdir / "rpc") as side:
            rpc_tp = _throughput(side)
            with _local_host(side, files.host_xml[LOCAL_HOST]) as local:
                latency = _latency(side, local)
        with _in_process_side(files, workdir / "in-process") as side:
            local_tp = _throughput(side)
    return {
        "hosts": {
            "count": len(HOSTS),
            "vfs_each": sum(
                1 for d in build_devices(NICS) if d.parent_addr is not None
            ),
        },
        "throughput": {
            "rpc": rpc_tp,
            "in_process": local_tp,
            "rpc_over_in_process": _ratio(
                float(rpc_tp["servers_per_s"]),  # type: ignore[arg-type]
                float(local_tp["servers_per_s"]),  # type: ignore[arg-type]
            ),
        },
        "latency": latency,
    }
