"""``sriovirt traits``: the host's traits, each with the reason."""

from __future__ import annotations

import argparse

from oslo_config import cfg

from sriovirt import exception


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json"), default="table",
        help="output format (default: table)",
    )


def run(conf: cfg.ConfigOpts) -> int:
    raise exception.SriovirtError("traits is not available yet")
