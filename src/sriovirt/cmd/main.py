"""The ``sriovirt`` command: ``sriovirt [--config-file F] GROUP ACTION``.

Its commands are the entry points of group ``sriovirt.cli`` (see
``pyproject.toml``), one module per command group under
``sriovirt.cmd``; :mod:`sriovirt.cmd.app` loads the configuration, runs
the command and gives the exit status.  This module must not hold a
command or parse arguments itself.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sriovirt.cmd import app

PROG = "sriovirt"


def main(argv: Sequence[str] | None = None) -> int:
    return app.run(
        argv,
        prog=PROG,
        namespace="sriovirt.cli",
        description="look at and refresh the PCI devices, pools and "
        "traits of a sriovirt compute host, and boot and delete servers "
        "on it",
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
