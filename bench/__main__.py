"""``python -m bench``: run every registered bench, print one JSON report.

Each module in :data:`BENCHES` exposes ``run(sizes=...) -> dict``; the
report maps the module's short name to what it returned.  Add a bench by
appending one line to :data:`BENCHES`.

``--peer nova`` also runs OpenStack Nova 34's own PCI code on the same
workload and sizes (in a separate virtual environment,
:mod:`bench.nova_peer`) and adds a ``"nova_peer"`` section: Nova's figures
and the ratios Nova time / sriovirt time.  The benches the ratios need
(:data:`PEER_BENCHES`) run in peer mode even if ``--only`` leaves them
out.  bench_match and bench_tracker run each workload of
:data:`bench.workload.WORKLOADS` (``--workload`` picks some).

bench_decision (whole scheduling decisions through the real Placement)
takes its own knobs: ``--decision-hosts`` (host counts, default
100,1000), ``--decision-placement`` (embedded, loopback) and
``--decision-populate``.

``--output FILE`` writes the JSON there instead of stdout (and names the
file on stderr); ``--table`` prints one human-readable table of both
workloads on stderr (:mod:`bench.table`).  ``make bench-nova`` uses
both.  See ``bench/README.rst``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from pathlib import Path

from bench.nova_peer.driver import DEFAULT_BUDGET_S
from bench.workload import WORKLOADS

# oslo.versionedobjects imports eventlet (through oslo.service), which
# warns about its own deprecation; the report must stay clean.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

BENCHES = [
    "bench.bench_match",
    "bench.bench_tracker",
    "bench.bench_refresh",
    "bench.bench_xml",
    "bench.bench_scheduler",
    "bench.bench_boot",
    "bench.bench_decision",
    "bench.bench_cluster",
]

#: What ``--peer nova`` compares Nova against (short name -> module).
PEER_BENCHES = {
    "bench_match": "bench.bench_match",
    "bench_tracker": "bench.bench_tracker",
    "bench_scheduler": "bench.bench_scheduler",
}
#: NIC counts of a peer run when ``--sizes`` is not given.
PEER_SIZES = (2, 8, 32)
#: Host counts of bench_decision when ``--decision-hosts`` is not given.
DECISION_HOSTS = (100, 1_000)
#: Benches whose ``run`` takes ``workloads=``.
WORKLOAD_BENCHES = frozenset({"bench.bench_match", "bench.bench_tracker"})


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes wants comma-separated NIC counts, got {text!r}"
        ) from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"--sizes wants positive NIC counts, got {text!r}"
        )
    return sizes


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive number, got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    value = _positive(text)
    if value != int(value):
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        )
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this bench (short name like bench_match); repeatable",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated NIC counts, e.g. 2,8,32 (bench default if "
        "omitted; 2,8,32 with --peer)",
    )
    parser.add_argument(
        "--peer",
        choices=["nova"],
        default=None,
        help="also time Nova 34's PCI code on the same workload and report "
        "Nova/sriovirt ratios (builds bench/.nova-venv on first use)",
    )
    parser.add_argument(
        "--peer-budget",
        type=_positive,
        default=DEFAULT_BUDGET_S,
        metavar="SECONDS",
        help="stop starting Nova timings after this many seconds "
        f"(default {DEFAULT_BUDGET_S:.0f})",
    )
    parser.add_argument(
        "--peer-repeats",
        type=_positive_int,
        default=5,
        metavar="N",
        help="best of N for Nova's fast operations; slow ones run fewer "
        "times (default 5)",
    )
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=None,
        metavar="DIR",
        help="the Nova virtual environment (default bench/.nova-venv; "
        "built there if missing)",
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=WORKLOADS,
        default=None,
        help="device_spec workload of bench_match, bench_tracker and the "
        "Nova peer; repeatable (default: all)",
    )
    parser.add_argument(
        "--decision-hosts",
        type=_sizes,
        default=DECISION_HOSTS,
        metavar="N,N",
        help="host counts of bench_decision (whole decisions through real "
        "Placement), default 100,1000; 1,000 hosts take about a minute",
    )
    parser.add_argument(
        "--decision-placement",
        action="append",
        choices=["embedded", "loopback"],
        default=None,
        help="bench_decision's Placement: in-process or a wsgiref server "
        "on loopback; repeatable (default: both)",
    )
    parser.add_argument(
        "--decision-populate",
        choices=["bulk", "report"],
        default="bulk",
        help="how bench_decision fills Placement: bulk (2 hosts through "
        "the report client, the rest written from the same trees and "
        "checked by a report client; default) or report (every host "
        "through the report client, ~0.1 s a host)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the JSON report to FILE (its directory is created) "
        "instead of stdout",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="also print one human-readable table on stderr (with --peer)",
    )
    return parser


def _run_bench(
    module_name: str,
    sizes: tuple[int, ...] | None,
    workloads: tuple[str, ...] = WORKLOADS,
    extra: dict[str, object] | None = None,
) -> object:
    module = importlib.import_module(module_name)
    kwargs: dict[str, object] = dict(extra or {})
    if sizes is not None:
        kwargs["sizes"] = sizes
    if module_name in WORKLOAD_BENCHES:
        kwargs["workloads"] = workloads
    return module.run(**kwargs)


def _emit(report: dict[str, object], output: Path | None) -> None:
    """The JSON report on stdout, or in ``output`` (named on stderr)."""
    if output is None:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"python -m bench: JSON report written to {output}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = {module.rpartition(".")[2]: module for module in BENCHES}
    selected = args.only or list(names)
    unknown = [
        name
        for name in selected
        if name not in names and not (args.peer and name in PEER_BENCHES)
    ]
    if unknown:
        parser.error(
            f"unknown bench {', '.join(unknown)}; known: {', '.join(names)}"
        )
    sizes = args.sizes
    workloads = tuple(dict.fromkeys(args.workload or WORKLOADS))
    python = None
    if args.peer:
        from bench.nova_peer import driver

        sizes = sizes or PEER_SIZES
        modules = {n: names[n] for n in selected if n in names}
        modules.update(PEER_BENCHES)
        # Build (or find) the Nova venv before timing anything: fail fast.
        try:
            python = driver.ensure_venv(args.peer_venv or driver.VENV_DIR)
        except driver.PeerError as exc:
            print(f"python -m bench: --peer nova: {exc}", file=sys.stderr)
            return 1
    else:
        modules = {name: names[name] for name in selected}
    extra: dict[str, dict[str, object]] = {
        "bench.bench_decision": {
            "hosts": args.decision_hosts,
            "populate": args.decision_populate,
        },
    }
    if args.decision_placement:
        extra["bench.bench_decision"]["placements"] = tuple(
            dict.fromkeys(args.decision_placement)
        )
    report: dict[str, object] = {}
    for name, module_name in modules.items():
        try:
            report[name] = _run_bench(
                module_name, sizes, workloads, extra.get(module_name)
            )
        except ModuleNotFoundError as exc:
            if not args.peer or exc.name != module_name:
                raise
            print(
                f"python -m bench: --peer nova: bench {module_name} is "
                "missing",
                file=sys.stderr,
            )
            return 1
    if args.peer:
        assert sizes is not None and python is not None
        try:
            report["nova_peer"] = driver.run_peer(
                sizes,
                report,
                workloads=workloads,
                python=python,
                budget_s=args.peer_budget,
                repeats=args.peer_repeats,
            )
        except driver.PeerError as exc:
            print(f"python -m bench: --peer nova: {exc}", file=sys.stderr)
            return 1
    _emit(report, args.output)
    if args.table:
        from bench.table import format_table

        sys.stderr.write(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
