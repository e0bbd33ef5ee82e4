"""The cliff application behind ``sriovirt`` and ``sriovirt-manage``.

:func:`run` is the whole life of one command line: split it into the
global options (oslo.config's, wherever they were typed) and the command,
load the configuration (:mod:`sriovirt.cmd.startup`), find the command
among the entry points of one group (``sriovirt.cli``,
``sriovirt.manage``) with cliff's ``CommandManager``, run it, and turn
every outcome into one exit-status policy, the same in both commands:

* 0 done; 1 the command failed (one line on stderr);
* 2 a command line or configuration that cannot be used: an unknown
  command or option, a bad option value, a configuration file that
  cannot be read or a configuration the command cannot use;
* 130 interrupted (Ctrl-C); 141 the reader of standard output went away.

cliff's own error handling (its log lines, "Did you mean" on stdout,
interactive mode, its ``--debug``/``--log-file``/``-v``) is replaced:
oslo.log owns logging and ``--debug``, and every error is one line.

This module must not hold a sriovirt command (only cliff's ``help``,
made to report an unknown name as a usage error): commands are classes
registered as entry points, and know nothing of exit statuses.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cliff import app, commandmanager, help
from oslo_config import cfg

from sriovirt import cmd
from sriovirt import conf as sriovirt_conf
from sriovirt.cmd import startup

PROJECT = "sriovirt"

GLOBAL_HELP = (
    "global options (before or after the command): --config-file FILE "
    "(repeatable), --config-dir DIR, --debug/-d, --log-file FILE, "
    "--log-dir DIR, --log-config-append FILE, --use-syslog, ... as "
    "oslo.config and oslo.log define them"
)


def usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """argparse's ``error`` on one line: no usage block above it."""
    parser.exit(
        cmd.CONFIG_ERROR_STATUS,
        f"{parser.prog}: error: {cmd.one_line(message)}\n",
    )


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` (a command's, built by cliff) report a usage
    error as one line, exit status 2."""
    # An instance attribute shadows the class's method: cliff builds
    # the parser itself, so it cannot be given a subclass.
    setattr(parser, "error", functools.partial(usage_error, parser))  # noqa: B010


def exit_status(stop: SystemExit) -> int:
    """argparse's and cliff's help exit 0; any other exit is a usage
    error."""
    if stop.code in (0, None):
        return 0
    return cmd.CONFIG_ERROR_STATUS


class Help(help.HelpCommand):
    """print detailed help for another command"""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().take_action(parsed_args)
        except ValueError:
            # cliff's word for a name that starts no command.
            raise cmd.CommandLineError(
                reason=f"{' '.join(parsed_args.cmd)!r} is not a command"
            ) from None


class SriovirtApp(app.App):
    """One command line of ``prog``, its commands from ``namespace``."""

    def __init__(
        self,
        prog: str,
        description: str,
        namespace: str,
        conf: cfg.ConfigOpts,
    ) -> None:
        #: The loaded configuration the commands read.
        self.conf = conf
        # Set before cliff builds the parser, which names the program.
        self.NAME = prog
        super().__init__(
            description=description,
            version=_version(),
            command_manager=commandmanager.CommandManager(namespace),
        )
        self.command_manager.add_command("help", Help)

    def build_option_parser(
        self,
        description: str | None,
        version: str | None,
        argparse_kwargs: dict[str, Any] | None = None,
    ) -> argparse.ArgumentParser:
        """Only ``--help`` and ``--version``: the other global options
        are oslo.config's and were taken out of the command line."""
        parser = argparse.ArgumentParser(
            prog=self.NAME,
            description=description,
            epilog=GLOBAL_HELP,
            add_help=False,
            # The whole command line goes through this parser: a command's
            # option must never be taken for an abbreviation of these.
            allow_abbrev=False,
            **(argparse_kwargs or {}),
        )
        one_line_errors(parser)
        parser.add_argument(
            "--version", action="version", version=f"{self.NAME} {version}"
        )
        # Deferred: `sriovirt pci list --help` is the command's help
        # (`help pci list`), not this parser's.
        parser.add_argument(
            "-h",
            "--help",
            dest="deferred_help",
            action="store_true",
            help="show this help and the commands, and exit",
        )
        # What cliff's own code reads from the options.
        parser.set_defaults(debug=False, verbose_level=1)
        return parser

    def configure_logging(self) -> None:
        """Nothing: oslo.log was set up by start-up."""

    def run(self, argv: list[str]) -> int:
        try:
            self.options, remainder = self.parser.parse_known_args(argv)
            if self.options.deferred_help:
                if not remainder:
                    # cliff's help: this parser's, then every command.
                    show = help.HelpAction([], argparse.SUPPRESS, default=self)
                    show(self.parser, self.options, None, None)
                remainder.insert(0, "help")
            if not remainder:
                self._usage("a command is wanted")
            if remainder[0].startswith("-"):
                self._usage(f"unknown option {remainder[0]!r}")
            self.interactive_mode = False
            self.initialize_app(remainder)
            return self.run_subcommand(remainder)
        except SystemExit as stop:
            return exit_status(stop)

    def run_subcommand(self, argv: list[str]) -> int:
        """Find, parse and run one command; its outcome is the exit
        status (:func:`sriovirt.cmd.run_action`)."""
        try:
            factory, name, sub_argv = self.command_manager.find_command(argv)
        except ValueError:
            words = " ".join(itertools.takewhile(_is_word, argv))
            matches = self._guesses(argv[0])
            hint = f"; did you mean {' or '.join(matches)}?" if matches else ""
            self._usage(f"{words!r} is not a command{hint}")
        command = factory(self, self.options, cmd_name=name)
        prog = f"{self.NAME} {name}"
        parser = command.get_parser(prog)
        one_line_errors(parser)
        parsed_args = parser.parse_args(sub_argv)
        return cmd.run_action(prog, lambda: command.run(parsed_args))

    def _guesses(self, word: str) -> list[str]:
        """The commands ``word`` may have meant: those it starts (``pci``
        -> ``pci list``, ...), else cliff's closest ones."""
        names = sorted(
            name
            for name, _ in self.command_manager
            if name not in ("help", "complete")
        )
        started = [n for n in names if n.startswith(word)]
        if started:
            return started
        return [m for m in self.get_fuzzy_matches(word) if m in names]

    def _usage(self, message: str) -> NoReturn:
        usage_error(self.parser, f"{message} (see '{self.NAME} --help')")

    def interact(self) -> None:
        """Never: a command line without a command is a usage error."""
        self._usage("a command is wanted")


def _is_word(token: str) -> bool:
    return not token.startswith("-")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def run(
    argv: Sequence[str] | None, prog: str, namespace: str, description: str
) -> int:
    """Run one command line of ``prog``; the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    global_args, command_args = startup.split_argv(args)
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    cmd.register_logging(conf)
    stop = startup.load(conf, global_args, project=PROJECT, prog=prog)
    if stop is not None:
        return stop
    try:
        return SriovirtApp(prog, description, namespace, conf).run(
            command_args
        )
    finally:
        conf.reset()
