"""Console entry points (``sriovirt``, ``sriovirt-manage``): what every
command shares (logging options, where a value came from, the libvirt
URI and host name it may use, one-line errors and the exit statuses).

The commands themselves are cliff command classes, one module per group
(:mod:`~sriovirt.cmd.pci`, ...), run by :mod:`sriovirt.cmd.app`.  This
package must not decide anything about devices, pools or the database.

oslo.versionedobjects pulls in oslo.service, which imports eventlet and
warns about its deprecation at import time; sriovirt does not use
eventlet, so that warning is noise on every command and is silenced here,
before any such import.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from oslo_config import cfg  # noqa: E402 (after the warning filter)

from sriovirt import exception  # noqa: E402
from sriovirt.virt.driver import ComputeDriver  # noqa: E402

LOG = logging.getLogger(__name__)

#: The exit status of a command line or configuration that cannot be
#: used, in both commands (argparse uses 2 for usage errors too).
CONFIG_ERROR_STATUS = 2

#: The exit status of a command that failed.
COMMAND_ERROR_STATUS = 1


class CommandLineError(exception.Invalid):
    """A command line the command cannot use, found once it ran (a
    ``-c`` naming no column): exit status 2, as a usage error."""

    msg_fmt = "Invalid command line: %(reason)s"


def register_logging(conf: cfg.ConfigOpts) -> None:
    """oslo.log options with the defaults every sriovirt command wants.

    Logs go to standard error so that command output (tables, JSON) on
    standard output stays clean; alembic's step-by-step INFO narration is
    muted because the commands print the outcome themselves.
    """
    from oslo_log import log

    log.register_options(conf)
    log.set_defaults(
        default_log_levels=[*log.get_default_log_levels(), "alembic=WARN"]
    )
    conf.set_default("use_stderr", True)


def option_source(
    conf: cfg.ConfigOpts, name: str, group: str | None = None
) -> str:
    """Where an option's value came from: a file, the command line or
    the default."""
    try:
        where = conf.get_location(name, group)
    except cfg.NoSuchOptError:
        return "unknown"
    if where is None:
        return "unknown"
    if where.location is cfg.Locations.opt_default:
        return "default"
    if where.location is cfg.Locations.command_line:
        return "the command line"
    return str(where.detail or where.location.name)


_URI_WANTED = "give a libvirt URI such as qemu:///system"


def libvirt_uri(conf: cfg.ConfigOpts, override: str | None = None) -> str:
    """``--connection`` when given, else ``[libvirt] connection_uri``.

    libvirt takes an empty URI as "guess a hypervisor", never what an
    operator meant: an empty one is refused, naming where it came from.
    """
    if override is not None:
        if not override.strip():
            raise exception.Invalid(
                reason=f"--connection {override!r} is empty; {_URI_WANTED}"
            )
        return override
    uri = str(conf.libvirt.connection_uri or "")
    if not uri.strip():
        source = option_source(conf, "connection_uri", "libvirt")
        raise exception.ConfigError(
            reason=f"[libvirt] connection_uri {uri!r} (from {source}) is "
            f"empty; {_URI_WANTED}"
        )
    return uri


def host_name(conf: cfg.ConfigOpts) -> str:
    """``[DEFAULT] host``, refused when it cannot name a host (empty, with
    spaces or control characters): the compute node would be stored, and
    printed, under it."""
    host = str(conf.host or "")
    if not host.isprintable() or not host or " " in host:
        raise exception.ConfigError(
            reason=f"[DEFAULT] host {host!r} (from "
            f"{option_source(conf, 'host')}) is not a host name: it must "
            "be non-empty, without spaces or control characters, as "
            "Placement and Neutron (binding:host_id) know the host"
        )
    return host


def compute_driver(
    conf: cfg.ConfigOpts, uri: str | None = None
) -> ComputeDriver:
    """The host's compute driver, on ``uri`` when given (``--connection``,
    ``--host-xml``) instead of ``[libvirt] connection_uri``.

    Commands use only the :class:`~sriovirt.virt.driver.ComputeDriver`
    interface; libvirt is imported when a command needs a host, not by
    ``sriovirt-manage``.
    """
    from sriovirt.virt.libvirt.driver import LibvirtDriver

    if uri is None:
        return LibvirtDriver(conf)
    return LibvirtDriver.for_connection(conf, uri)


def one_line(text: str) -> str:
    """``text`` on one line: libraries' multi-line messages (libvirt,
    libxml2, logging configs) joined with "; ", blank lines dropped."""
    return "; ".join(
        line.strip() for line in text.splitlines() if line.strip()
    )


_LOCATION = re.compile(
    r"LocationInfo\(location=<Locations\.(\w+): [^>]*>, "
    r"detail=(?:'([^']*)'|None)\)"
)


def config_error_text(exc: cfg.Error) -> str:
    """oslo.config's message, with its ``LocationInfo(...)`` reprs said
    in words: the file, the environment variable, the command line."""

    def words(match: re.Match[str]) -> str:
        kind, detail = match.group(1), match.group(2)
        if kind == "environment" and detail:
            return f"environment variable {detail}"
        return detail or kind.replace("_", " ")

    return _LOCATION.sub(words, one_line(str(exc)))


def run_action(prefix: str, action: Callable[[], int]) -> int:
    """Run a command's action; every failure is one line on stderr.

    ``prefix`` starts each error line (``sriovirt pci list``,
    ``sriovirt-manage db sync``).  Returns the exit status: the action's
    own, 1 for an error, 2 for a configuration that cannot be used (as
    at start-up), 130 when interrupted (Ctrl-C), 141 when the reader of
    stdout went away.
    """

    def fail(line: str) -> None:
        print(f"{prefix}: {one_line(line)}", file=sys.stderr)

    if sys.stdout is None:
        # Started with stdout closed (`>&-`): do nothing rather than act
        # and be unable to say what was done.
        fail("error: standard output is closed; nothing to print to")
        return 1
    try:
        status = action()
        # Flush inside the try: a reader that went away (`| head`) must
        # end the command quietly, not with a traceback at exit.
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except KeyboardInterrupt:
        # Ctrl-C is the operator's own doing: no traceback.  Each
        # database write is one transaction, rolled back when cut short.
        fail("interrupted")
        return 130
    except Exception as exc:
        return _failure_status(exc, fail)


def _failure_status(exc: Exception, fail: Callable[[str], None]) -> int:
    """Say ``exc`` in one line through ``fail``; the exit status."""
    if isinstance(exc, OSError) and _is_stdout_error(exc):
        # A full disk (`> /dev/full`) or an I/O error on the output.
        _quiet_stdout()
        fail(f"error: cannot write the output: {exc.strerror}")
        return 1
    if isinstance(exc, (exception.ConfigError, CommandLineError)):
        # A configuration the command cannot use: the same status as a
        # file that cannot be read at start-up.
        fail(f"error: {exc}")
        return CONFIG_ERROR_STATUS
    if isinstance(exc, exception.SriovirtError):
        fail(f"error: {exc}")
        return 1
    if isinstance(exc, cfg.Error):
        fail(f"configuration error: {config_error_text(exc)}")
        return CONFIG_ERROR_STATUS
    # A bug, but still one line for the operator; the traceback goes to
    # the log at debug level for the developer.
    LOG.debug("unexpected failure", exc_info=exc)
    fail(f"error: unexpected {type(exc).__name__}: {exc}")
    return 1


def _is_stdout_error(exc: OSError) -> bool:
    """Whether ``exc`` came from writing standard output (the errors a
    write can give: disk full, I/O error, file too large, quota)."""
    return exc.errno in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (EPIPE).

    Python flushes stdout again at exit; without this, that flush fails
    a second time and prints "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
