"""Start-up of the console commands: arguments, configuration files, logs.

:func:`load` turns what the operator typed into a parsed ``ConfigOpts``
with logging set up, or into one line on stderr and exit status 2.
oslo.config reads the files itself but lets a directory given as a file,
a non-UTF-8 byte or an unreadable file escape as a traceback, ignores a
``--config-dir`` that is a file, and rejects ``[DEFAULT] debug = maybe``
without naming the file; so the files it will read are read here first,
and every problem is reported with the file and line.

:func:`split_argv` lets the global options (``--config-file``,
``--debug``, ...) follow the subcommand and ``--format`` precede it, as
the command contract promises, and separates what oslo.config parses
from what cliff parses.

This module must not run an action, or touch libvirt or the database.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from oslo_config import cfg, iniparser
from oslo_log import _options as log_options  # oslo.log's opts entry point
from oslo_log import log

from sriovirt import cmd, exception

#: The exit status of a command line or configuration that cannot be
#: read (argparse uses 2 for usage errors too).
CONFIG_ERROR_STATUS = cmd.CONFIG_ERROR_STATUS

#: Options of the subcommands that may also come before the subcommand.
_MOVABLE_TO_ACTION = {"--format": True, "-f": True}


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One ``key = value`` line of a configuration file."""

    path: str
    line: int
    value: str


#: (section, key) -> every assignment, in the order oslo.config reads
#: them (the last one wins).
FileValues = dict[tuple[str, str], list[Assignment]]


def _oslo_cli_opts() -> list[cfg.Opt]:
    return [*log_options.common_cli_opts, *log_options.logging_cli_opts]


def _startup_opts() -> list[cfg.Opt]:
    """The [DEFAULT] options read before any action runs (logging)."""
    return [
        *_oslo_cli_opts(),
        *log_options.generic_log_opts,
        *log_options.log_opts,
    ]


def _opt_names(opt: cfg.Opt) -> list[str]:
    names = [opt.name]
    for old in opt.deprecated_opts:
        if old.name and old.group in (None, "DEFAULT"):
            names.append(old.name)
    return names


def global_options() -> dict[str, bool]:
    """Every global option string -> whether it takes a value."""
    table = {
        "--config-file": True,
        "--config-dir": True,
        "--shell_completion": True,
    }
    for opt in _oslo_cli_opts():
        flag = isinstance(opt, cfg.BoolOpt)
        for name in _opt_names(opt):
            for spelling in {name, name.replace("_", "-")}:
                table[f"--{spelling}"] = not flag
                if flag:
                    table[f"--no{spelling}"] = False
        if opt.short:
            table[f"-{opt.short}"] = not flag
    return table


def _split(token: str, table: dict[str, bool]) -> tuple[str, bool] | None:
    """(option string, value attached with '=') when ``token`` is one of
    ``table``'s options."""
    name, eq, _ = token.partition("=")
    if name in table and (not eq or table[name]):
        return name, bool(eq)
    return None


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(global options, the command and its own options).

    The global options (``--config-file``, ``--debug``, ...) are
    oslo.config's, wherever they were typed; the rest is the command
    line cliff parses, with ``--format`` typed before the subcommand
    moved after it.  Anything after ``--`` is left alone.
    """
    table = global_options()
    args = list(argv)
    head: list[str] = []
    rest: list[str] = []
    tail: list[str] = []
    i = 0
    in_command = False
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i:])
            break
        for target, options in ((head, table), (tail, _MOVABLE_TO_ACTION)):
            found = _split(token, options)
            if found is None or (target is tail and in_command):
                continue
            name, attached = found
            takes_value = options[name] and not attached
            target.extend(args[i : i + 1 + takes_value])
            i += 1 + takes_value
            break
        else:
            if not token.startswith("-"):
                in_command = True
            rest.append(token)
            i += 1
    return head, rest + tail


def normalise_argv(argv: Sequence[str]) -> list[str]:
    """Global options first, ``--format`` after the subcommand.

    ``sriovirt pci list --config-file F`` and ``sriovirt --format json
    pci list`` mean what they say; argparse alone would reject both.
    """
    head, command = split_argv(argv)
    return head + command


# --- configuration files ----------------------------------------------------


class _LineParser(iniparser.BaseParser):
    """Records every assignment with its file and line number."""

    def __init__(self, path: str, values: FileValues) -> None:
        self.path = path
        self.values = values
        self.section = ""
        self.key_line = 0

    def new_section(self, section: str) -> None:
        # oslo.config's own normalisation: only "DEFAULT" keeps its case.
        self.section = section if section == "DEFAULT" else section.lower()

    def _split_key_value(self, line: str) -> tuple[str, list[str]]:
        # A value is flushed only when the next line is read; remember
        # where its key was.
        self.key_line = self.lineno
        return super()._split_key_value(line)

    def assignment(self, key: str, value: list[str]) -> None:
        if not self.section:
            raise self.parse_exc(
                "a value before the first [section]", self.key_line, key
            )
        self.values.setdefault((self.section, key), []).append(
            Assignment(self.path, self.key_line, "\n".join(value))
        )


def _option_value(args: Sequence[str], name: str) -> list[str]:
    """Every value of ``--name V`` / ``--name=V`` in ``args``."""
    values = []
    for i, token in enumerate(args):
        if token == "--":
            break
        if token == name and i + 1 < len(args):
            values.append(args[i + 1])
        elif token.startswith(name + "="):
            values.append(token.partition("=")[2])
    return values


def config_files(
    args: Sequence[str], project: str, prog: str
) -> list[tuple[str, str]]:
    """(path, how it was named) of every file oslo.config will read, in
    its order: ``--config-file`` values (or the default files), then the
    ``*.conf`` files of each ``--config-dir`` (or the default dirs)."""
    files = [
        (path, "--config-file")
        for path in _option_value(args, "--config-file")
    ]
    if not files:
        files = [
            (path, "default configuration file")
            for path in cfg.find_config_files(project, prog)
        ]
    dirs = _option_value(args, "--config-dir")
    for directory in dirs:
        if not os.path.isdir(directory):
            raise exception.ConfigFileError(
                path=directory,
                reason="--config-dir wants a directory of *.conf files; "
                + (
                    "this is a file"
                    if os.path.exists(directory)
                    else "it does not exist"
                ),
            )
    if not dirs:
        dirs = [
            d for d in cfg.find_config_dirs(project, prog) if os.path.isdir(d)
        ]
    for directory in dirs:
        for path in sorted(glob.glob(os.path.join(directory, "*.conf"))):
            files.append((path, f"--config-dir {directory}"))
    # Named as oslo.config names them (its ~ expansion, absolute).
    return [
        (os.path.abspath(os.path.expanduser(path)) if path else "", named_by)
        for path, named_by in files
    ]


#: Larger than any real configuration (thousands of device_spec
#: entries are a few hundred KiB); reading stops there.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def _read_regular(path: str, stream: BinaryIO) -> bytes:
    """The bytes of a regular file (or the empty /dev/null).

    A device may never end (/dev/zero) and a pipe can be read only once
    (oslo.config reads the file again), so both are refused.
    """
    mode = os.fstat(stream.fileno()).st_mode
    if not stat.S_ISREG(mode):
        if os.path.realpath(path) == os.devnull:
            return b""
        raise ValueError("it is not a regular file (a device, pipe or socket)")
    data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        size = os.fstat(stream.fileno()).st_size
        raise ValueError(
            f"it is {size} bytes, more than the {MAX_CONFIG_BYTES} a "
            "configuration file may have"
        )
    return data


def read_file(path: str, named_by: str, values: FileValues) -> None:
    """Read one configuration file into ``values``; ConfigFileError when
    it cannot be read, is not UTF-8 text or is not an ini file."""

    def fail(reason: str) -> exception.ConfigFileError:
        return exception.ConfigFileError(
            path=path or "''", reason=f"{reason} (named by {named_by})"
        )

    if not path:
        raise fail("an empty name")
    try:
        with open(path, "rb") as stream:
            data = _read_regular(path, stream)
    except IsADirectoryError:
        raise fail("it is a directory; a file is wanted") from None
    except FileNotFoundError:
        raise fail("it does not exist") from None
    except OSError as exc:
        raise fail(f"it cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise fail(
            f"line {line} is not UTF-8 text (byte 0x{byte:02x}); save the "
            "file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        raise fail(
            "it starts with a byte order mark (BOM); save it as UTF-8 "
            "without BOM"
        )
    parser = _LineParser(path, values)
    try:
        parser.parse(text.splitlines())
    except iniparser.ParseError as exc:
        raise fail(f"line {exc.lineno}: {exc.msg}: {exc.line!r}") from None


def read_files(args: Sequence[str], project: str, prog: str) -> FileValues:
    values: FileValues = {}
    for path, named_by in config_files(args, project, prog):
        read_file(path, named_by, values)
    return values


def check_values(opts: Iterable[cfg.Opt], values: FileValues) -> None:
    """The value that wins for each [DEFAULT] option of ``opts`` parses.

    Raises InvalidConfigValue naming the option, file and line.
    """
    for opt in opts:
        found = [
            a
            for name in _opt_names(opt)
            for spelling in {name, name.replace("-", "_")}
            for a in values.get(("DEFAULT", spelling), [])
        ]
        if not found:
            continue
        last = found[-1]
        try:
            opt.type(last.value)
        except ValueError as exc:
            raise exception.InvalidConfigValue(
                option=f"[DEFAULT] {opt.dest}",
                value="***" if opt.secret else last.value,
                path=last.path,
                line=last.line,
                reason=str(exc),
            ) from None


# --- logging ---------------------------------------------------------------


def setup_logging(conf: cfg.ConfigOpts, project: str) -> None:
    """oslo.log as configured, but quiet on a terminal.

    The log file (``log_file``) gets INFO and above; standard error gets
    only WARNING and above, so command output is not repeated by log
    lines, while what the operator must act on (a deprecated option
    name, say) still shows.  ``--debug`` puts DEBUG everywhere.
    """
    try:
        log.setup(conf, project)
    except log.LogConfigError as exc:
        raise _logging_error(conf, "log_config_append", exc) from None
    except OSError as exc:
        # The log file (under log_dir), or syslog's socket.
        name = next(
            (n for n in ("log_file", "log_dir", "use_syslog") if conf[n]),
            "log_file",
        )
        raise exception.LoggingSetupError(
            option=f"[DEFAULT] {name}",
            value=exc.filename or conf[name],
            source=cmd.option_source(conf, name),
            reason=exc.strerror or str(exc),
        ) from None
    except TypeError as exc:
        # oslo.log's word for an unknown syslog facility.
        raise _logging_error(conf, "syslog_log_facility", exc) from None
    _try_formats(conf)
    if conf.debug:
        return
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)


def _try_formats(conf: cfg.ConfigOpts) -> None:
    """Format one line with every handler now: a format string that
    cannot format would otherwise show as "--- Logging error ---" and a
    traceback at the first warning, in the middle of the output."""
    record = logging.LogRecord(
        "sriovirt", logging.WARNING, __file__, 0, "format check", None, None
    )
    for handler in logging.getLogger().handlers:
        try:
            handler.format(record)
        except (KeyError, ValueError, TypeError) as exc:
            name = (
                "log_config_append"
                if conf.log_config_append
                else "logging_default_format_string"
            )
            raise exception.LoggingSetupError(
                option=f"[DEFAULT] {name}",
                value=conf[name],
                source=cmd.option_source(conf, name),
                reason="it cannot format a log line: "
                f"{type(exc).__name__}: {exc}",
            ) from None


def _logging_error(
    conf: cfg.ConfigOpts, name: str, exc: Exception
) -> exception.LoggingSetupError:
    return exception.LoggingSetupError(
        option=f"[DEFAULT] {name}",
        value=conf[name],
        source=cmd.option_source(conf, name),
        # A logging config's parse error spans lines.
        reason=cmd.one_line(str(exc)),
    )


# --- all together ----------------------------------------------------------


def load(
    conf: cfg.ConfigOpts, argv: Sequence[str], project: str, prog: str
) -> int | None:
    """Parse ``argv`` and the configuration files into ``conf``, then set
    up logging.

    Returns None when the command may run, otherwise the exit status
    after one line on stderr (or argparse's usage message, or --help).
    """
    args = normalise_argv(argv)
    try:
        values = read_files(args, project, prog)
        check_values(_startup_opts(), values)
    except exception.ConfigError as exc:
        print(f"{prog}: error: {cmd.one_line(str(exc))}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    try:
        conf(args, project=project, prog=prog)
        setup_logging(conf, project)
    except cfg.Error as exc:
        print(f"{prog}: error: {cmd.config_error_text(exc)}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    except exception.ConfigError as exc:
        print(f"{prog}: error: {cmd.one_line(str(exc))}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    except SystemExit as stop:
        # argparse printed the usage error (2) or the help (0); oslo.config
        # printed an invalid value it found elsewhere (1).
        if stop.code in (0, None):
            return 0
        return CONFIG_ERROR_STATUS
    return None
