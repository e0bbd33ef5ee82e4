"""Readable command output: aligned tables and JSON documents.

Commands build rows of plain strings and hand them here; nothing in this
module knows about devices or configuration.  :func:`add_format_argument`
gives every command the same ``--format`` option.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def add_format_argument(
    parser: argparse.ArgumentParser, human: str = "table"
) -> None:
    """``--format {human,json}``, ``human`` (the default) being the
    readable form: ``table`` or, for a list of findings, ``text``."""
    parser.add_argument(
        "--format",
        choices=(human, "json"),
        default=human,
        help=f"output format (default: {human})",
    )


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    out: TextIO | None = None,
) -> None:
    """Print ``rows`` under ``headers`` in left-aligned columns."""
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    print(line(headers), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for row in rows:
        print(line(row), file=out)


def as_json(document: Any, out: TextIO | None = None) -> None:
    """Print ``document`` as indented, key-sorted JSON."""
    text = json.dumps(document, indent=2, sort_keys=True)
    print(text, file=out or sys.stdout)
