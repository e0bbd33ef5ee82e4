"""Boot bench: boot and delete a server through the compute manager.

``run()`` builds one compute host the way ``sriovirt server boot`` does
(:class:`~sriovirt.compute.manager.ComputeManager` over the libvirt test
driver, the static network backend and SQLite), on a generated host
document (:mod:`bench.hostdoc`: 4 NICs x 2 PFs x 128 VFs, 1,032
devices, every VF on ``physnet0``) and a ports file of ``direct``
(SR-IOV VF) ports written in a temporary directory.  It measures:

* ``ports``: boot and delete latency of a server with 1, 2, 4 and 8
  SR-IOV ports on an otherwise empty host (median and p90 of
  :data:`RUNS` boot + delete cycles);
* ``population``: the same for one 1-port server with 1, 100 and 1,000
  servers (1 port each, booted through the manager) already on the host,
  and ``flat``: the ratio of the median at the largest population to the
  median at the smallest (1.0 is flat);
* ``bare`` in each: libvirt's own define + start (and destroy +
  undefine) of the very domain XML the boot defined, on the same
  connection right after the delete, and ``boot_over_bare`` /
  ``delete_over_bare``: what sriovirt costs on top of libvirt.

``--sizes`` does not apply: the host is fixed (the populations need
1,000 free VFs).  Times are ``time.perf_counter`` in ms, the garbage
collector off while timing (:func:`bench.timing.gc_off`), as the other
benches.  This module only measures; it raises if a boot or delete does
not do what it should (a running guest, a bound port, the devices back).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import libvirt
from oslo_config import cfg
from tests.doubles import empty_conf, unbound_port

from bench.hostdoc import host_document
from bench.timing import gc_off
from bench.workload import VENDOR_ID, VF_PRODUCT_ID, build_devices
from sriovirt import paths
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import BootRequest, ComputeManager
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.driver import InstanceState
from sriovirt.virt.libvirt.driver import LibvirtDriver

HOST = "bench-host"
NICS = 4
#: Boot + delete cycles per figure (median and p90 of these).
RUNS = 15
PORT_COUNTS = (1, 2, 4, 8)
POPULATIONS = (1, 100, 1000)
NETWORK_ID = "3c5d7e9f-0000-4000-8000-00000000b007"
#: Ports the timed boots use (reused: each delete unbinds them).
TIMED_PORTS = max(PORT_COUNTS)


def _port_id(n: int) -> str:
    return f"6f0c1e2a-0000-4000-8000-{n:012x}"


def _port(n: int) -> dict[str, Any]:
    mac = (
        f"fa:16:3e:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"
    )
    return unbound_port(_port_id(n), NETWORK_ID, mac, f"bench-{n}")


def _ports_document(count: int) -> str:
    network = {
        "id": NETWORK_ID,
        "name": "physnet0-vlan100",
        "mtu": 1500,
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet0",
        "provider:segmentation_id": 100,
    }
    ports = [_port(n) for n in range(count)]
    return json.dumps({"networks": [network], "ports": ports})


def _conf() -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", HOST)
    return conf


#: Which collaborator calls count in which phase of a boot or delete.
PHASES = {
    "network": ("bind_port", "unbind_port", "show_port", "show_network"),
    "resource_tracker": ("claim", "allocate", "free", "abort_claim"),
    "driver": ("spawn", "destroy", "guest_xml", "nodename"),
    "database": (
        "get_instance_by_name",
        "get_instance",
        "create_instance",
        "delete_instance",
    ),
}


class _Clock:
    """Where the time of one boot or delete went, by phase (seconds)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def timed(self, phase: str, func: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.spent[phase] = self.spent.get(phase, 0.0) + elapsed

        return call


class _Timed:
    """``target`` with the calls of one phase timed on ``clock``; the
    manager gets these instead of its collaborators."""

    def __init__(self, target: Any, phase: str, clock: _Clock) -> None:
        self._target = target
        self._phase = phase
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in PHASES[self._phase]:
            return self._clock.timed(self._phase, value)
        return value


def _stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(p90, 3),
    }


def _phase_medians(
    totals: Sequence[float], phases: Sequence[dict[str, float]]
) -> dict[str, float]:
    """Median ms per phase; ``other`` is the manager's own time (what no
    collaborator call covers)."""
    out = {}
    for phase in PHASES:
        out[phase] = round(
            statistics.median(p.get(phase, 0.0) for p in phases) * 1e3, 3
        )
    out["other"] = round(
        statistics.median(
            t - sum(p.values()) for t, p in zip(totals, phases, strict=True)
        )
        * 1e3,
        3,
    )
    return out


def _flat_phases(first: Any, last: Any) -> dict[str, object]:
    """Largest / smallest population: per phase (the network, tracker,
    driver, database share of a boot and a delete), and of the
    overhead over bare libvirt measured in the same cycles (which
    cancels what a busy machine adds to both)."""

    def ratio(a: float, b: float) -> float | None:
        return round(b / a, 2) if a > 0 else None

    out: dict[str, object] = {}
    for what in ("boot", "delete"):
        out[f"{what}_phase_ratios"] = {
            phase: ratio(first[f"{what}_phases_ms"][phase], ms)
            for phase, ms in last[f"{what}_phases_ms"].items()
        }
        key = f"{what}_over_bare"
        out[f"{key}_ratio"] = ratio(first[key], last[key])
    return out


class _World:
    """One compute host: manager, driver, network, database."""

    def __init__(self, workdir: Path) -> None:
        devices = build_devices(NICS)
        self.vfs = sum(1 for d in devices if d.parent_addr is not None)
        doc = workdir / "host.xml"
        doc.write_text(host_document(devices))
        ports = workdir / "ports.json"
        ports.write_text(_ports_document(TIMED_PORTS + max(POPULATIONS)))
        self.driver = LibvirtDriver.for_connection(
            _conf(), paths.test_driver_uri(doc)
        )
        url = f"sqlite:///{workdir / 'sriovirt.sqlite'}"
        api.sync(url)
        self.db = api.Database(url)
        spec = json.dumps(
            {
                "vendor_id": VENDOR_ID,
                "product_id": VF_PRODUCT_ID,
                "physical_network": "physnet0",
            }
        )
        self.rt = ResourceTracker(
            HOST, self.driver, self.db, Whitelist.from_config([spec])
        )
        self.rt.start()
        self.network = StaticNetwork(
            ports_file=ports, state_file=workdir / "port_bindings.json"
        )
        self.clock = _Clock()
        self.manager = ComputeManager(
            driver=_Timed(self.driver, "driver", self.clock),
            resource_tracker=_Timed(self.rt, "resource_tracker", self.clock),
            network=_Timed(self.network, "network", self.clock),
            database=_Timed(self.db, "database", self.clock),
            host=HOST,
            locks=InstanceLocks(workdir / "locks"),
        )
        self.servers = 0
        self._runs = 0

    def close(self) -> None:
        self.db.close()
        self.driver.host.close()

    def populate(self, servers: int) -> None:
        """Boot 1-port servers (untimed) until ``servers`` are on."""
        while self.servers < servers:
            n = self.servers
            self.manager.build_and_run_instance(
                BootRequest(
                    name=f"filler-{n}",
                    port_ids=(_port_id(TIMED_PORTS + n),),
                )
            )
            self.servers += 1

    def cycles(self, port_count: int, runs: int) -> dict[str, object]:
        """``runs`` timed boot + delete cycles of a ``port_count``-port
        server, each followed by libvirt's bare define + start and
        destroy + undefine of the XML that boot defined."""
        ports = tuple(_port_id(n) for n in range(port_count))
        boots: list[float] = []
        deletes: list[float] = []
        bare_boots: list[float] = []
        bare_deletes: list[float] = []
        boot_phases: list[dict[str, float]] = []
        delete_phases: list[dict[str, float]] = []
        free_before = self.rt.tracker.stats.to_json()
        with gc_off():
            for _ in range(runs):
                self._runs += 1
                boot = BootRequest(name=f"timed-{self._runs}", port_ids=ports)
                self.clock.spent = {}
                start = time.perf_counter()
                self.manager.build_and_run_instance(boot)
                boots.append(time.perf_counter() - start)
                boot_phases.append(self.clock.spent)
                self._check_booted(boot)
                xml = self.driver.guest_xml(boot.uuid)
                self.clock.spent = {}
                start = time.perf_counter()
                self.manager.terminate_instance(boot.uuid)
                deletes.append(time.perf_counter() - start)
                delete_phases.append(self.clock.spent)
                self._check_deleted(boot, free_before)
                bare_boot, bare_delete = self._bare(xml)
                bare_boots.append(bare_boot)
                bare_deletes.append(bare_delete)
        boot_stats = _stats([s * 1e3 for s in boots])
        delete_stats = _stats([s * 1e3 for s in deletes])
        bare_boot_stats = _stats([s * 1e3 for s in bare_boots])
        bare_delete_stats = _stats([s * 1e3 for s in bare_deletes])
        return {
            "ports": port_count,
            "servers_on_host": self.servers,
            "runs": runs,
            "boot": boot_stats,
            "delete": delete_stats,
            "boot_phases_ms": _phase_medians(boots, boot_phases),
            "delete_phases_ms": _phase_medians(deletes, delete_phases),
            "bare": {"define_start": bare_boot_stats},
            "bare_delete": {"destroy_undefine": bare_delete_stats},
            "boot_over_bare": round(
                boot_stats["median_ms"] / bare_boot_stats["median_ms"], 1
            ),
            "delete_over_bare": round(
                delete_stats["median_ms"] / bare_delete_stats["median_ms"], 1
            ),
        }

    def _bare(self, xml: str) -> tuple[float, float]:
        """libvirt alone: define (validated, as sriovirt defines) + start,
        then destroy + undefine, on the driver's own connection."""

        def bare(conn: libvirt.virConnect) -> tuple[float, float]:
            start = time.perf_counter()
            dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
            dom.create()
            booted = time.perf_counter() - start
            start = time.perf_counter()
            dom.destroy()
            dom.undefine()
            return booted, time.perf_counter() - start

        return self.driver.host._call("bare define and start", bare)

    def _check_booted(self, boot: BootRequest) -> None:
        state = self.driver.instance_state(boot.uuid)
        if state is not InstanceState.RUNNING:
            raise AssertionError(f"{boot.name} is {state} after its boot")
        for port_id in boot.port_ids:
            shown = self.network.show_port(port_id)
            if shown["device_id"] != boot.uuid:
                raise AssertionError(f"port {port_id} not bound: {shown}")

    def _check_deleted(self, boot: BootRequest, free_before: str) -> None:
        state = self.driver.instance_state(boot.uuid)
        if state is not InstanceState.MISSING:
            raise AssertionError(f"{boot.name} is {state} after its delete")
        if self.db.get_instance(boot.uuid) is not None:
            raise AssertionError(f"{boot.name}'s row left after its delete")
        if self.rt.tracker.stats.to_json() != free_before:
            raise AssertionError(f"{boot.name}'s devices not freed")
        for port_id in boot.port_ids:
            if self.network.show_port(port_id)["device_id"]:
                raise AssertionError(f"port {port_id} still bound")


def run(
    sizes: Iterable[int] | None = None,
    *,
    port_counts: Sequence[int] = PORT_COUNTS,
    populations: Sequence[int] = POPULATIONS,
    runs: int = RUNS,
) -> dict[str, object]:
    """Boot/delete latencies per port count and per host population.

    ``sizes`` (NIC counts of the other benches) is accepted and ignored:
    this bench's host is fixed.
    """
    del sizes
    if max(port_counts) > TIMED_PORTS or max(populations) > max(POPULATIONS):
        raise ValueError(
            f"port counts {list(port_counts)} / populations "
            f"{list(populations)}: at most {TIMED_PORTS} ports and "
            f"{max(POPULATIONS)} servers (the ports file's size)"
        )
    with tempfile.TemporaryDirectory(prefix="sriovirt-bench-") as tmp:
        world = _World(Path(tmp))
        try:
            by_ports = {
                str(count): world.cycles(count, runs) for count in port_counts
            }
            by_population: dict[str, object] = {}
            medians: dict[str, tuple[float, float]] = {}
            populate_s: dict[str, float] = {}
            for servers in populations:
                start = time.perf_counter()
                world.populate(servers)
                populate_s[str(servers)] = round(
                    time.perf_counter() - start, 2
                )
                figure = world.cycles(1, runs)
                by_population[str(servers)] = figure
                boot = figure["boot"]
                delete = figure["delete"]
                assert isinstance(boot, dict) and isinstance(delete, dict)
                medians[str(servers)] = (
                    boot["median_ms"],
                    delete["median_ms"],
                )
            first, last = str(populations[0]), str(populations[-1])
            report: dict[str, object] = {
                "host": {
                    "nics": NICS,
                    "tracked": len(world.rt.tracker.devices),
                    "vfs": world.vfs,
                },
                "ports": by_ports,
                "population": by_population,
                "populate_s": populate_s,
                "flat": {
                    "servers": [populations[0], populations[-1]],
                    **_flat_phases(by_population[first], by_population[last]),
                    "boot_ratio": round(
                        medians[last][0] / medians[first][0], 2
                    ),
                    "delete_ratio": round(
                        medians[last][1] / medians[first][1], 2
                    ),
                },
            }
        finally:
            world.close()
    return report
