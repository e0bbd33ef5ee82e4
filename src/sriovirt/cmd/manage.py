"""``sriovirt-manage``: the operator's command for the database schema.

Usage::

    sriovirt-manage [--config-file F] db sync [--revision R]
    sriovirt-manage [--config-file F] db version

Reads ``[database] connection`` (and oslo.log's options) from the
configuration, then calls :mod:`sriovirt.db.api` with the URL as a value.
Output is one readable line; a failure is one line on stderr and exit
status 1 (2 for a command line or configuration file that cannot be
read), never a traceback.

This module must not hold database logic: it parses, calls and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from oslo_config import cfg

import sriovirt.conf
from sriovirt.cmd import register_logging, run_action, startup
from sriovirt.db import api as db_api

PROJECT = "sriovirt"


def db_sync(conf: cfg.ConfigOpts) -> str:
    revision = conf.category.revision or "head"
    result = db_api.sync(conf.database.connection, revision=revision)
    return str(result)


def db_version(conf: cfg.ConfigOpts) -> str:
    url = conf.database.connection
    current = db_api.version(url)
    head = db_api.head()
    shown = str(current) if current else "<none> (empty database)"
    line = f"database {db_api.mask_url(url)} is at {shown}"
    if current is not None and not current.known:
        # `db sync` would be the wrong advice: it refuses such a database.
        line += (
            f"; its newest is {head}: the database was upgraded by a "
            "newer release"
        )
    elif current is None or current.revision != head.revision:
        line += f"; newest is {head}: run 'sriovirt-manage db sync'"
    return line


#: (category, action) -> handler returning the line to print.
COMMANDS: dict[tuple[str, str], Callable[[cfg.ConfigOpts], str]] = {
    ("db", "sync"): db_sync,
    ("db", "version"): db_version,
}


def _add_command_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="database schema commands")
    actions = db.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    sync = actions.add_parser(
        "sync", help="upgrade the schema (never downgrades)"
    )
    sync.add_argument(
        "--revision",
        default=None,
        help="target revision (default: the newest)",
    )
    actions.add_parser("version", help="show the schema revision")


def _conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt.conf.register_opts(conf)
    register_logging(conf)
    conf.register_cli_opt(
        cfg.SubCommandOpt(
            "category",
            title="Commands",
            handler=_add_command_parsers,
            help="available commands",
        )
    )
    return conf


def main(argv: Sequence[str] | None = None) -> int:
    conf = _conf()
    args = list(sys.argv[1:] if argv is None else argv)
    stop = startup.load(conf, args, project=PROJECT, prog="sriovirt-manage")
    if stop is not None:
        return stop
    handler = COMMANDS[(conf.category.name, conf.category.action)]

    def act() -> int:
        print(handler(conf))
        return 0

    try:
        return run_action("sriovirt-manage", act)
    finally:
        conf.reset()


if __name__ == "__main__":
    sys.exit(main())
