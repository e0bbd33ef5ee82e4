"""Command output through cliff's formatters: the two command shapes.

* :class:`Listing` (a cliff ``Lister``): rows, one per item; ``-f
  table|json|yaml|csv|value``, ``-c COLUMN``, ``--sort-column``; in the
  table format, notes (a total) follow the table.
* :class:`Document` (a cliff ``ShowOne``): one report with a
  ``to_dict()``; ``-f json|yaml|value|shell`` and ``-c FIELD`` give its
  fields, while the table format (the default, without ``-c``) is the
  report's own human rendering, whose tables are cliff's too.

The dictionaries of ``to_dict()`` are what ``--format json`` prints, so
their keys and nesting are the commands' contract.  This module knows
nothing of devices or configuration, and never catches errors (that is
:mod:`sriovirt.cmd.app`).
"""

from __future__ import annotations

import abc
import argparse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TextIO, TypeVar

from cliff import columns, lister, show
from cliff.formatters import table as table_formatter
from oslo_config import cfg

from sriovirt import cmd

TABLE = "table"


class Report(Protocol):
    """A command's result: what ``--format json`` prints."""

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Report)


def conf_of(command: Any) -> cfg.ConfigOpts:
    """The configuration the application loaded for ``command``."""
    conf = getattr(command.app, "conf", None)
    if not isinstance(conf, cfg.ConfigOpts):
        raise TypeError(f"{command!r} runs outside sriovirt's application")
    return conf


def check_columns(
    parsed_args: argparse.Namespace, names: Sequence[str]
) -> None:
    """``-c`` names only known columns: one line naming them, instead of
    cliff's ValueError."""
    known = {n.lower().replace(" ", "_") for n in names}
    unknown = [
        c
        for c in parsed_args.columns
        if c.lower().replace(" ", "_") not in known
    ]
    if unknown:
        raise cmd.CommandLineError(
            reason=f"-c {', '.join(unknown)}: no such column; the columns "
            f"are {', '.join(names)}"
        )


class Nullable(columns.FormattableColumn[Any]):
    """A value that may be None: ``-`` in a table, ``null`` in JSON, and
    sorted after every value by ``--sort-column``."""

    def human_readable(self) -> str:
        value = self.machine_readable()
        return "-" if value is None else str(value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Nullable):
            return NotImplemented
        mine, theirs = self.machine_readable(), other.machine_readable()
        if mine is None or theirs is None:
            return mine is not None and theirs is None
        return bool(mine < theirs)


class Tags(columns.FormattableColumn[Mapping[str, str]]):
    """A mapping: ``k=v,k=v`` (sorted) in a table, an object in JSON."""

    def human_readable(self) -> str:
        return tags_text(self.machine_readable())


def tags_text(tags: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def table(
    out: TextIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    parsed_args: argparse.Namespace,
) -> None:
    """A cliff table of ``rows`` (``--max-width`` and ``--fit-width``
    apply)."""
    table_formatter.TableFormatter().emit_list(
        headers, list(rows), out, parsed_args
    )


class Listing(lister.Lister, abc.ABC):
    """Rows with cliff's list formatters; notes after a table."""

    def notes(self) -> Sequence[str]:
        """Lines printed under the table (not in the other formats)."""
        return ()

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
    ) -> int:
        check_columns(parsed_args, column_names)
        super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == TABLE:
            for line in self.notes():
                print(line, file=self.app.stdout)
        return 0


class Document(show.ShowOne, Generic[R], abc.ABC):
    """One report: its fields with cliff's formatters, or its human
    rendering in the table format.

    Subclasses implement :meth:`report` and :meth:`render`;
    :meth:`status` gives the exit status of a run that completed.
    """

    #: Other ``--format`` names for the human rendering (``text``).
    human_formats: tuple[str, ...] = ()

    _report: R | None = None

    @abc.abstractmethod
    def report(self, parsed_args: argparse.Namespace) -> R:
        """Do the command's work; the report to print."""

    @abc.abstractmethod
    def render(
        self, report: R, out: TextIO, parsed_args: argparse.Namespace
    ) -> None:
        """Print ``report`` for a person."""

    def status(self, report: R) -> int:
        """The exit status once ``report`` is printed."""
        return 0

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        if self.human_formats:
            # cliff's -f/--format choices are its formatter plugins'
            # names; the human rendering has other names here too.
            for action in parser._actions:
                if action.dest == "formatter" and action.choices:
                    action.choices = [*action.choices, *self.human_formats]
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        if parsed_args.formatter in self.human_formats:
            parsed_args.formatter = TABLE
        super().run(parsed_args)
        assert self._report is not None
        return self.status(self._report)

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        self._report = self.report(parsed_args)
        fields = self._report.to_dict()
        return tuple(fields), tuple(fields.values())

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Sequence[Any],
    ) -> int:
        check_columns(parsed_args, column_names)
        if parsed_args.formatter == TABLE and not parsed_args.columns:
            assert self._report is not None
            self.render(self._report, self.app.stdout, parsed_args)
            return 0
        return super().produce_output(parsed_args, column_names, data)
