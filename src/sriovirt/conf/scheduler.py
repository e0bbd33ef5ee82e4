"""[scheduler] options: how many hosts to try and how to rank them.

The scheduler side (``sriovirt server boot``) reads these at the edge and
passes the values to :mod:`sriovirt.scheduler`.  This module only
declares the options.
"""

from __future__ import annotations

from oslo_config import cfg

scheduler_group = cfg.OptGroup(
    "scheduler",
    title="Scheduler",
    help="Choosing the host of a new server among Placement's candidates.",
)

opts: list[cfg.Opt] = [
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Hosts to try for one boot: the chosen host, then its "
        "alternates when the compute side fails the boot (each failed "
        "try's Placement allocation is freed first).",
    ),
    cfg.FloatOpt(
        "free_vf_weight_multiplier",
        default=1.0,
        help="Weight of a host's free VFs (on the physical networks of "
        "the boot's SR-IOV ports, or all of them).  Positive spreads "
        "boots over the hosts with most free VFs; negative packs them "
        "onto the fullest host that still fits; 0 keeps Placement's "
        "order.",
    ),
    cfg.IntOpt(
        "max_placement_results",
        default=1000,
        min=1,
        help="The limit sent with GET /allocation_candidates: at most "
        "this many candidates are filtered and weighed.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(scheduler_group)
    conf.register_opts(opts, group=scheduler_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("scheduler", opts)]
