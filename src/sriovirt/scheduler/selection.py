"""Host selection: Placement's candidates -> filters -> weigher -> hosts.

:func:`select_hosts` groups the allocation candidates by host (one
pass), runs every host filter, weighs the hosts left and returns them
best first: the chosen host and its alternates (a caller tries them in
order, up to ``[scheduler] max_attempts``).  When none is left it
raises :class:`~sriovirt.exception.NoValidHost` saying how many hosts
Placement returned for which query, and how many hosts each filter
removed for what reason.

The cost is linear in hosts and pools (each host's pools are indexed by
physical network) plus one sort of the hosts kept.  This module must not
call Placement or the database: the caller passes Placement's
candidates and the pools read in one query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.scheduler.filters import ALL_HOST_FILTERS, HostFilter
from sriovirt.scheduler.host_state import (
    AllocationCandidate,
    HostPools,
    HostState,
    group_candidates,
    host_states,
)
from sriovirt.scheduler.placement_query import AllocationCandidatesQuery
from sriovirt.scheduler.request_spec import RequestSpec
from sriovirt.scheduler.weights import FreeVfWeigher


@dataclass(frozen=True, slots=True)
class FilterReport:
    """What one host filter removed: reason -> number of hosts."""

    name: str
    removed: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.removed)

    def __str__(self) -> str:
        reasons = "; ".join(f"{n} x {why}" for why, n in self.removed)
        return f"{self.name} removed {self.total} ({reasons})"


@dataclass(frozen=True, slots=True)
class HostSelection:
    """The hosts left, best first, and what each filter removed."""

    hosts: tuple[HostState, ...]
    reports: tuple[FilterReport, ...]

    @property
    def chosen(self) -> HostState:
        return self.hosts[0]

    @property
    def alternates(self) -> tuple[HostState, ...]:
        return self.hosts[1:]


def select_hosts(
    spec: RequestSpec,
    candidates: Iterable[AllocationCandidate],
    pools: Mapping[str, HostPools],
    *,
    query: AllocationCandidatesQuery,
    filters: Sequence[HostFilter] = ALL_HOST_FILTERS,
    weigher: FreeVfWeigher | None = None,
    max_hosts: int | None = None,
) -> HostSelection:
    """The hosts that can take ``spec``, best first.

    ``pools`` maps node uuid to its pools (one database query for every
    candidate); ``query`` is what Placement was sent, for the error.
    ``max_hosts`` keeps the chosen host and that many minus one
    alternates.  Raises :class:`~sriovirt.exception.NoValidHost`.
    """
    hosts = host_states(group_candidates(candidates), pools)
    returned = len(hosts)
    reports: list[FilterReport] = []
    for host_filter in filters:
        if not hosts:
            break
        result = host_filter.filter_hosts(spec, hosts)
        counts = Counter(reason for _, reason in result.removed)
        reports.append(
            FilterReport(
                host_filter.name,
                tuple(sorted(counts.items(), key=lambda c: (-c[1], c[0]))),
            )
        )
        hosts = list(result.kept)
    if not hosts:
        raise exception.NoValidHost(
            candidates=returned,
            query=query.query_string(),
            removed=_removed_text(returned, reports),
        )
    weigher = weigher or FreeVfWeigher()
    weighed = sorted(
        hosts, key=lambda h: (-weigher.weigh(spec, h), h.host, h.uuid)
    )
    if max_hosts is not None:
        weighed = weighed[:max_hosts]
    return HostSelection(tuple(weighed), tuple(reports))


def _removed_text(returned: int, reports: Sequence[FilterReport]) -> str:
    if not returned:
        return "no host has the resources and traits asked for"
    return "; ".join(str(r) for r in reports if r.total)
