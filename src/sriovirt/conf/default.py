"""[DEFAULT] options: the host's identity and where state lives."""

from __future__ import annotations

import socket

from oslo_config import cfg

opts: list[cfg.Opt] = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<current_hostname>",
        help="Name of this compute host, as the scheduler, Placement and "
        "Neutron (binding:host_id) know it.",
    ),
    cfg.StrOpt(
        "state_path",
        default="/var/lib/sriovirt",
        help="Directory for sriovirt's local state (the default SQLite "
        "database lives here).",
    ),
    cfg.StrOpt(
        "compute_driver",
        default="libvirt.LibvirtDriver",
        help="The compute driver, as 'module.Class': resolved inside "
        "the sriovirt.virt package first (libvirt.LibvirtDriver), else "
        "as a full dotted import path.  The class must be a "
        "sriovirt.virt.driver.ComputeDriver.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", opts)]
