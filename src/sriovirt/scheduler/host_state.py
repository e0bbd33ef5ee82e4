"""What the scheduler knows of one candidate host, and how it is read.

Placement answers with allocation candidates, several per host when a
host can serve a port from more than one PF.  :func:`group_candidates`
files them under their root provider (the compute node's uuid) in one
pass; :func:`load_host_pools` parses the ``compute_nodes.pci_stats``
JSON of every candidate, read from the database in one query, into a
:class:`HostPools` per node uuid (a row that cannot be read is kept as
its problem, so the host filter names it instead of failing the boot;
a :class:`PoolsCache` kept across decisions parses only the rows that
changed).

This module must not query the database or Placement itself (the caller
passes what they returned) nor decide which host wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from sriovirt import exception
from sriovirt.pci.stats import PciStats, PoolKeyCache


@dataclass(frozen=True, slots=True)
class AllocationCandidate:
    """One of Placement's ``allocation_requests``, with its root.

    ``allocations`` maps provider uuid -> resource class -> amount;
    ``mappings`` maps a group suffix (``""`` for the unsuffixed group)
    to the providers that serve it.
    """

    root_uuid: str
    allocations: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    mappings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HostPools:
    """A compute node's pools as the database holds them."""

    host: str
    stats: PciStats | None = None
    #: Why ``stats`` is None (unreadable JSON, nothing recorded).
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class HostState:
    """One candidate host: its node uuid, name, pools, candidates."""

    uuid: str
    host: str
    stats: PciStats | None
    problem: str | None
    candidates: tuple[AllocationCandidate, ...]


def _is_map(value: object) -> TypeGuard[Mapping[Any, Any]]:
    # Decoded JSON gives dicts: test the type first, the ABC only then
    # (isinstance against Mapping is slow, and this runs per provider).
    return type(value) is dict or isinstance(value, Mapping)


def candidates_from_response(
    body: Mapping[str, object],
) -> list[AllocationCandidate]:
    """Placement's ``GET /allocation_candidates`` JSON (1.39) as values.

    Each allocation request's root is the root provider (from
    ``provider_summaries``) of the providers serving its unsuffixed
    group, or of any provider it allocates from when it has none.
    Raises :class:`~sriovirt.exception.InvalidAllocationCandidates`
    naming what is missing.  The candidates keep the body's resource
    dicts (the body is not used afterwards; nothing changes them).
    """

    requests = body.get("allocation_requests")
    summaries = body.get("provider_summaries")
    if type(requests) is not list or not _is_map(summaries):
        raise _bad(
            "expected allocation_requests (a list) and "
            "provider_summaries (an object)"
        )
    roots = _roots(summaries)
    return [
        _candidate(index, request, roots)
        for index, request in enumerate(requests)
    ]


def _bad(reason: str) -> exception.InvalidAllocationCandidates:
    return exception.InvalidAllocationCandidates(reason=reason)


def _roots(summaries: Mapping[Any, Any]) -> dict[str, str]:
    """provider uuid -> its root provider's uuid."""
    roots: dict[str, str] = {}
    for uuid, summary in summaries.items():
        root = (
            summary.get("root_provider_uuid")
            if type(summary) is dict or _is_map(summary)
            else None
        )
        if type(root) is not str:
            raise _bad(f"provider {uuid} has no root_provider_uuid")
        roots[uuid] = root
    return roots


def _candidate(
    index: int, request: object, roots: Mapping[str, str]
) -> AllocationCandidate:
    """One allocation request as a candidate, checked in one pass.

    Plain loops and ``type(...) is dict`` first: this runs per request
    (1,000 at 1,000 hosts), and generators and calls are most of it.
    """
    if type(request) is not dict and not _is_map(request):
        raise _bad(f"allocation request #{index} is not an object")
    raw_allocs = request.get("allocations")
    if not raw_allocs or (
        type(raw_allocs) is not dict and not _is_map(raw_allocs)
    ):
        raise _bad(f"allocation request #{index} has no allocations")
    allocations = {}
    for provider, alloc in raw_allocs.items():
        resources = (
            alloc.get("resources")
            if type(alloc) is dict or _is_map(alloc)
            else None
        )
        if type(resources) is not dict and not _is_map(resources):
            raise _no_resources(index, provider)
        for amount in resources.values():
            if type(amount) is not int:
                raise _no_resources(index, provider)
        allocations[provider] = resources
    raw_maps = request.get("mappings", {})
    if type(raw_maps) is not dict and not _is_map(raw_maps):
        raise _bad(f"allocation request #{index}: mappings is not an object")
    mappings = {
        suffix: tuple(providers)
        for suffix, providers in raw_maps.items()
        if type(providers) is list
    }
    anchor = (mappings.get("") or tuple(raw_allocs))[0]
    root = roots.get(anchor)
    if root is None:
        raise _bad(
            f"allocation request #{index}: provider {anchor} has no summary"
        )
    return AllocationCandidate(root, allocations, mappings)


def _no_resources(
    index: int, provider: object
) -> exception.InvalidAllocationCandidates:
    return _bad(
        f"allocation request #{index}: provider {provider} has no resources"
    )


def group_candidates(
    candidates: Iterable[AllocationCandidate],
) -> dict[str, list[AllocationCandidate]]:
    """Candidates by root provider uuid, in Placement's order."""
    grouped: dict[str, list[AllocationCandidate]] = {}
    for candidate in candidates:
        grouped.setdefault(candidate.root_uuid, []).append(candidate)
    return grouped


class PoolsCache:
    """Parsed pools by node uuid, kept while the stored JSON is the same.

    A scheduler that makes many decisions reads every candidate's
    ``pci_stats`` each time (one query) but parses only the rows whose
    text changed since it last saw them; pool keys are shared across
    hosts and decisions (:class:`~sriovirt.pci.stats.PoolKeyCache`).
    The :class:`~sriovirt.pci.stats.PciStats` handed out are shared:
    callers only read them (``support``, counts), never ``apply``.
    """

    __slots__ = ("_by_uuid", "keys")

    def __init__(self) -> None:
        self.keys = PoolKeyCache()
        self._by_uuid: dict[str, tuple[str, str | None, HostPools]] = {}

    def __len__(self) -> int:
        return len(self._by_uuid)

    def load(
        self, rows: Mapping[str, tuple[str, str | None]]
    ) -> dict[str, HostPools]:
        """``{node uuid: (host, pci_stats JSON or None)}`` -> pools."""
        out: dict[str, HostPools] = {}
        seen = self._by_uuid
        for uuid, (host, text) in rows.items():
            cached = seen.get(uuid)
            if cached is not None and cached[1] == text and cached[0] == host:
                out[uuid] = cached[2]
                continue
            pools = _parse(uuid, host, text, self.keys)
            seen[uuid] = (host, text, pools)
            out[uuid] = pools
        return out


def load_host_pools(
    rows: Mapping[str, tuple[str, str | None]],
    cache: PoolsCache | None = None,
) -> dict[str, HostPools]:
    """``{node uuid: (host, pci_stats JSON or None)}`` -> pools.

    Without ``cache`` every row is parsed (pool keys still once per
    call: hosts of the same hardware share them).
    """
    return (cache if cache is not None else PoolsCache()).load(rows)


def _parse(
    uuid: str, host: str, text: str | None, keys: PoolKeyCache
) -> HostPools:
    if text is None:
        return HostPools(
            host, None, "its compute node has no PCI pools recorded"
        )
    known = PciStats.from_stored(text, keys)
    if known is not None:
        return HostPools(host, known, None)
    try:
        stats = PciStats.from_json(
            text,
            source=f"compute_nodes.pci_stats of {host} ({uuid})",
            keys=keys,
        )
    except exception.InvalidPciStats as exc:
        return HostPools(host, None, str(exc))
    return HostPools(host, stats, None)


def host_states(
    grouped: Mapping[str, Sequence[AllocationCandidate]],
    pools: Mapping[str, HostPools],
) -> list[HostState]:
    """One :class:`HostState` per candidate root, in Placement's order."""
    states: list[HostState] = []
    for uuid, candidates in grouped.items():
        found = pools.get(uuid)
        if found is None:
            state = HostState(
                uuid,
                uuid,
                None,
                "no compute node with this uuid in the database",
                tuple(candidates),
            )
        else:
            state = HostState(
                uuid, found.host, found.stats, found.problem, tuple(candidates)
            )
        states.append(state)
    return states
