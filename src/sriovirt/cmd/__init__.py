"""Console entry points (``sriovirt``, ``sriovirt-manage``).

oslo.versionedobjects pulls in oslo.service, which imports eventlet and
warns about its deprecation at import time; sriovirt does not use
eventlet, so that warning is noise on every command and is silenced here,
before any such import.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oslo_config import cfg

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


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


def quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (EPIPE).

    Python flushes stdout again at exit; without this, that flush fails
    a second time and prints "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
