"""The ``sriovirt`` command: ``sriovirt [--config-file F] GROUP ACTION``.

This module owns the command table; :mod:`sriovirt.cmd.startup` parses
the arguments, reads the configuration files and sets up logging;
:func:`sriovirt.cmd.run_action` maps errors to one readable line
and an exit status.  Each action lives in its own module under
``sriovirt.cmd`` and receives the loaded configuration; none of them
parses arguments or catches :class:`~sriovirt.exception.SriovirtError`
itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt.cmd import (
    config_check,
    pci,
    register_logging,
    run_action,
    startup,
    traits,
)

Action = Callable[[cfg.ConfigOpts], int]

# group -> action -> (help, add-arguments, run)
_COMMANDS: dict[
    str,
    dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Action]],
] = {
    "config": {
        "check": (
            "validate the configuration and print every problem",
            config_check.add_arguments,
            config_check.run,
        ),
    },
    "pci": {
        "explain": (
            "show which device_spec entry whitelists each host PCI device",
            pci.add_explain_arguments,
            pci.explain,
        ),
        "refresh": (
            "discover the host's PCI devices now and store devices and pools",
            pci.add_list_arguments,
            pci.refresh,
        ),
        "list": (
            "list the tracked PCI devices with state and owner",
            pci.add_list_arguments,
            pci.list_devices,
        ),
        "pools": (
            "show the PCI stats pools as the scheduler sees them",
            pci.add_list_arguments,
            pci.pools,
        ),
    },
    "traits": {
        "show": (
            "print the host's traits with the reason for each",
            traits.add_arguments,
            traits.run,
        ),
    },
}


def _add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for group, actions in _COMMANDS.items():
        group_parser = subparsers.add_parser(group)
        group_actions = group_parser.add_subparsers(
            dest="action", metavar="ACTION"
        )
        group_actions.required = len(actions) > 1
        for name, (help_text, add_arguments, _run) in actions.items():
            parser = group_actions.add_parser(name, help=help_text)
            add_arguments(parser)
        if len(actions) == 1:
            # `sriovirt traits` is `sriovirt traits show`.
            (only,) = actions.values()
            only[1](group_parser)


def build_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    register_logging(conf)
    conf.register_cli_opt(
        cfg.SubCommandOpt(
            "command",
            title="commands",
            handler=_add_parsers,
            help="what to do",
        )
    )
    return conf


def main(argv: Sequence[str] | None = None) -> int:
    conf = build_conf()
    args = list(sys.argv[1:] if argv is None else argv)
    stop = startup.load(conf, args, project="sriovirt", prog="sriovirt")
    if stop is not None:
        return stop
    group = conf.command.name
    action = getattr(conf.command, "action", None) or next(
        iter(_COMMANDS[group])
    )
    run = _COMMANDS[group][action][2]
    return run_action(f"sriovirt {group} {action}", lambda: run(conf))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
