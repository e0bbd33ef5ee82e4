"""``python -m bench``: run every registered bench, print one JSON report.

Each module in :data:`BENCHES` exposes ``run(sizes=...) -> dict``; the
report maps the module's short name to what it returned.  Add a bench by
appending one line to :data:`BENCHES`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHES = [
    "bench.bench_match",
]


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


def main(argv: list[str] | None = None) -> int:
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
        "omitted)",
    )
    args = parser.parse_args(argv)
    names = {module.rpartition(".")[2]: module for module in BENCHES}
    selected = args.only or list(names)
    unknown = [name for name in selected if name not in names]
    if unknown:
        parser.error(
            f"unknown bench {', '.join(unknown)}; known: {', '.join(names)}"
        )
    report: dict[str, object] = {}
    for name in selected:
        module = importlib.import_module(names[name])
        if args.sizes is None:
            report[name] = module.run()
        else:
            report[name] = module.run(sizes=args.sizes)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
