"""Pool filters: the small rules that narrow a host's pools for a request.

Each :class:`PoolFilter` has one reason to say no, a ``stage`` name that
:class:`~sriovirt.exception.PciRequestUnsatisfiable` reports, a
``select`` function ``(candidates, request, ctx) -> candidates`` and an
``explain`` function that says, in words, why ``select`` left nothing.
:data:`POOL_FILTERS` is the ordered list :class:`~sriovirt.pci.stats.
PciStats` runs; the first filter that empties the candidates names the
stage.

A request's ``spec`` is a list of alternatives, so a candidate carries
the alternatives still possible for its pool; the per-alternative stages
narrow that tuple and drop candidates with none left.

This module holds rules only: it must not mutate pools, count devices
for the tracker or parse specs (requests arrive normalised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sriovirt.pci.device import DevType
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.request import (
    PF_ITEM,
    REMOTE_MANAGED_ITEM,
    TRUSTED_ITEM,
    NumaPolicy,
    PciRequest,
    SpecAlternative,
)

#: Stage names, as reported in ``PciRequestUnsatisfiable.stage``.
STAGE_SPEC: Final = "spec"
STAGE_DEVICE_TYPE: Final = "device_type"
STAGE_REMOTE_MANAGED: Final = "remote_managed"
STAGE_TRUSTED: Final = "trusted"
STAGE_NUMA: Final = "numa"
STAGE_COUNT: Final = "count"

#: Longest list of values quoted in an explanation.
_MAX_LISTED: Final = 6


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pool still in the running, with its free count for this call."""

    key: PoolKey
    #: Devices of the pool not yet taken by this call's earlier requests.
    free: int
    #: The request's alternatives this pool still satisfies.
    alts: tuple[SpecAlternative, ...]
    #: Devices of the pool this call's earlier requests already took.
    taken: int = 0


@dataclass(frozen=True, slots=True)
class FilterContext:
    """Facts about the instance that are not part of the request."""

    #: Host NUMA node ids of the instance; None: no NUMA topology.
    numa_cells: frozenset[int] | None = None


Select = Callable[
    [Sequence[Candidate], PciRequest, FilterContext], list[Candidate]
]
Explain = Callable[[Sequence[Candidate], PciRequest, FilterContext], str]


@dataclass(frozen=True, slots=True)
class PoolFilter:
    stage: str
    select: Select
    explain: Explain


def _narrow(
    candidates: Sequence[Candidate],
    keep: Callable[[SpecAlternative, PoolKey], bool],
) -> list[Candidate]:
    out = []
    for cand in candidates:
        alts = tuple(a for a in cand.alts if keep(a, cand.key))
        if alts:
            out.append(
                cand
                if len(alts) == len(cand.alts)
                else Candidate(cand.key, cand.free, alts, cand.taken)
            )
    return out


def _listed(values: set[str]) -> str:
    shown = sorted(values)[:_MAX_LISTED]
    more = len(values) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# --- spec: vendor/product/dev_type/physical_network/tags -------------------


def _spec_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    return _narrow(cands, lambda a, k: a.spec_items <= k.items)


def _criteria(alt: SpecAlternative) -> list[tuple[str, str]]:
    order = ("physical_network", "dev_type", "vendor_id", "product_id")
    items = dict(alt.spec_items)
    first = [(name, items.pop(name)) for name in order if name in items]
    return first + sorted(items.items())


def _explain_alt(alt: SpecAlternative, keys: Sequence[PoolKey]) -> str:
    remaining = list(keys)
    for name, value in _criteria(alt):
        matching = [k for k in remaining if (name, value) in k.items]
        if not matching:
            have = {v for k in remaining for n, v in k.items if n == name}
            seen = f"pools have {_listed(have)}" if have else "no pool has it"
            return f"no pool has {name}={value} ({seen})"
        remaining = matching
    return f"no pool matches ({alt})"  # pragma: no cover - select passed


def _spec_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    keys = [c.key for c in cands]
    return "; or ".join(_explain_alt(alt, keys) for alt in req.spec)


# --- device_type: PF pools only for requests asking for a PF --------------


def _device_type_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    return _narrow(cands, lambda a, k: a.wants_pf or PF_ITEM not in k.items)


def _device_type_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    return (
        f"only {DevType.PF} pools match, and PF pools serve only requests "
        f"with dev_type={DevType.PF} (direct-physical ports)"
    )


# --- remote_managed: such pools only for requests asking for them ---------


def _remote_managed_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    return _narrow(
        cands,
        lambda a, k: (
            a.wants_remote_managed == (REMOTE_MANAGED_ITEM in k.items)
        ),
    )


def _remote_managed_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    if any(a.wants_remote_managed for c in cands for a in c.alts):
        return "no matching pool is remote_managed=true"
    return (
        "only remote_managed=true pools match, and those serve only "
        "requests with remote_managed=true"
    )


# --- trusted: trusted=true requests need trusted pools --------------------


def _trusted_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    return _narrow(
        cands, lambda a, k: not a.wants_trusted or TRUSTED_ITEM in k.items
    )


def _trusted_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    return "the request needs trusted=true and no matching pool is trusted"


# --- numa: the instance's NUMA cells and the request's policy -------------


def numa_allows(
    policy: NumaPolicy | None,
    cells: frozenset[int] | None,
    node: int | None,
) -> bool:
    """Whether a pool on ``node`` may serve a request (ignoring order)."""
    if cells is None or policy is NumaPolicy.PREFERRED:
        return True
    if node in cells:
        return True
    # legacy (the default, as in Nova): devices without NUMA affinity
    # may serve anyone; required and socket insist on the cells.
    return node is None and policy in (None, NumaPolicy.LEGACY)


def _numa_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    cells = ctx.numa_cells
    if cells is None:
        return list(cands)
    if req.numa_policy is NumaPolicy.PREFERRED:
        # Keep every pool, in-cell pools first (sorted() is stable).
        return sorted(cands, key=lambda c: c.key.numa_node not in cells)
    policy = req.numa_policy
    return [c for c in cands if numa_allows(policy, cells, c.key.numa_node)]


def _numa_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    nodes = {str(c.key.numa_node) for c in cands}
    policy = req.numa_policy or f"{NumaPolicy.LEGACY} (default)"
    cells = ", ".join(str(n) for n in sorted(ctx.numa_cells or ()))
    return (
        f"no matching pool is on the instance's NUMA node(s) {cells} "
        f"with numa_policy {policy}; matching pools are on node(s) "
        f"{_listed(nodes)}"
    )


# --- count: enough free devices -------------------------------------------


def _count_select(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> list[Candidate]:
    if sum(c.free for c in cands) < req.count:
        return []
    return [c for c in cands if c.free > 0]


def _count_explain(
    cands: Sequence[Candidate], req: PciRequest, ctx: FilterContext
) -> str:
    free = sum(c.free for c in cands)
    if not cands:
        return "the host has no free PCI devices"
    said = (
        f"needs {req.count} device(s), {free} free in {len(cands)} "
        "matching pool(s)"
    )
    if free:
        return said
    taken = sum(c.taken for c in cands)
    if taken:
        return f"{said}: {taken} taken by earlier requests of this claim"
    # Every matching pool is empty.  The candidates cannot tell why (in
    # use, taken by an earlier request of the same call, or blocked by
    # the PF/VF rule), so all are named; the PF/VF rule is the one that
    # surprises, as when one claim asks for a PF and one of its own VFs.
    types = {c.key.dev_type for c in cands}
    if types == {DevType.PF}:
        rule = (
            "a PF is unavailable while any of its VFs is in use, so a PF "
            "and its own VF cannot be claimed together"
        )
    elif types == {DevType.VF}:
        rule = (
            "VFs are unavailable while their PF is in use, so a PF and "
            "its own VF cannot be claimed together"
        )
    else:
        return f"{said}: every matching device is in use or taken"
    return f"{said}: they are in use or blocked by the PF/VF rule ({rule})"


#: The ordered filter chain.  Order matters only for which stage is
#: named: specific mismatches (spec) before policy (device type, remote
#: managed, trusted, NUMA) before quantity (count).
POOL_FILTERS: Final[tuple[PoolFilter, ...]] = (
    PoolFilter(STAGE_SPEC, _spec_select, _spec_explain),
    PoolFilter(STAGE_DEVICE_TYPE, _device_type_select, _device_type_explain),
    PoolFilter(
        STAGE_REMOTE_MANAGED, _remote_managed_select, _remote_managed_explain
    ),
    PoolFilter(STAGE_TRUSTED, _trusted_select, _trusted_explain),
    PoolFilter(STAGE_NUMA, _numa_select, _numa_explain),
    PoolFilter(STAGE_COUNT, _count_select, _count_explain),
)
