"""Nova-side peer bench: time Nova 34's own PCI code on a given workload.

Run by the *Nova* virtual environment's interpreter, never by sriovirt's
(so it imports nova and oslo, and never sriovirt)::

    bench/.nova-venv/bin/python -W ignore bench/nova_peer/runner.py \
        < payload.json

(``-W ignore``: Nova's eventlet-era libraries warn on import.)

The payload (written by :mod:`bench.nova_peer.driver`) is one JSON
object::

    {"sizes": {"8": {"devices": [<_get_pcidev_info dicts>],
                     "device_spec": {"exact_address": ["<value>", ...],
                                     "index_free": [...]},
                     "expected_matches": {"exact_address": 2064,
                                          "index_free": 2048}}},
     "timed_sizes": ["8"],
     "workloads": ["exact_address", "index_free"],
     "scheduling": {"size": "8", "hosts": 1000,
                    "physical_network": "physnet2"},
     "repeats": 5, "budget_s": 480}

For each size and workload it configures ``CONF.pci.device_spec`` and
times, best of ``repeats`` with :func:`time.perf_counter` (garbage
collector off):

* ``match_ms``: ``Whitelist(CONF.pci.device_spec)`` plus
  ``device_assignable`` over every device;
* ``full_sync_ms``: ``PciDevTracker.update_devices_from_hypervisor_
  resources`` on an empty tracker (the DB read stubbed to return no rows,
  nothing saved);
* ``steady_sync_ms``: the same devices again on the synced tracker;
* ``pool_build_ms``: a fresh ``PciDeviceStats`` and ``add_device`` for
  every tracked device; ``pools_json_ms``: ``to_device_pools_obj`` and
  the ``compute_nodes.pci_stats`` JSON Nova stores; ``pools_ms``: both.

Both syncs get the device list already decoded, as new dicts built
before the timer starts (:class:`DecodedInput`): sriovirt's tracker gets
its inventory's values already built too, so neither side's figure
includes decoding JSON, and neither side gets back objects it has seen.

Then ``pci_filter`` (when the payload has it): per host count, those
stats built for every host, then ``support_requests`` of a 1-VF request
on a network every host has (``hit``) and on one none has (``miss``).

Then ``scheduling``: ``hosts`` scheduler-side ``PciDeviceStats`` built
from one host's pools JSON (as ``HostState`` does) and
``support_requests`` of one 1-VF Neutron-port request per host.

Slow operations repeat fewer times and the run stops starting new work
once ``budget_s`` is spent; what was skipped is reported, never guessed.
The result is one JSON object on stdout.
"""

# mypy: disable-error-code="import-not-found"

from __future__ import annotations

import copy
import gc
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova.pci import (
    manager,
    stats,
    whitelist,
)
from nova.pci import utils as pci_utils
from oslo_serialization import jsonutils

CONF = nova_conf.CONF
#: What the runner passes as ``devices_json``; :class:`DecodedInput`
#: answers it with the list decoded before the timer started.
DECODED = "<device list decoded before timing>"

#: One run slower than this: repeat at most :data:`SLOW_REPEATS` times.
SLOW_S = 1.0
SLOW_REPEATS = 2
#: One run slower than this (Nova's steady sync at 8k devices): run once.
VERY_SLOW_S = 10.0


class Budget:
    """A wall-clock deadline shared by every timing of the run."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.skipped: list[str] = []

    def left(self) -> float:
        return self.deadline - time.perf_counter()


def best_ms(
    func: Callable[[], object],
    repeats: int,
    budget: Budget,
    setup: Callable[[], object] | None = None,
) -> tuple[float, int]:
    """Best time of up to ``repeats`` runs (ms) and how many ran.

    Always runs once; repeats only while the next run (estimated by the
    last one) still fits the budget, at most :data:`SLOW_REPEATS` times
    when one run takes longer than :data:`SLOW_S`, and not at all past
    :data:`VERY_SLOW_S`.  ``setup`` runs untimed before each run.
    """
    best = float("inf")
    runs = 0
    while runs < repeats:
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            func()
            took = time.perf_counter() - start
        finally:
            gc.enable()
        best = min(best, took)
        runs += 1
        if took > VERY_SLOW_S or (took > SLOW_S and runs >= SLOW_REPEATS):
            break
        if budget.left() < took * 1.5:
            break
    return best * 1000.0, runs


class DecodedInput:
    """Stands in for ``jsonutils`` in ``nova.pci.manager`` only.

    ``PciDevTracker.update_devices_from_hypervisor_resources`` decodes
    the driver's JSON first thing; :meth:`loads` of :data:`DECODED`
    returns the list :meth:`prepare` decoded earlier, untimed, so the
    timing covers what sriovirt's sync covers (matching, tracking,
    pools) and not the decoding.  Any other text is decoded normally.
    """

    def __init__(self) -> None:
        self._ready: list[dict[str, Any]] | None = None

    def prepare(self, devices_json: str) -> None:
        """Decode ``devices_json`` now: new dicts for the next sync."""
        self._ready = jsonutils.loads(devices_json)

    def loads(self, text: str, **kwargs: Any) -> Any:
        if text is DECODED:
            ready, self._ready = self._ready, None
            if ready is None:
                raise RuntimeError("no decoded device list prepared")
            return ready
        return jsonutils.loads(text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(jsonutils, name)


DECODED_INPUT = DecodedInput()


def configure(device_spec: list[str], devices: list[dict[str, Any]]) -> None:
    """Set ``[pci] device_spec`` as a nova-compute on this host has it.

    Nova decides whether a single-address spec names a PF by reading the
    host's sysfs (``nova.pci.utils.is_physical_function``: does
    ``sriov_totalvfs`` exist and exceed 0?).  The bench host is not this
    machine, so answer from its inventory, as Nova's unit tests do by
    mocking that function: the PFs of ``devices``.
    """
    pfs = {dev["address"] for dev in devices if dev["dev_type"] == "type-PF"}

    def is_physical_function(
        domain: str, bus: str, slot: str, function: str
    ) -> bool:
        return f"{domain}:{bus}:{slot}.{function}" in pfs

    pci_utils.is_physical_function = is_physical_function
    CONF.set_override("device_spec", device_spec, group="pci")


def stub_db() -> None:
    """No database: the tracker starts empty and never saves.

    ``PciDevTracker.__init__`` loads the node's rows through
    ``PciDeviceList.get_by_compute_node``; Nova's own unit tests stub the
    DB call under it the same way (``pci_device_get_all_by_node``).
    """
    from nova.db.main import api as db_api

    def no_rows(context: object, node_id: object) -> list[object]:
        return []

    db_api.pci_device_get_all_by_node = no_rows


def new_tracker(context: Any) -> manager.PciDevTracker:
    node = objects.ComputeNode(id=1, numa_topology=None)
    return manager.PciDevTracker(context, node)


def pools_json(pci_stats: stats.PciDeviceStats) -> str:
    """The ``compute_nodes.pci_stats`` column Nova writes for the host."""
    pools = pci_stats.to_device_pools_obj()
    return str(jsonutils.dumps(pools.obj_to_primitive()))


def bench_size(
    context: Any,
    *,
    devices: list[dict[str, Any]],
    device_spec: list[str],
    expected: int,
    repeats: int,
    budget: Budget,
    label: str = "",
) -> dict[str, Any]:
    configure(device_spec, devices)
    n = len(devices)
    where = f"{label} {n} devices".strip()
    result: dict[str, Any] = {"devices": n, "entries": 0}
    runs: dict[str, int] = {}
    devices_json = jsonutils.dumps(devices)

    def match() -> int:
        wl = whitelist.Whitelist(CONF.pci.device_spec)
        return sum(wl.device_assignable(dev) is not None for dev in devices)

    wl = whitelist.Whitelist(CONF.pci.device_spec)
    result["entries"] = len(wl.specs)
    matched = match()
    if matched != expected:
        raise SystemExit(
            f"nova matched {matched} of {n} devices, expected {expected}"
        )
    result["matched"] = matched
    result["match_ms"], runs["match"] = best_ms(match, repeats, budget)

    holder: dict[str, manager.PciDevTracker] = {}

    def fresh_input() -> None:
        DECODED_INPUT.prepare(devices_json)

    def fresh() -> None:
        holder["t"] = new_tracker(context)
        fresh_input()

    def full() -> None:
        holder["t"].update_devices_from_hypervisor_resources(DECODED)

    if budget.left() <= 0:
        budget.skipped.append(f"{where}: full_sync and after")
        return _finish(result, runs, n)
    result["full_sync_ms"], runs["full_sync"] = best_ms(
        full, repeats, budget, setup=fresh
    )
    tracker = holder["t"]
    tracked = len(tracker.pci_devs)
    pool_count = len(tracker.stats.pools)
    result["tracked"] = tracked
    result["pools"] = pool_count

    def steady() -> None:
        tracker.update_devices_from_hypervisor_resources(DECODED)

    if budget.left() <= 0:
        budget.skipped.append(f"{where}: steady_sync and after")
        return _finish(result, runs, n)
    result["steady_sync_ms"], runs["steady_sync"] = best_ms(
        steady, repeats, budget, setup=fresh_input
    )
    if len(tracker.pci_devs) != tracked:
        raise SystemExit("nova steady-state sync changed the device count")

    if budget.left() <= 0:
        budget.skipped.append(f"{where}: pools")
        return _finish(result, runs, n)
    bench_pools(tracker, result, runs, repeats=repeats, budget=budget)
    return _finish(result, runs, n)


def bench_pools(
    tracker: manager.PciDevTracker,
    result: dict[str, Any],
    runs: dict[str, int],
    *,
    repeats: int,
    budget: Budget,
) -> None:
    """Rebuild the tracker's pools from its devices, then export them."""
    dev_filter = tracker.dev_filter
    pci_devs = list(tracker.pci_devs)

    def build() -> stats.PciDeviceStats:
        pci_stats = stats.PciDeviceStats(None, dev_filter=dev_filter)
        for dev in pci_devs:
            pci_stats.add_device(dev)
        return pci_stats

    result["pool_build_ms"], runs["pool_build"] = best_ms(
        build, repeats, budget
    )
    built = build()
    if len(built.pools) != len(tracker.stats.pools):
        raise SystemExit("nova pool build disagrees with the tracker")
    result["pools_json_ms"], runs["pools_json"] = best_ms(
        lambda: pools_json(built), repeats, budget
    )
    result["pools_ms"] = result["pool_build_ms"] + result["pools_json_ms"]


def _finish(
    result: dict[str, Any], runs: dict[str, int], n: int
) -> dict[str, Any]:
    for name in (
        "match",
        "full_sync",
        "steady_sync",
        "pool_build",
        "pools_json",
        "pools",
    ):
        key = f"{name}_ms"
        if key in result:
            result[key] = round(result[key], 3)
            result[f"{name}_ns_per_device"] = round(result[key] * 1e6 / n)
    result["runs"] = runs
    return result


def bench_scheduling(
    context: Any,
    *,
    devices: list[dict[str, Any]],
    device_spec: list[str],
    hosts: int,
    physnet: str,
    repeats: int,
    budget: Budget,
) -> dict[str, Any]:
    """``support_requests`` over ``hosts`` scheduler-side host stats."""
    configure(device_spec, devices)
    tracker = new_tracker(context)
    tracker.update_devices_from_hypervisor_resources(jsonutils.dumps(devices))
    text = pools_json(tracker.stats)
    # The scheduler has no [pci] device_spec of its own (it is a compute
    # option); HostState builds each host's stats from the DB column.
    configure([], [])
    from nova.objects import (
        pci_device_pool,
    )

    start = time.perf_counter()
    all_stats = [
        stats.PciDeviceStats(None, stats=pci_device_pool.from_pci_stats(text))
        for _ in range(hosts)
    ]
    build_ms = (time.perf_counter() - start) * 1000.0
    # What Neutron makes of a vnic_type=direct port (create_resource_
    # requests in nova.network.neutron): physnet + remote_managed.
    request = objects.InstancePCIRequest(
        count=1,
        spec=[{"physical_network": physnet, "remote_managed": "False"}],
        request_id=str(uuid.uuid4()),
        requester_id=str(uuid.uuid4()),
    )
    requests = [request]

    def schedule() -> int:
        return sum(1 for s in all_stats if s.support_requests(requests, None))

    supported = schedule()
    if supported != hosts:
        raise SystemExit(f"nova supported only {supported} of {hosts} hosts")
    total_ms, runs = best_ms(schedule, repeats, budget)
    return {
        "hosts": hosts,
        "pools_per_host": len(all_stats[0].pools),
        "from_json_ms": round(build_ms, 1),
        "support_total_ms": round(total_ms, 3),
        "support_us_per_host": round(total_ms * 1e3 / hosts, 3),
        "runs": runs,
    }


def bench_pci_filter(
    context: Any,
    *,
    devices: list[dict[str, Any]],
    device_spec: list[str],
    hosts: list[int],
    hit: str,
    miss: str,
    repeats: int,
    budget: Budget,
) -> dict[str, Any]:
    """Nova's PciPassthroughFilter decision over many hosts, hit and miss.

    Per host count: scheduler-side ``PciDeviceStats`` built from one
    host's pools JSON (untimed here: sriovirt's filter figures exclude
    its JSON load too), then ``support_requests`` of a 1-VF port request
    on ``hit`` (every host passes) and on ``miss`` (no host does): what
    ``PciPassthroughFilter.host_passes`` asks of each host.
    """
    configure(device_spec, devices)
    tracker = new_tracker(context)
    tracker.update_devices_from_hypervisor_resources(jsonutils.dumps(devices))
    text = pools_json(tracker.stats)
    configure([], [])
    from nova.objects import (
        pci_device_pool,
    )

    def request(physnet: str) -> list[Any]:
        return [
            objects.InstancePCIRequest(
                count=1,
                spec=[
                    {"physical_network": physnet, "remote_managed": "False"}
                ],
                request_id=str(uuid.uuid4()),
                requester_id=str(uuid.uuid4()),
            )
        ]

    out: dict[str, Any] = {}
    for n in hosts:
        if budget.left() <= 0:
            budget.skipped.append(f"pci_filter {n} hosts: time budget spent")
            continue
        start = time.perf_counter()
        all_stats = [
            stats.PciDeviceStats(
                None, stats=pci_device_pool.from_pci_stats(text)
            )
            for _ in range(n)
        ]
        build_ms = (time.perf_counter() - start) * 1000.0
        figures: dict[str, Any] = {
            "hosts": n,
            "pools_per_host": len(all_stats[0].pools),
            "from_json_ms": round(build_ms, 1),
        }
        for name, physnet, expected in (("hit", hit, n), ("miss", miss, 0)):
            requests = request(physnet)

            def decide(
                reqs: list[Any] = requests, on: list[Any] = all_stats
            ) -> int:
                return sum(1 for s in on if s.support_requests(reqs, None))

            passed = decide()
            if passed != expected:
                raise SystemExit(
                    f"nova passed {passed} of {n} hosts for {physnet}"
                )
            total_ms, runs = best_ms(decide, repeats, budget)
            figures[f"filter_{name}_ms"] = round(total_ms, 3)
            figures[f"filter_{name}_us_per_host"] = round(
                total_ms * 1e3 / n, 3
            )
            figures[f"filter_{name}_runs"] = runs
        out[str(n)] = figures
    return out


def main() -> int:
    payload = json.load(sys.stdin)
    logging.basicConfig(level=logging.ERROR)
    CONF([], project="nova")
    objects.register_all()
    stub_db()
    manager.jsonutils = DECODED_INPUT
    context = nova_context.get_admin_context()
    budget = Budget(float(payload.get("budget_s", 480)))
    repeats = int(payload.get("repeats", 5))
    report: dict[str, Any] = {}
    started = time.perf_counter()
    # Scheduling first: it is cheap, and the slow big sizes go last so
    # the budget cuts them, not everything.
    sched = payload.get("scheduling")
    if sched:
        size = payload["sizes"][sched["size"]]
        report["scheduling"] = bench_scheduling(
            context,
            devices=copy.deepcopy(size["devices"]),
            device_spec=size["device_spec"]["exact_address"],
            hosts=int(sched["hosts"]),
            physnet=str(sched["physical_network"]),
            repeats=repeats,
            budget=budget,
        )
    pci_filter = payload.get("pci_filter")
    if pci_filter:
        size = payload["sizes"][pci_filter["size"]]
        report["pci_filter"] = bench_pci_filter(
            context,
            devices=copy.deepcopy(size["devices"]),
            device_spec=size["device_spec"]["exact_address"],
            hosts=[int(n) for n in pci_filter["hosts"]],
            hit=str(pci_filter["hit"]),
            miss=str(pci_filter["miss"]),
            repeats=repeats,
            budget=budget,
        )
    timed = payload.get("timed_sizes", list(payload["sizes"]))
    workloads = payload.get("workloads", ["exact_address"])
    report["workloads"] = {workload: {} for workload in workloads}
    # Smallest size first, both workloads at each size: the budget cuts
    # the biggest size, of both workloads alike.
    for name in sorted(
        timed, key=lambda key: len(payload["sizes"][key]["devices"])
    ):
        size = payload["sizes"][name]
        for workload in workloads:
            if budget.left() <= 0:
                budget.skipped.append(
                    f"{workload} size {name}: time budget spent"
                )
                continue
            report["workloads"][workload][name] = bench_size(
                context,
                devices=size["devices"],
                device_spec=size["device_spec"][workload],
                expected=int(size["expected_matches"][workload]),
                repeats=repeats,
                budget=budget,
                label=workload,
            )
    report["skipped"] = budget.skipped
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    from importlib import metadata

    report["nova_version"] = metadata.version("nova")
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
