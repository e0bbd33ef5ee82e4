"""``sriovirt traits``: the host's traits, each with the reason.

The decision itself lives in :mod:`sriovirt.virt.libvirt.traits`; this
command only asks the driver and prints.
"""

from __future__ import annotations

import argparse

from oslo_config import cfg

from sriovirt.cmd import libvirt_uri, output
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host, Versions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection",
        metavar="URI",
        help="libvirt URI to ask (default: [libvirt] connection_uri)",
    )
    output.add_format_argument(parser)


def run(conf: cfg.ConfigOpts) -> int:
    uri = libvirt_uri(conf, conf.command.connection)
    driver = LibvirtDriver(conf, Host(uri))
    versions = driver.host.versions()
    decisions = driver.trait_decisions()
    if conf.command.format == "json":
        output.as_json(
            {
                "connection_uri": uri,
                "lib_version": Versions.format(versions.lib_version),
                "hypervisor": versions.hv_type,
                "hv_version": Versions.format(versions.hv_version),
                "traits": {
                    d.name: {"supported": d.supported, "reason": d.reason}
                    for d in decisions
                },
            }
        )
        return 0
    print(
        f"host {uri}: libvirt {Versions.format(versions.lib_version)}, "
        f"{versions.hv_type} {Versions.format(versions.hv_version)}"
    )
    output.table(
        ("TRAIT", "REPORTED", "REASON"),
        [
            [d.name, "yes" if d.supported else "no", d.reason]
            for d in decisions
        ],
    )
    return 0
