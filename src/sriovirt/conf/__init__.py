"""Configuration options of sriovirt (oslo.config).

``register_opts(conf)`` registers every group on a ``ConfigOpts``;
``list_opts()`` feeds ``oslo-config-generator`` (entry point
``oslo.config.opts: sriovirt``).  Only the edges (commands, service,
driver, manager) read options; domain code receives plain values.
"""

from __future__ import annotations

from oslo_config import cfg

from sriovirt.conf import (
    database,
    default,
    libvirt,
    network,
    neutron,
    pci,
    placement,
    rpc,
    scheduler,
)

_MODULES = (
    default,
    pci,
    libvirt,
    database,
    network,
    neutron,
    placement,
    rpc,
    scheduler,
)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every sriovirt option group on ``conf``."""
    for module in _MODULES:
        module.register_opts(conf)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Options per group, for the sample-config generator."""
    grouped: dict[str, list[cfg.Opt]] = {}
    for module in _MODULES:
        for group, opts in module.list_opts():
            grouped.setdefault(group, []).extend(opts)
    return sorted(grouped.items())
