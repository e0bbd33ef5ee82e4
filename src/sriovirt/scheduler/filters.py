"""Host filters: which of Placement's candidate hosts can take the boot.

Placement has already checked resource amounts and traits; a host
filter checks what Placement cannot see.  Each filter takes the request
spec and the candidate hosts and returns a :class:`FilterResult`: the
hosts kept, in order, and each host removed with its reason in words
(hosts failing for the same cause share one reason text, so "no valid
host" can count them).

:class:`PciPassthroughFilter` asks each host's PCI pools whether they
can serve every PCI request of the boot (the ports' and the flavor's
aliases), with :meth:`~sriovirt.pci.stats.PciStats.support`: one
indexed check per host.  A removed host's reason comes from the
physical-network index when the network has no free device there, and
from the pool filters' stage otherwise.

This module must not read the database or Placement, nor rank hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from sriovirt import exception
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats
from sriovirt.scheduler.host_state import HostState
from sriovirt.scheduler.request_spec import RequestSpec


@dataclass(frozen=True, slots=True)
class FilterResult:
    """Hosts a filter kept, and ``(host uuid, reason)`` of the others."""

    kept: tuple[HostState, ...]
    removed: tuple[tuple[str, str], ...] = ()


class HostFilter(Protocol):
    """A host filter: a name and one decision over every host."""

    @property
    def name(self) -> str: ...

    def filter_hosts(
        self, spec: RequestSpec, hosts: Sequence[HostState]
    ) -> FilterResult: ...


#: Reasons of the pool filters' stages (:mod:`sriovirt.pci.filters`).
_STAGE_WORDS: Final = {
    "spec": "no pool matches it",
    "device_type": "no pool has the device type",
    "remote_managed": "no pool has the remote_managed value",
    "trusted": "no pool is trusted",
    "numa": "no pool on an allowed NUMA node",
    "count": "not enough free devices",
}


class PciPassthroughFilter:
    """Keep the hosts whose pools can serve every PCI request."""

    name: Final = "PciPassthroughFilter"

    def filter_hosts(
        self, spec: RequestSpec, hosts: Sequence[HostState]
    ) -> FilterResult:
        requests = spec.pci_requests
        if not requests:
            return FilterResult(tuple(hosts))
        kept: list[HostState] = []
        removed: list[tuple[str, str]] = []
        for host in hosts:
            stats = host.stats
            if stats is not None and stats.support(requests):
                kept.append(host)
            elif stats is None:
                removed.append(
                    (host.uuid, host.problem or "no PCI pools recorded")
                )
            else:
                removed.append((host.uuid, why_not(stats, requests)))
        return FilterResult(tuple(kept), tuple(removed))


def why_not(stats: PciStats, requests: Sequence[PciRequest]) -> str:
    """Why ``stats`` cannot serve ``requests``: the same text for every
    host that fails the same way (no host-specific values in it)."""
    for request in requests:
        networks = {alt.physical_network for alt in request.spec}
        if None not in networks and not any(
            stats.free_on_physical_network(str(net)) for net in networks
        ):
            names = ", ".join(sorted(str(n) for n in networks))
            return f"no free PCI device on physical network {names}"
    try:
        stats.select(requests)
    except exception.PciRequestUnsatisfiable as exc:
        failed = next(
            (r for r in requests if r.request_id == exc.request_id),
            requests[0],
        )
        words = _STAGE_WORDS.get(exc.stage, exc.stage)
        return f"PCI request {failed.describe()}: {words}"
    return "PCI requests unsatisfiable together"  # pragma: no cover


#: The host filters, in the order they run.
ALL_HOST_FILTERS: Final[tuple[HostFilter, ...]] = (PciPassthroughFilter(),)
