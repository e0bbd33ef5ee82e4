"""Options of the message bus between the scheduler side and computes.

sriovirt's own: ``[DEFAULT] service_down_time`` and ``report_interval``
(the services table's heartbeats), ``[DEFAULT] rpc_retries`` and
``[upgrade_levels] compute`` (the RPC version pinned during a rolling
upgrade).  ``[DEFAULT] transport_url`` and the ``[oslo_messaging_*]``
groups are oslo.messaging's own options: :func:`register_opts`
registers them on the given ``ConfigOpts`` too (oslo.messaging 18.3.1
registers ``[oslo_messaging_tracing]`` and ``[oslo_messaging_metrics]``
only on the global ``cfg.CONF``, and every call or RPC server on a
private ``ConfigOpts`` would fail without them: NoSuchOptError), but
:func:`list_opts` leaves them to the ``oslo.messaging`` generator
namespace.  ``transport_url`` defaults to unset here (oslo.messaging's
own default is ``rabbit://``, a broker on localhost).
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_messaging import opts as messaging_opts
from oslo_messaging._metrics import client as messaging_metrics
from oslo_messaging._tracing import client as messaging_tracing

default_opts: list[cfg.Opt] = [
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="Seconds since a service's last heartbeat after which it is "
        "down (`sriovirt compute list` shows it down; the scheduler side "
        "does not send it work).  Must be larger than report_interval.",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        help="Seconds between the heartbeats a compute service writes to "
        "its row in the services table.",
    ),
    cfg.IntOpt(
        "rpc_retries",
        default=2,
        min=0,
        help="How many times a call to a compute service retries sending "
        "when the message bus connection is lost, before the call fails "
        "(oslo.messaging's retry; unbounded retries would hang a call "
        "through a broker outage).  The answer is still bounded by "
        "rpc_response_timeout.",
    ),
]

upgrade_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        "compute",
        help="The highest compute RPC API version to send (e.g. '1.0') "
        "while older compute services still run during a rolling "
        "upgrade; unset: the newest this release knows.  A call that "
        "needs a newer version than the pin fails with an error naming "
        "both.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(upgrade_opts, group="upgrade_levels")
    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.register_opts(
        messaging_tracing.oslo_messaging_tracing,
        group="oslo_messaging_tracing",
    )
    conf.register_opts(
        messaging_metrics.oslo_messaging_metrics,
        group="oslo_messaging_metrics",
    )
    # oslo.messaging's default is "rabbit://" (a broker on localhost);
    # sriovirt's is no message bus: unset means the in-process path.
    conf.set_default("transport_url", None)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", default_opts), ("upgrade_levels", upgrade_opts)]
