"""[network] options: which network service binds ports, and its files.

``backend = static`` (the embedded default) reads networks and ports
from ``ports_file`` and keeps bindings in ``bindings_file``
(:mod:`sriovirt.network.static`); ``backend = neutron`` talks to Neutron.
This module only declares the options; it must not open the files.
"""

from __future__ import annotations

from oslo_config import cfg

from sriovirt import paths

network_group = cfg.OptGroup(
    "network",
    title="Network service",
    help="Which network service binds the instances' ports.",
)

opts: list[cfg.Opt] = [
    cfg.StrOpt(
        "backend",
        default="static",
        choices=[
            (
                "static",
                "Networks and ports from ports_file; bindings "
                "computed as Neutron's SR-IOV mechanism driver does.",
            ),
            ("neutron", "A real Neutron, through keystoneauth1."),
        ],
        help="The network service the compute side talks to.",
    ),
    cfg.StrOpt(
        "ports_file",
        default=str(paths.etc_dir() / "ports.json"),
        sample_default="<sriovirt>/etc/sriovirt/ports.json",
        help="Static backend: a JSON (or, named *.yaml/*.yml, YAML) "
        'document {"networks": [...], "ports": [...]} of Neutron API '
        "v2.0 bodies.  Only read, never written.",
    ),
    cfg.StrOpt(
        "bindings_file",
        default="$state_path/port_bindings.sqlite",
        help="Static backend: where the ports' bindings are kept across "
        "processes: a SQLite file, one row per port, each change one "
        "transaction.  A JSON state file of the earlier format at this "
        "path is converted in place on first use.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(network_group)
    conf.register_opts(opts, group=network_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("network", opts)]
