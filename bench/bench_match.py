"""Bench: parse the workload's device_spec and match every device.

``run(sizes)`` reports, per NIC count, the device count, the best-of-N
time (garbage collector off) to build the
:class:`~sriovirt.pci.whitelist.Whitelist` and to match all devices, and
the matching cost per device (which must stay flat as hosts grow: design
section 7).
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.timing import best_ms
from bench.workload import build_device_spec, build_devices
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.whitelist import Whitelist

REPEATS = 7


def run(
    sizes: Iterable[int] = (2, 8, 32), repeats: int = REPEATS
) -> dict[str, object]:
    """Time ``Whitelist.from_config`` and matching for each NIC count."""
    results: dict[str, object] = {}
    for n_nics in sizes:
        devices = build_devices(n_nics)
        values = build_device_spec(devices)
        whitelist = Whitelist.from_config(values)
        matched = sum(whitelist.match(dev) is not None for dev in devices)
        if matched != len(devices):
            raise AssertionError(
                f"{n_nics} NICs: only {matched} of {len(devices)} matched"
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
        results[str(n_nics)] = {
            "nics": n_nics,
            "devices": len(devices),
            "entries": len(whitelist.entries),
            "parse_ms": round(parse_ms, 3),
            "match_ms": round(match_ms, 3),
            "total_ms": round(parse_ms + match_ms, 3),
            "match_ns_per_device": round(match_ms * 1e6 / len(devices), 1),
        }
    return results
