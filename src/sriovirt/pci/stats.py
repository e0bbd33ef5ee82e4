"""PCI stats pools: free devices grouped by what a request can ask for.

A pool is a :class:`PoolKey` (ids, NUMA node, device type, physical
network and the other tags of the matching whitelist entry) and a count
of free devices.  :class:`PciStats` answers the scheduler
(:meth:`PciStats.support`), reserves for a claim (:meth:`PciStats.apply`)
and round-trips through the ``compute_nodes.pci_stats`` JSON.

Pools are kept indexed by physical network and each key carries the
frozenset of its items, so a ``support`` call for one request with one
alternative touches only the pools of its network and tests each with
two set operations: the scheduler checks 10,000 hosts in milliseconds.
``support`` is true iff ``apply`` would succeed; both use the same
normalised request sets, and ``apply`` goes through
:data:`~sriovirt.pci.filters.POOL_FILTERS` to name the stage that failed.
:meth:`PciStats.to_json` and :meth:`PciStats.from_json` go through the
stored form of :mod:`sriovirt.pci.pool_json` (with a
:class:`PoolKeyCache`, known pools are read without decoding JSON: the
scheduler reads every candidate host's pools per decision).

This module must not know about individual devices or their PF/VF
relations (that is the tracker's job): it only counts.  It is over the
usual size because the fast paths of ``support`` and the joint
``select`` must stay beside each other (the property tests hold them to
one another) and share the pool index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sriovirt import exception
from sriovirt.pci import filters, pool_json
from sriovirt.pci.device import DevType
from sriovirt.pci.filters import numa_allows
from sriovirt.pci.pool import Pool, PoolKey, Selection
from sriovirt.pci.pool_json import PoolKeyCache
from sriovirt.pci.request import PciRequest

# The pool values live in pool.py (stats, filters and the tracker share
# them) and their stored form in pool_json.py; they are re-exported
# because callers met them here first.
__all__ = ["PciStats", "Pool", "PoolKey", "PoolKeyCache", "Selection"]


class _Cell:
    """The mutable count of one pool; identity-hashed for overlays."""

    __slots__ = ("count", "items", "key", "numa_node")

    def __init__(self, key: PoolKey, count: int) -> None:
        self.key = key
        self.count = count
        self.items = key.items
        self.numa_node = key.numa_node


class PciStats:
    """Pools of free devices of one host."""

    __slots__ = ("_all", "_by_physnet", "_cells", "_ordered")

    def __init__(self, pools: Iterable[Pool] = ()) -> None:
        self._cells: dict[PoolKey, _Cell] = {}
        self._all: list[_Cell] = []
        self._by_physnet: dict[str | None, list[_Cell]] = {}
        self._ordered: list[_Cell] | None = None
        for pool in pools:
            self.adjust(pool.key, pool.count)

    # --- counts -----------------------------------------------------------

    def adjust(self, key: PoolKey, delta: int) -> None:
        """Add ``delta`` free devices to the pool ``key`` (O(1)).

        The tracker calls this on every device state change; a pool that
        drops to zero stays indexed but is not reported.
        """
        cell = self._cells.get(key)
        if cell is None:
            cell = _Cell(key, 0)
            self._cells[key] = cell
            self._all.append(cell)
            self._by_physnet.setdefault(key.physical_network, []).append(cell)
            self._ordered = None
        count = cell.count + delta
        if count < 0:
            raise exception.InvalidPciStats(
                source="adjust",
                reason=f"pool {key} would have {count} devices",
            )
        cell.count = count

    def count(self, key: PoolKey) -> int:
        cell = self._cells.get(key)
        return 0 if cell is None else cell.count

    @property
    def pools(self) -> tuple[Pool, ...]:
        """Non-empty pools, sorted by key."""
        return tuple(Pool(c.key, c.count) for c in self._sorted() if c.count)

    def total(self) -> int:
        return sum(c.count for c in self._all)

    def free_on_physical_network(
        self, physical_network: str, dev_type: DevType | None = None
    ) -> int:
        """Free devices on one physical network (of one type if given).

        Reads only that network's pools (the index): the scheduler asks
        this of every candidate host.
        """
        cells = self._by_physnet.get(physical_network, ())
        free = 0
        for c in cells:
            if dev_type is None or c.key.dev_type is dev_type:
                free += c.count
        return free

    def free_of_type(self, dev_type: DevType) -> int:
        """Free devices of one type, on every network."""
        return sum(c.count for c in self._all if c.key.dev_type is dev_type)

    def copy(self) -> PciStats:
        return PciStats(self.pools)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PciStats):
            return NotImplemented
        return self.pools == other.pools

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PciStats({list(self.pools)!r})"

    def _sorted(self) -> list[_Cell]:
        if self._ordered is None:
            self._ordered = sorted(self._all, key=lambda c: c.key.sort_key())
        return self._ordered

    # --- scheduling -------------------------------------------------------

    def support(
        self,
        requests: Iterable[PciRequest],
        numa_cells: Iterable[int] | None = None,
    ) -> bool:
        """Whether :meth:`apply` would succeed; never mutates."""
        if type(requests) is not tuple and not isinstance(requests, Sequence):
            requests = list(requests)
        cells = None if numa_cells is None else frozenset(numa_cells)
        if len(requests) == 1:
            return self._quick(requests[0], cells)
        if _own_networks(requests):
            # Each request's pools are its own network's: disjoint, so
            # each request alone decides (what _apart would find).
            return all(self._quick(req, cells) for req in requests)
        apart = self._apart(requests, cells)
        if apart is not None:
            return apart
        try:
            self.select(requests, cells)
        except exception.PciRequestUnsatisfiable:
            return False
        return True

    def _apart(
        self, requests: Sequence[PciRequest], cells: frozenset[int] | None
    ) -> bool | None:
        """Several requests whose usable pools do not overlap (ports on
        different physical networks): each only needs its own pools'
        free count, so support is each request's alone.  None when two
        requests share a pool (then select() decides jointly).  Requests
        interact only through what earlier ones take from a pool, so
        disjoint pools make the joint answer the separate ones (a
        property test holds it to select())."""
        seen: set[int] = set()
        enough = True
        for req in requests:
            usable = self._usable(req, cells)
            ids = {id(c) for c in usable}
            if not seen.isdisjoint(ids):
                return None
            seen |= ids
            enough = enough and sum(c.count for c in usable) >= req.count
        return enough

    def _usable(
        self, req: PciRequest, cells: frozenset[int] | None
    ) -> list[_Cell]:
        """The non-empty pools ``req`` could take from."""
        alts = req.spec
        pool_cells: Iterable[_Cell] = self._all
        if len(alts) == 1 and alts[0].physical_network is not None:
            pool_cells = self._by_physnet.get(alts[0].physical_network, ())
        return [
            c
            for c in pool_cells
            if c.count
            and any(
                a.required <= c.items and a.forbidden.isdisjoint(c.items)
                for a in alts
            )
            and numa_allows(req.numa_policy, cells, c.numa_node)
        ]

    def _quick(self, req: PciRequest, cells: frozenset[int] | None) -> bool:
        # The scheduler's hot path: one request, no filter chain, no
        # allocation beyond the loop.  Equivalent to select() (a property
        # test holds them together).
        policy = req.numa_policy
        need = req.count
        alts = req.spec
        if len(alts) == 1:
            alt = alts[0]
            pool_cells = (
                self._all
                if alt.physical_network is None
                else self._by_physnet.get(alt.physical_network, ())
            )
            required, forbidden = alt.required, alt.forbidden
            for c in pool_cells:
                if (
                    c.count
                    and required <= c.items
                    and forbidden.isdisjoint(c.items)
                    and numa_allows(policy, cells, c.numa_node)
                ):
                    need -= c.count
                    if need <= 0:
                        return True
            return False
        return sum(c.count for c in self._usable(req, cells)) >= need

    def select(
        self,
        requests: Iterable[PciRequest],
        numa_cells: Iterable[int] | None = None,
        prefer: Callable[[PoolKey], bool] | None = None,
    ) -> list[Selection]:
        """Pick pools for every request jointly, without changing counts.

        Requests are served in order, each seeing what the earlier ones
        took.  Raises :class:`~sriovirt.exception.PciRequestUnsatisfiable`
        naming the request and the first stage that left no pool.

        ``prefer`` (the tracker's): pools it says yes to are taken from
        before the others, after any NUMA preference of the request;
        which pools can serve is unchanged, so ``support`` still holds.
        """
        ctx = filters.FilterContext(
            None if numa_cells is None else frozenset(numa_cells)
        )
        order = self._sorted()
        if prefer is not None:
            # Stable: the sorted order within each class.  The filters
            # sort stably too, so a NUMA preference stays first.
            order = sorted(order, key=lambda c: not prefer(c.key))
        taken: dict[PoolKey, int] = {}
        out: list[Selection] = []
        for req in requests:
            cands = self._candidates(req, taken, ctx, order)
            out.append(Selection(req, _take(cands, req.count, taken)))
        return out

    def _candidates(
        self,
        req: PciRequest,
        taken: Mapping[PoolKey, int],
        ctx: filters.FilterContext,
        order: Sequence[_Cell],
    ) -> list[filters.Candidate]:
        """The pools left for ``req`` after every filter, in order.

        Raises :class:`~sriovirt.exception.PciRequestUnsatisfiable`
        naming the first stage that left none.
        """
        cands = [
            filters.Candidate(
                c.key,
                c.count - taken.get(c.key, 0),
                req.spec,
                taken.get(c.key, 0),
            )
            for c in order
        ]
        if not cands:
            raise exception.PciRequestUnsatisfiable(
                request_id=req.request_id,
                reason=f"{req.describe()}: the host has no whitelisted "
                "PCI devices",
                stage=filters.STAGE_COUNT,
            )
        # Pools at zero stay candidates: the filters then name the
        # criterion, and an emptied pool is explained by the count
        # stage (in use, taken earlier, or the PF/VF rule), which a
        # blanket "no free devices" would hide.
        for flt in filters.POOL_FILTERS:
            narrowed = flt.select(cands, req, ctx)
            if not narrowed:
                raise exception.PciRequestUnsatisfiable(
                    request_id=req.request_id,
                    reason=f"{req.describe()}: "
                    + flt.explain(cands, req, ctx),
                    stage=flt.stage,
                )
            cands = narrowed
        return cands

    def apply(
        self,
        requests: Iterable[PciRequest],
        numa_cells: Iterable[int] | None = None,
    ) -> list[Selection]:
        """Reserve devices for every request (all or nothing).

        Returns what was taken, which :meth:`release` gives back.
        """
        selections = self.select(requests, numa_cells)
        for sel in selections:
            for key, n in sel.takes:
                self.adjust(key, -n)
        return selections

    def release(self, selections: Iterable[Selection]) -> None:
        """Give back what :meth:`apply` took."""
        for sel in selections:
            for key, n in sel.takes:
                self.adjust(key, n)

    # --- JSON (the stored form: pool_json) ------------------------------

    def to_json(self) -> str:
        """Deterministic JSON list of the non-empty pools."""
        return pool_json.dump(self.pools)

    @classmethod
    def from_json(
        cls,
        text: str,
        *,
        source: str = "JSON",
        keys: PoolKeyCache | None = None,
    ) -> PciStats:
        """Parse :meth:`to_json` output; :class:`InvalidPciStats` if bad.

        ``keys`` (the scheduler's, shared by every host it reads): pool
        keys already parsed, by their JSON identity, so a key seen on one
        host is not validated and built again for the next; every
        count is still checked.
        """
        if keys is not None:
            known = cls.from_stored(text, keys)
            if known is not None:
                return known
        stats = cls()
        for index, (key, count) in enumerate(
            pool_json.load(text, source, keys)
        ):
            if key in stats._cells:
                raise exception.InvalidPciStats(
                    source=f"{source} pool #{index}",
                    reason=f"duplicate pool {key}",
                )
            stats._add_new(key, count)
        if keys is not None and type(text) is str:
            keys.remember_canonical(text, [c.key for c in stats._all])
        return stats

    @classmethod
    def from_stored(cls, text: object, keys: PoolKeyCache) -> PciStats | None:
        """What :meth:`from_json` gives for ``text`` when it is in
        :meth:`to_json`'s form and made only of pools ``keys`` has seen
        in a full parse (no JSON decoding, no dicts: most hosts of a
        scheduler); None otherwise (then :meth:`from_json` decides)."""
        if type(text) is not str:
            return None
        pools = keys.canonical(text)
        if pools is None:
            return None
        stats = cls()
        cells = stats._cells
        by_physnet = stats._by_physnet
        every = stats._all
        for key, count in pools:
            # _add_new, inlined: most hosts of a decision come this way.
            cell = _Cell(key, count)
            if cells.setdefault(key, cell) is not cell:
                return None  # a duplicate: the full parse names it
            nets = by_physnet.get(key.physical_network)
            if nets is None:
                by_physnet[key.physical_network] = [cell]
            else:
                nets.append(cell)
            every.append(cell)
        return stats

    def _add_new(self, key: PoolKey, count: int) -> None:
        """A new key of a checked count: what adjust() would do, without
        its lookups (the scheduler reads every host)."""
        cell = _Cell(key, count)
        self._cells[key] = cell
        nets = self._by_physnet.get(key.physical_network)
        if nets is None:
            self._by_physnet[key.physical_network] = [cell]
        else:
            nets.append(cell)
        self._all.append(cell)


def _own_networks(requests: Sequence[PciRequest]) -> bool:
    """Every request has one alternative, on a physical network no
    other request names (the ports of a boot, one per network)."""
    seen: set[str] = set()
    for req in requests:
        alts = req.spec
        if len(alts) != 1:
            return False
        net = alts[0].physical_network
        if net is None or net in seen:
            return False
        seen.add(net)
    return True


def _take(
    cands: Sequence[filters.Candidate], need: int, taken: dict[PoolKey, int]
) -> tuple[tuple[PoolKey, int], ...]:
    """Take ``need`` devices from the candidates in order; note ``taken``."""
    takes: list[tuple[PoolKey, int]] = []
    for cand in cands:
        n = min(need, cand.free)
        if n <= 0:
            continue
        taken[cand.key] = taken.get(cand.key, 0) + n
        takes.append((cand.key, n))
        need -= n
        if need == 0:
            break
    return tuple(takes)
