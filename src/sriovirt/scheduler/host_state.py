"""What the scheduler knows of one candidate host, and how it is read.

Placement answers with allocation candidates, several per host when a
host can serve a port from more than one PF.  :func:`group_candidates`
files them under their root provider (the compute node's uuid) in one
pass; :func:`load_host_pools` parses the ``compute_nodes.pci_stats``
JSON of every candidate, read from the database in one query, into a
:class:`HostPools` per node uuid (a row that cannot be read is kept as
its problem, so the host filter names it instead of failing the boot).

This module must not query the database or Placement itself (the caller
passes what they returned) nor decide which host wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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


def candidates_from_response(
    body: Mapping[str, object],
) -> list[AllocationCandidate]:
    """Placement's ``GET /allocation_candidates`` JSON (1.39) as values.

    Each allocation request's root is the root provider (from
    ``provider_summaries``) of the providers serving its unsuffixed
    group, or of any provider it allocates from when it has none.
    Raises :class:`~sriovirt.exception.InvalidAllocationCandidates`
    naming what is missing.
    """

    def bad(reason: str) -> exception.InvalidAllocationCandidates:
        return exception.InvalidAllocationCandidates(reason=reason)

    requests = body.get("allocation_requests")
    summaries = body.get("provider_summaries")
    if not isinstance(requests, list) or not isinstance(summaries, Mapping):
        raise bad(
            "expected allocation_requests (a list) and "
            "provider_summaries (an object)"
        )
    roots: dict[str, str] = {}
    for uuid, summary in summaries.items():
        root = (
            summary.get("root_provider_uuid")
            if isinstance(summary, Mapping)
            else None
        )
        if not isinstance(root, str):
            raise bad(f"provider {uuid} has no root_provider_uuid")
        roots[str(uuid)] = root
    out: list[AllocationCandidate] = []
    for index, request in enumerate(requests):
        where = f"allocation request #{index}"
        if not isinstance(request, Mapping):
            raise bad(f"{where} is not an object")
        raw_allocs = request.get("allocations")
        if not isinstance(raw_allocs, Mapping) or not raw_allocs:
            raise bad(f"{where} has no allocations")
        allocations: dict[str, dict[str, int]] = {}
        for provider, alloc in raw_allocs.items():
            resources = (
                alloc.get("resources") if isinstance(alloc, Mapping) else None
            )
            if not isinstance(resources, Mapping) or not all(
                type(n) is int for n in resources.values()
            ):
                raise bad(f"{where}: provider {provider} has no resources")
            allocations[str(provider)] = dict(resources)
        raw_maps = request.get("mappings", {})
        if not isinstance(raw_maps, Mapping):
            raise bad(f"{where}: mappings is not an object")
        mappings = {
            str(suffix): tuple(str(p) for p in providers)
            for suffix, providers in raw_maps.items()
            if isinstance(providers, list)
        }
        anchor = (mappings.get("") or tuple(allocations))[0]
        root = roots.get(anchor)
        if root is None:
            raise bad(f"{where}: provider {anchor} has no summary")
        out.append(AllocationCandidate(root, allocations, mappings))
    return out


def group_candidates(
    candidates: Iterable[AllocationCandidate],
) -> dict[str, list[AllocationCandidate]]:
    """Candidates by root provider uuid, in Placement's order."""
    grouped: dict[str, list[AllocationCandidate]] = {}
    for candidate in candidates:
        grouped.setdefault(candidate.root_uuid, []).append(candidate)
    return grouped


def load_host_pools(
    rows: Mapping[str, tuple[str, str | None]],
) -> dict[str, HostPools]:
    """``{node uuid: (host, pci_stats JSON or None)}`` -> pools."""
    out: dict[str, HostPools] = {}
    # Hosts of the same hardware share pool keys: parse each key once.
    keys = PoolKeyCache()
    for uuid, (host, text) in rows.items():
        if text is None:
            out[uuid] = HostPools(
                host, None, "its compute node has no PCI pools recorded"
            )
            continue
        try:
            stats = PciStats.from_json(
                text,
                source=f"compute_nodes.pci_stats of {host} ({uuid})",
                keys=keys,
            )
        except exception.InvalidPciStats as exc:
            out[uuid] = HostPools(host, None, str(exc))
            continue
        out[uuid] = HostPools(host, stats, None)
    return out


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
