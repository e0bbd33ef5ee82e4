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
        "database lives here, and the instance locks of boots and deletes "
        "in flight under locks/).  Must be local to the host.",
    ),
    cfg.BoolOpt(
        "resume_guests_state_on_host_boot",
        default=False,
        help="When reconcile (at the compute service's start, or "
        "`sriovirt compute reconcile`) finds an active server whose guest "
        "the hypervisor no longer has, or that is shut off, define it again "
        "from its stored guest XML and start it.  False: report it only.  "
        "The embedded test-driver host forgets its guests when its process "
        "exits, so the sample configuration sets it true.",
    ),
    cfg.StrOpt(
        "compute_driver",
        default="libvirt.LibvirtDriver",
        help="The compute driver, as 'module.Class': resolved inside "
        "the sriovirt.virt package first (libvirt.LibvirtDriver), else "
        "as a full dotted import path.  The class must be a "
        "sriovirt.virt.driver.ComputeDriver.",
    ),
    cfg.IntOpt(
        "update_resources_interval",
        default=60,
        min=1,
        help="Seconds between two periodic refreshes of the sriovirt-compute "
        "service: the host's PCI devices read again, the pools stored and "
        "the provider tree reported to Placement (which also catches up "
        "after a Placement outage).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", opts)]
