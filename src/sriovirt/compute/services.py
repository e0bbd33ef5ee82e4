"""Whether a compute host may get work, from the services table.

:func:`service_state` builds the ``service_state`` callable that
:class:`~sriovirt.compute.rpcapi.ComputeAPI` consults before sending a
call: a reason when the host's ``sriovirt-compute`` service never
registered, is disabled (with the operator's reason) or has not
reported for more than ``service_down_time`` seconds; None when it may
get work.  The scheduler side can use the same rule to skip hosts.

This module must not send anything nor write the table (the compute
service's heartbeat does).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sriovirt.compute.rpc import BINARY
from sriovirt.db import api as db_api
from sriovirt.db.services import ServiceRecord


def _now() -> datetime.datetime:
    # Stored heartbeats are naive UTC.
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def why_not(
    service: ServiceRecord | None,
    host: str,
    service_down_time: float,
    now: datetime.datetime,
) -> str | None:
    """Why ``host``'s service must not get work, or None."""
    if service is None:
        return (
            f"no {BINARY} service registered for host {host} in the "
            "services table (never started?)"
        )
    if service.disabled:
        reason = service.disabled_reason or "no reason given"
        return f"the {BINARY} service of host {host} is disabled: {reason}"
    if not service.is_up(now, service_down_time):
        age = service.heartbeat_age(now)
        seen = "never" if age is None else f"{age:.0f} s ago"
        return (
            f"the {BINARY} service of host {host} is down: last heartbeat "
            f"{seen}, more than [DEFAULT] service_down_time = "
            f"{service_down_time:g} s"
        )
    return None


def service_state(
    database: db_api.Database,
    service_down_time: float,
    now: Callable[[], datetime.datetime] = _now,
) -> Callable[[str], str | None]:
    """The ``service_state`` callable of the RPC API over ``database``."""

    def state(host: str) -> str | None:
        found = database.get_service(host, BINARY)
        return why_not(found, host, service_down_time, now())

    return state
