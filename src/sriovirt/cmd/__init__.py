"""Console entry points (``sriovirt``, ``sriovirt-manage``).

oslo.versionedobjects pulls in oslo.service, which imports eventlet and
warns about its deprecation at import time; sriovirt does not use
eventlet, so that warning is noise on every command and is silenced here,
before any such import.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from oslo_config import cfg  # noqa: E402 (after the warning filter)

from sriovirt import exception  # noqa: E402

LOG = logging.getLogger(__name__)


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


def run_action(prefix: str, action: Callable[[], int]) -> int:
    """Run a command's action; every failure is one line on stderr.

    ``prefix`` starts each error line (``sriovirt pci list``,
    ``sriovirt-manage``).  Returns the exit status: the action's own, 1
    for an error, 141 when the reader of stdout went away.
    """
    try:
        status = action()
        # Flush inside the try: a reader that went away (`| head`) must
        # end the command quietly, not with a traceback at exit.
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except exception.SriovirtError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 1
    except cfg.Error as exc:
        print(f"{prefix}: configuration error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # A bug, but still one line for the operator; the traceback goes
        # to the log at debug level for the developer.
        LOG.debug("unexpected failure", exc_info=True)
        print(
            f"{prefix}: error: unexpected {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (EPIPE).

    Python flushes stdout again at exit; without this, that flush fails
    a second time and prints "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
