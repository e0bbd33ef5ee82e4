"""Tracker and pool bench: sync, steady-state sync, pools, scheduling.

``run(sizes, workloads)`` builds the design's reference host
(:mod:`bench.workload`) for each workload and NIC count and times, with
the real whitelist:

* ``full_sync_ms``: sync into an empty tracker (match + add + pools);
* ``steady_sync_ms``: the same inventory again (nothing changes);
* ``to_json_ms``: the tracker's own pools as ``compute_nodes.pci_stats``
  JSON (the tracker keeps them up to date while it syncs);
* ``pool_rebuild_ms`` and ``pools_json_ms``: pools rebuilt from scratch
  from the tracked devices at Nova's granularity (one pool per PF and
  per PF's VFs, see :func:`rebuild_pools`) and their JSON; ``pools_ms``
  both, like for like with Nova's rebuild + export;

each also as ns per device.  Every sync gets a NEW inventory (equal
:class:`~sriovirt.pci.device.HostPciDevice` values, new objects, built
before the timer starts), as a refresh gets from libvirt: the tracker
cannot recognise its own objects.  Nothing is decoded from JSON inside
the timings, on either side (the Nova runner hands Nova's tracker the
device list already decoded).

``scheduling`` builds 10,000 hosts' :class:`~sriovirt.pci.stats.
PciStats` from a typical host's JSON and times ``support`` of one 1-VF
physnet request across all of them.

This module only measures: no assertions beyond sanity, no
configuration.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.timing import best_ms
from bench.workload import (
    EXACT_ADDRESS,
    WORKLOADS,
    build_device_spec,
    build_devices,
    device_spec,
)
from sriovirt.pci.device import DeviceStatus, HostPciDevice, PciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats, PoolKey
from sriovirt.pci.tracker import PciTracker, SyncResult
from sriovirt.pci.whitelist import Whitelist

HOSTS = 10_000
REPEAT = 5
#: The pool tag that splits a rebuild per PF, as Nova's pools are split.
PF_TAG = "pf_address"


def rebuild_pools(devices: Iterable[PciDevice]) -> PciStats:
    """Pools of the free ``devices`` built from scratch, one per PF.

    Nova 34 keys each pool by the PF too (a PF's own address, a VF's
    parent address: PCI in Placement maps pools to PF providers), so its
    8-NIC host has 32 pools where the tracker keeps 8.  To rebuild at the
    same granularity the PF address joins each key as the tag
    :data:`PF_TAG`; everything else comes from the tracked device.
    """
    stats = PciStats()
    # One key object per distinct key, as the tracker's own key cache
    # does; the cache starts empty at every rebuild.
    keys: dict[tuple[object, ...], PoolKey] = {}
    for dev in devices:
        if dev.status is not DeviceStatus.AVAILABLE:
            continue
        raw = (
            dev.vendor_id,
            dev.product_id,
            dev.numa_node,
            dev.dev_type,
            dev.physical_network,
            dev.tags,
            dev.parent_addr or dev.address,
        )
        key = keys.get(raw)
        if key is None:
            tags = tuple(sorted((*dev.tags, (PF_TAG, str(raw[-1])))))
            key = PoolKey(
                dev.vendor_id,
                dev.product_id,
                dev.numa_node,
                dev.dev_type,
                dev.physical_network,
                tags,
            )
            keys[raw] = key
        stats.adjust(key, 1)
    return stats


def _per_device(ms: float, n: int) -> int:
    return round(ms * 1e6 / n)


@dataclass
class _Inputs:
    """What the next timed sync gets (replaced by untimed setups)."""

    tracker: PciTracker
    devices: list[HostPciDevice]

    def sync(self) -> SyncResult:
        return self.tracker.sync(self.devices)


def _size(workload: str, n_nics: int) -> dict[str, float | int]:
    devices = build_devices(n_nics)
    whitelist = Whitelist.from_config(device_spec(workload, devices))
    inputs = _Inputs(PciTracker(whitelist), devices)

    def fresh_inventory() -> None:
        # Equal values, new objects: what the next refresh's inventory
        # gives the tracker.
        inputs.devices = build_devices(n_nics)

    def fresh_tracker() -> None:
        fresh_inventory()
        inputs.tracker = PciTracker(whitelist)

    full_ms = best_ms(inputs.sync, REPEAT, setup=fresh_tracker)
    tracker = inputs.tracker
    steady_ms = best_ms(inputs.sync, REPEAT, setup=fresh_inventory)
    fresh_inventory()
    assert not inputs.sync().changed
    json_ms = best_ms(tracker.stats.to_json, REPEAT)
    tracked = tracker.devices
    rebuild_ms = best_ms(lambda: rebuild_pools(tracked), REPEAT)
    rebuilt = rebuild_pools(tracked)
    export_ms = best_ms(rebuilt.to_json, REPEAT)
    n = len(devices)
    return {
        "devices": n,
        "tracked": len(tracked),
        "pools": len(tracker.stats.pools),
        "rebuilt_pools": len(rebuilt.pools),
        "full_sync_ms": round(full_ms, 3),
        "full_sync_ns_per_device": _per_device(full_ms, n),
        "steady_sync_ms": round(steady_ms, 3),
        "steady_sync_ns_per_device": _per_device(steady_ms, n),
        "to_json_ms": round(json_ms, 4),
        "to_json_ns_per_device": round(json_ms * 1e6 / n, 1),
        "pool_rebuild_ms": round(rebuild_ms, 3),
        "pool_rebuild_ns_per_device": _per_device(rebuild_ms, n),
        "pools_json_ms": round(export_ms, 4),
        "pools_json_ns_per_device": round(export_ms * 1e6 / n, 1),
        "pools_ms": round(rebuild_ms + export_ms, 3),
        "pools_ns_per_device": _per_device(rebuild_ms + export_ms, n),
    }


def _scheduling(hosts: int = HOSTS) -> dict[str, float | int | str]:
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
        "workload": EXACT_ADDRESS,
        "pools_per_host": len(all_stats[0].pools),
        "from_json_ms": round(build_ms, 1),
        "support_total_ms": round(total_ms, 3),
        "support_us_per_host": round(total_ms * 1e3 / hosts, 3),
    }


def run(
    sizes: Sequence[int] = (2, 8, 32),
    workloads: Iterable[str] = WORKLOADS,
) -> dict[str, object]:
    return {
        "workloads": {
            workload: {str(n): _size(workload, n) for n in sizes}
            for workload in workloads
        },
        "scheduling": _scheduling(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
