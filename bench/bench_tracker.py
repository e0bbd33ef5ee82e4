"""Tracker and pool bench: sync, steady-state sync, pools, scheduling.

``run(sizes)`` builds the design's reference host (:mod:`bench.workload`)
for each NIC count and times, with the real whitelist:

* ``full_sync_ms``: sync into an empty tracker (match + add + pools);
* ``steady_sync_ms``: the same inventory again (nothing changes);
* ``to_json_ms``: the host's pools as ``compute_nodes.pci_stats`` JSON;

each also as ns per device.  ``scheduling`` builds 10,000 hosts'
:class:`~sriovirt.pci.stats.PciStats` from a typical host's JSON and
times ``support`` of one 1-VF physnet request across all of them.

This module only measures: no assertions, no configuration.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.timing import best_ms
from bench.workload import build_device_spec, build_devices
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist

HOSTS = 10_000
REPEAT = 5


def _size(n_nics: int) -> dict[str, float | int]:
    devices = build_devices(n_nics)
    whitelist = Whitelist.from_config(build_device_spec(devices))

    def full() -> PciTracker:
        tracker = PciTracker(whitelist)
        tracker.sync(devices)
        return tracker

    full_ms = best_ms(full, REPEAT)
    tracker = full()
    steady_ms = best_ms(lambda: tracker.sync(devices), REPEAT)
    assert not tracker.sync(devices).changed
    json_ms = best_ms(tracker.stats.to_json, REPEAT)
    n = len(devices)
    return {
        "devices": n,
        "pools": len(tracker.stats.pools),
        "full_sync_ms": round(full_ms, 3),
        "full_sync_ns_per_device": round(full_ms * 1e6 / n),
        "steady_sync_ms": round(steady_ms, 3),
        "steady_sync_ns_per_device": round(steady_ms * 1e6 / n),
        "to_json_ms": round(json_ms, 4),
        "to_json_ns_per_device": round(json_ms * 1e6 / n, 1),
    }


def _scheduling(hosts: int = HOSTS) -> dict[str, float | int]:
    devices = build_devices(8)
    tracker = PciTracker(Whitelist.from_config(build_device_spec(devices)))
    tracker.sync(devices)
    text = tracker.stats.to_json()
    start = time.perf_counter()
    all_stats = [PciStats.from_json(text) for _ in range(hosts)]
    build_ms = (time.perf_counter() - start) * 1e3
    request = [PciRequest(spec=[{"physical_network": "physnet2"}])]

    def schedule() -> int:
        return sum(1 for stats in all_stats if stats.support(request))

    assert schedule() == hosts
    total_ms = best_ms(schedule, REPEAT)
    return {
        "hosts": hosts,
        "pools_per_host": len(all_stats[0].pools),
        "from_json_ms": round(build_ms, 1),
        "support_total_ms": round(total_ms, 3),
        "support_us_per_host": round(total_ms * 1e3 / hosts, 3),
    }


def run(sizes: Sequence[int] = (2, 8, 32)) -> dict[str, object]:
    return {
        "sizes": {str(n): _size(n) for n in sizes},
        "scheduling": _scheduling(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
