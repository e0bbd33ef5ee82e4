"""``sriovirt pci explain|list|pools``: the host's PCI devices as
operators need to see them.

``explain`` reads the inventory live from libvirt and says, for each PCI
function, which ``[pci] device_spec`` entry whitelists it (with its tags),
or why none does.  ``list`` and ``pools`` show what the compute node has
stored: the tracked devices with state and owner, and the pools the
scheduler sees.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.cmd import output
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.devspec import DeviceSpec
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt import host as libvirt_host
from sriovirt.virt.libvirt import inventory


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json"), default="table",
        help="output format (default: table)",
    )


def add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address", nargs="?", metavar="ADDRESS",
        help="only this PCI address (dddd:bb:ss.f); shows every entry's "
        "verdict",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--host-xml", metavar="FILE",
        help="read the devices from a libvirt test-driver host document "
        "instead of [libvirt] connection_uri",
    )
    source.add_argument(
        "--connection", metavar="URI",
        help="libvirt URI to read the devices from (default: [libvirt] "
        "connection_uri)",
    )
    _add_format(parser)


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    _add_format(parser)


def _uri(conf: cfg.ConfigOpts) -> str:
    args = conf.command
    if args.host_xml:
        path = Path(args.host_xml)
        if not path.is_file():
            raise exception.Invalid(
                reason=f"--host-xml {args.host_xml!r} is not a file"
            )
        return paths.test_driver_uri(path)
    return str(args.connection or conf.libvirt.connection_uri)


def _tags(spec: DeviceSpec | None) -> str:
    if spec is None:
        return "-"
    return ",".join(f"{k}={v}" for k, v in sorted(spec.tags.items())) or "-"


def _row(dev: HostPciDevice, spec: DeviceSpec | None) -> list[str]:
    return [
        str(dev.address),
        dev.dev_type.value,
        dev.vendor_info,
        "-" if dev.numa_node is None else str(dev.numa_node),
        dev.ifname or "-",
        "-" if spec is None else str(spec.origin.position),
        "-" if spec is None else str(spec.physical_network),
        _tags(spec),
    ]


HEADERS = ("ADDRESS", "TYPE", "VENDOR:PRODUCT", "NUMA", "NETDEV", "ENTRY",
           "PHYSNET", "TAGS")


def explain(conf: cfg.ConfigOpts) -> int:
    wl = Whitelist.from_config(list(conf.pci.device_spec))
    uri = _uri(conf)
    inv = inventory.read(libvirt_host.Host(uri))
    devices = list(inv.devices)
    wanted = conf.command.address
    if wanted:
        address = PciAddress.parse(wanted)
        devices = [d for d in devices if d.address == address]
        if not devices:
            raise exception.PciDeviceNotFound(address=f"{address} on {uri}")
    verdicts = [(d, wl.match(d)) for d in devices]
    if conf.command.format == "json":
        output.as_json(
            {
                "connection_uri": uri,
                "entries": len(wl.entries),
                "warnings": list(wl.warnings),
                "skipped": list(inv.skipped),
                "devices": [
                    {
                        "address": str(d.address),
                        "dev_type": d.dev_type.value,
                        "vendor_id": d.vendor_id,
                        "product_id": d.product_id,
                        "numa_node": d.numa_node,
                        "ifname": d.ifname,
                        "parent_addr": (
                            None if d.parent_addr is None
                            else str(d.parent_addr)
                        ),
                        "entry": None if s is None else s.origin.position,
                        "physical_network": (
                            None if s is None else s.physical_network
                        ),
                        "tags": {} if s is None else dict(s.tags),
                        "explain": wl.explain(d),
                    }
                    for d, s in verdicts
                ],
            }
        )
        return 0

    print(f"host {uri}: {len(devices)} PCI devices, "
          f"{len(wl.entries)} device_spec entries")
    output.table(HEADERS, [_row(d, s) for d, s in verdicts])
    for warning in wl.warnings:
        print(f"warning: {warning}")
    for reason in inv.skipped:
        print(f"skipped: {reason}")
    # Say why for what is not whitelisted (and for everything when one
    # address was asked about).
    unexplained = [d for d, s in verdicts if s is None or wanted]
    for dev in unexplained:
        print(f"\n{dev.address} ({dev.dev_type.value} {dev.vendor_info}):")
        for line in wl.explain(dev):
            print(f"  {line}")
    matched = sum(s is not None for _, s in verdicts)
    print(f"\n{matched} of {len(devices)} devices whitelisted")
    return 0


def list_devices(conf: cfg.ConfigOpts) -> int:
    raise exception.SriovirtError("pci list is not available yet")


def pools(conf: cfg.ConfigOpts) -> int:
    raise exception.SriovirtError("pci pools is not available yet")
