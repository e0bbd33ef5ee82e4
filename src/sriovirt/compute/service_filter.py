"""The host filter that skips hosts whose compute service may not get
work: never registered, disabled by an operator, or silent for more
than ``[DEFAULT] service_down_time`` seconds.

Built here (``compute/``), not in the scheduler package, because it
knows the ``sriovirt-compute`` service and its table; the scheduler
runs it as any :class:`~sriovirt.scheduler.filters.HostFilter`.  It
reads the services of every candidate host in ONE query (the
``(host, binary)`` index), then decides each host in constant time, with
:func:`~sriovirt.compute.services.why_not`'s words as the reason
("no valid host" lists them).  Only the scheduler side of the message
bus uses it: in-process hosts have no service rows.

This module must not write the services table nor send anything.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Sequence
from typing import Final, Protocol

from sriovirt.compute.rpc import BINARY
from sriovirt.compute.services import why_not
from sriovirt.db.services import ServiceRecord
from sriovirt.scheduler.filters import FilterResult
from sriovirt.scheduler.host_state import HostState
from sriovirt.scheduler.request_spec import RequestSpec


class ServicesSource(Protocol):
    """Whatever reads the services of several hosts in one query
    (:class:`~sriovirt.db.api.Database`)."""

    def get_services_of_hosts(
        self, hosts: Collection[str], binary: str
    ) -> dict[str, ServiceRecord]: ...


def _now() -> datetime.datetime:
    # Stored heartbeats are naive UTC.
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class ComputeServiceFilter:
    """Keep the hosts whose compute service is up and enabled."""

    name: Final = "ComputeServiceFilter"

    def __init__(
        self,
        services: ServicesSource,
        service_down_time: float,
        now: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self.services = services
        self.service_down_time = service_down_time
        self.now = now

    def filter_hosts(
        self, spec: RequestSpec, hosts: Sequence[HostState]
    ) -> FilterResult:
        found = self.services.get_services_of_hosts(
            {h.host for h in hosts}, BINARY
        )
        now = self.now()
        kept: list[HostState] = []
        removed: list[tuple[str, str]] = []
        for host in hosts:
            why = why_not(
                found.get(host.host), host.host, self.service_down_time, now
            )
            if why is None:
                kept.append(host)
            else:
                removed.append((host.uuid, f"{host.host}: {why}"))
        return FilterResult(tuple(kept), tuple(removed))
