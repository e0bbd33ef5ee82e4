"""One human-readable table of a ``python -m bench --peer nova`` report.

:func:`format_table` lays out, per workload, NIC count and operation,
sriovirt's time, Nova's, the ratio Nova / sriovirt, both sides' cost per
device and the design target for that size (section 7: >= 20x at 2,064
devices, >= 100x at 8,256), then the scheduling figure.  It only reads
the report (the JSON ``python -m bench`` prints): no timing here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.nova_peer.driver import RATIO_MAP, SCHED_RATIO

#: Ratio targets of design section 7 by NIC count (2,064 and 8,256
#: devices).
TARGETS: Mapping[str, float] = {"8": 20.0, "32": 100.0}
#: Operations in table order, with what each row means.
OPERATIONS: Sequence[tuple[str, str]] = (
    ("match", "whitelist parse + match"),
    ("full_sync", "sync, empty tracker"),
    ("steady_sync", "sync, nothing changed"),
    ("pools", "pools rebuild + JSON"),
    ("pools_json", "pools JSON only"),
)
HEADER = (
    "workload",
    "devices",
    "operation",
    "sriovirt ms",
    "Nova ms",
    "ratio",
    "sriovirt ns/dev",
    "Nova ns/dev",
    "target",
)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def fmt_ms(value: object) -> str:
    """Milliseconds with 3 significant digits or so; ``-`` if missing."""
    ms = _number(value)
    if ms is None:
        return "-"
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_ratio(value: object) -> str:
    ratio = _number(value)
    if ratio is None:
        return "-"
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x"


def fmt_target(ratio: object, target: float | None) -> str:
    """``>=20x met`` / ``>=20x NOT met``; empty where none applies."""
    if target is None:
        return ""
    value = _number(ratio)
    if value is None:
        return f">={target:.0f}x ?"
    verdict = "met" if value >= target else "NOT met"
    return f">={target:.0f}x {verdict}"


def _per_device(ms: object, devices: object) -> str:
    value, count = _number(ms), _number(devices)
    if value is None or not count:
        return "-"
    return f"{value * 1e6 / count:,.0f}"


def _section(report: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = report.get(key)
    return value if isinstance(value, Mapping) else {}


def _figures(
    section: Mapping[str, Any], workload: str, size: str
) -> Mapping[str, Any]:
    by_size = _section(_section(section, "workloads"), workload)
    return _section(by_size, size)


def _sizes_by_workload(report: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every workload and NIC count either side reported, in order."""
    sections = [
        _section(_section(report, "nova_peer"), "figures"),
        *(_section(report, bench) for bench, _, _ in RATIO_MAP.values()),
    ]
    found: dict[str, set[str]] = {}
    for section in sections:
        for workload, sizes in _section(section, "workloads").items():
            if isinstance(sizes, Mapping):
                found.setdefault(workload, set()).update(sizes)
    return {
        workload: sorted(sizes, key=int) for workload, sizes in found.items()
    }


def table_rows(report: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """One row per workload, NIC count and operation (see HEADER)."""
    peer = _section(report, "nova_peer")
    nova = _section(peer, "figures")
    ratios = _section(peer, "ratios")
    rows: list[tuple[str, ...]] = []
    for workload, sizes in _sizes_by_workload(report).items():
        for size in sizes:
            nova_fig = _figures(nova, workload, size)
            size_ratios = _figures(ratios, workload, size)
            for name, label in OPERATIONS:
                bench, ours_key, nova_key = RATIO_MAP[name]
                ours = _figures(_section(report, bench), workload, size)
                devices = nova_fig.get("devices", ours.get("devices"))
                ratio = size_ratios.get(name)
                rows.append(
                    (
                        workload,
                        f"{devices:,}" if isinstance(devices, int) else "-",
                        label,
                        fmt_ms(ours.get(ours_key)),
                        fmt_ms(nova_fig.get(nova_key)),
                        fmt_ratio(ratio),
                        _per_device(ours.get(ours_key), devices),
                        _per_device(nova_fig.get(nova_key), devices),
                        fmt_target(ratio, TARGETS.get(size)),
                    )
                )
    return rows


def format_table(report: Mapping[str, Any]) -> str:
    """The report as aligned text: the table, then scheduling."""
    rows = [HEADER, *table_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    # Text columns left-aligned, figures right-aligned.
    texts = {0, 2, 8}
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if col in texts else cell.rjust(width)
            for col, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    peer = _section(report, "nova_peer")
    ours = _section(_section(report, "bench_tracker"), "scheduling")
    theirs = _section(_section(peer, "figures"), "scheduling")
    if ours or theirs:
        lines.append(
            "scheduling, one 1-VF request: sriovirt "
            f"{fmt_ms(_number(ours.get('support_us_per_host')))} us/host "
            f"({ours.get('hosts', '-')} hosts: "
            f"{fmt_ms(ours.get('support_total_ms'))} ms), Nova "
            f"{fmt_ms(_number(theirs.get('support_us_per_host')))} us/host"
            f", ratio {fmt_ratio(_section(peer, 'ratios').get(SCHED_RATIO))}"
        )
    lines.extend(_filter_lines(report, peer))
    skipped = _section(peer, "figures").get("skipped")
    if skipped:
        lines.append("skipped (time budget): " + "; ".join(map(str, skipped)))
    return "\n".join(lines) + "\n"


def _filter_lines(
    report: Mapping[str, Any], peer: Mapping[str, Any]
) -> list[str]:
    """One line per host count and case of the PCI filter figure."""
    ours_all = _section(_section(report, "bench_scheduler"), "pci_filter")
    theirs_all = _section(_section(peer, "figures"), "pci_filter")
    ratios = _section(_section(peer, "ratios"), "pci_filter")
    lines = []
    for hosts in sorted(set(ours_all) | set(theirs_all), key=int):
        ours = _section(ours_all, hosts)
        theirs = _section(theirs_all, hosts)
        for kind in ("hit", "miss"):
            key = f"filter_{kind}_ms"
            lines.append(
                f"PCI filter, {hosts} hosts, {kind}: sriovirt "
                f"{fmt_ms(ours.get(key))} ms, Nova "
                f"{fmt_ms(theirs.get(key))} ms, ratio "
                f"{fmt_ratio(_section(ratios, hosts).get(kind))}"
            )
    return lines
