"""``sriovirt-manage``: the operator's command for the database schema.

Usage::

    sriovirt-manage [--config-file F] db sync [--revision R]
    sriovirt-manage [--config-file F] db version

Reads ``[database] connection`` (and oslo.log's options) from the
configuration, then calls :mod:`sriovirt.db.api` with the URL as a value.
Output is one readable line; errors and exit statuses are those of every
sriovirt command (:mod:`sriovirt.cmd.app`).

This module must not hold database logic: it parses, calls and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cliff import command

from sriovirt.cmd import app, output
from sriovirt.db import api as db_api

PROG = "sriovirt-manage"


class DbSync(command.Command):
    """upgrade the schema (never downgrades)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--revision",
            default=None,
            help="target revision (default: the newest)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        conf = output.conf_of(self)
        revision = parsed_args.revision or "head"
        result = db_api.sync(conf.database.connection, revision=revision)
        print(result, file=self.app.stdout)
        return 0


class DbVersion(command.Command):
    """show the schema revision"""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        url = output.conf_of(self).database.connection
        current = db_api.version(url)
        head = db_api.head()
        shown = str(current) if current else "<none> (empty database)"
        line = f"database {db_api.mask_url(url)} is at {shown}"
        if current is not None and not current.known:
            # `db sync` would be the wrong advice: it refuses such a
            # database.
            line += (
                f"; its newest is {head}: the database was upgraded by a "
                "newer release"
            )
        elif current is None or current.revision != head.revision:
            line += f"; newest is {head}: run 'sriovirt-manage db sync'"
        print(line, file=self.app.stdout)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    return app.run(
        argv,
        prog=PROG,
        namespace="sriovirt.manage",
        description="create, upgrade and show sriovirt's database schema",
    )


if __name__ == "__main__":
    sys.exit(main())
