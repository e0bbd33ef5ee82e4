"""One scheduling decision, from a request spec to the hosts to try.

:func:`select_destinations` runs the whole of the scheduler's own side
in order: the request filters, the allocation-candidates query, one
call to Placement (through ``placement``, whatever speaks HTTP), one
database read of every candidate's pools (``nodes``), then
:func:`~sriovirt.scheduler.selection.select_hosts`.  It returns the
hosts best first with the query sent, and how long Placement and the
database took apart from sriovirt's own work, so a caller (and the
bench) can tell the shares apart.

This module must not speak HTTP or SQL itself: ``placement`` and
``nodes`` are passed in (the report client and
:class:`~sriovirt.db.api.Database` satisfy the protocols).  Claiming
the allocation and trying alternates belong to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from sriovirt.db.records import ComputeNodeRecord
from sriovirt.scheduler.filters import ALL_HOST_FILTERS, HostFilter
from sriovirt.scheduler.host_state import (
    PoolsCache,
    candidates_from_response,
    load_host_pools,
)
from sriovirt.scheduler.placement_query import (
    AllocationCandidatesQuery,
    allocation_candidates_query,
)
from sriovirt.scheduler.request_filter import apply_request_filters
from sriovirt.scheduler.request_spec import RequestSpec
from sriovirt.scheduler.selection import HostSelection, select_hosts
from sriovirt.scheduler.weights import FreeVfWeigher


class CandidatesSource(Protocol):
    """Whatever answers ``GET /allocation_candidates`` (the JSON body)."""

    def allocation_candidates(
        self, query: AllocationCandidatesQuery
    ) -> Mapping[str, object]: ...


class NodesSource(Protocol):
    """Whatever reads compute nodes by uuid in one query."""

    def get_compute_nodes_by_uuids(
        self, uuids: Collection[str]
    ) -> dict[str, ComputeNodeRecord]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerSettings:
    """The ``[scheduler]`` values a decision uses (read at the edge)."""

    max_attempts: int = 3
    free_vf_weight_multiplier: float = 1.0
    max_placement_results: int = 1000


@dataclass(frozen=True, slots=True)
class Destinations:
    """The hosts to try, the query sent, and where the time went."""

    selection: HostSelection
    spec: RequestSpec
    query: AllocationCandidatesQuery
    placement_s: float
    database_s: float
    ours_s: float


def select_destinations(
    spec: RequestSpec,
    *,
    placement: CandidatesSource,
    nodes: NodesSource,
    settings: SchedulerSettings | None = None,
    filters: tuple[HostFilter, ...] = ALL_HOST_FILTERS,
    pools_cache: PoolsCache | None = None,
) -> Destinations:
    """The hosts to try for ``spec``, best first (at most
    ``max_attempts``).

    ``pools_cache``: a long-lived scheduler's, so unchanged pools are
    not parsed again.  Raises what the request filters raise (before
    Placement is asked) and :class:`~sriovirt.exception.NoValidHost`.
    """
    settings = settings or SchedulerSettings()
    start = time.perf_counter()
    spec = apply_request_filters(spec)
    query = allocation_candidates_query(
        spec, limit=settings.max_placement_results
    )
    asked = time.perf_counter()
    body = placement.allocation_candidates(query)
    answered = time.perf_counter()
    candidates = candidates_from_response(body)
    uuids = {c.root_uuid for c in candidates}
    read = time.perf_counter()
    records = nodes.get_compute_nodes_by_uuids(uuids) if uuids else {}
    loaded = time.perf_counter()
    pools = load_host_pools(
        {u: (r.host, r.pci_stats) for u, r in records.items()}, pools_cache
    )
    selection = select_hosts(
        spec,
        candidates,
        pools,
        query=query,
        filters=filters,
        weigher=FreeVfWeigher(settings.free_vf_weight_multiplier),
        max_hosts=settings.max_attempts,
    )
    done = time.perf_counter()
    placement_s = answered - asked
    database_s = loaded - read
    return Destinations(
        selection=selection,
        spec=spec,
        query=query,
        placement_s=placement_s,
        database_s=database_s,
        ours_s=(done - start) - placement_s - database_s,
    )
