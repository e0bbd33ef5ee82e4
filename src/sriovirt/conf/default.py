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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", opts)]
