"""Bench: parse each workload's device_spec and match every device.

``run(sizes, workloads)`` reports, per workload (:data:`bench.workload.
WORKLOADS`) and NIC count, the device count, how many devices the
whitelist selects, the best-of-N time (garbage collector off) to build
the :class:`~sriovirt.pci.whitelist.Whitelist` and to match all devices,
and the matching cost per device (which must stay flat as hosts grow:
design section 7).  Like Nova's ``device_assignable``, matching gets the
inventory's values already decoded; nothing is parsed from JSON.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.timing import best_ms
from bench.workload import (
    WORKLOADS,
    build_devices,
    device_spec,
    expected_matches,
)
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.whitelist import Whitelist

REPEATS = 7


def _size(workload: str, n_nics: int, repeats: int) -> dict[str, object]:
    devices = build_devices(n_nics)
    values = device_spec(workload, devices)
    whitelist = Whitelist.from_config(values)
    matched = sum(whitelist.match(dev) is not None for dev in devices)
    expected = expected_matches(workload, devices)
    if matched != expected:
        raise AssertionError(
            f"{workload}, {n_nics} NICs: {matched} of {len(devices)} "
            f"matched, expected {expected}"
        )

    def match_all(
        wl: Whitelist = whitelist, devs: list[HostPciDevice] = devices
    ) -> None:
        for dev in devs:
            wl.match(dev)

    def parse(vals: list[str] = values) -> Whitelist:
        return Whitelist.from_config(vals)

    parse_ms = best_ms(parse, repeats)
    match_ms = best_ms(match_all, repeats)
    total_ms = parse_ms + match_ms
    n = len(devices)
    return {
        "nics": n_nics,
        "devices": n,
        "matched": matched,
        "entries": len(whitelist.entries),
        "parse_ms": round(parse_ms, 3),
        "match_ms": round(match_ms, 3),
        "total_ms": round(total_ms, 3),
        "match_ns_per_device": round(match_ms * 1e6 / n, 1),
        "total_ns_per_device": round(total_ms * 1e6 / n, 1),
    }


def run(
    sizes: Iterable[int] = (2, 8, 32),
    repeats: int = REPEATS,
    workloads: Iterable[str] = WORKLOADS,
) -> dict[str, object]:
    """Time ``Whitelist.from_config`` and matching per workload and size."""
    sizes = tuple(sizes)
    return {
        "workloads": {
            workload: {str(n): _size(workload, n, repeats) for n in sizes}
            for workload in workloads
        }
    }
