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
:meth:`PciStats.from_json` with a :class:`PoolKeyCache` reads a stored
text made of pools it has already parsed in full without decoding JSON
(the scheduler reads every candidate host's pools per decision).

This module must not know about individual devices or their PF/VF
relations (that is the tracker's job): it only counts.  It is over the
usual size because the fast paths of ``support`` and the joint
``select`` must stay beside each other (the property tests hold them to
one another) and share the pool index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from sriovirt import exception
from sriovirt.pci import filters
from sriovirt.pci.device import DevType, hex_id
from sriovirt.pci.filters import numa_allows
from sriovirt.pci.pool import Pool, PoolKey, Selection
from sriovirt.pci.request import PciRequest

# The pool values live in pool.py (stats, filters and the tracker share
# them); they are re-exported because callers met them here first.
__all__ = ["PciStats", "Pool", "PoolKey", "PoolKeyCache", "Selection"]

_POOL_FIELDS: Final = frozenset(
    {"vendor_id", "product_id", "numa_node", "count", "tags"}
)


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

    # --- JSON -------------------------------------------------------------

    def to_json(self) -> str:
        """Deterministic JSON list of the non-empty pools."""
        return json.dumps(
            [
                {
                    "vendor_id": p.key.vendor_id,
                    "product_id": p.key.product_id,
                    "numa_node": p.key.numa_node,
                    "count": p.count,
                    "tags": p.key.tag_dict(),
                }
                for p in self.pools
            ],
            sort_keys=True,
        )

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
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise exception.InvalidPciStats(
                source=source, reason=f"not JSON: {exc}"
            ) from None
        if not isinstance(data, list):
            raise exception.InvalidPciStats(
                source=source, reason="expected a JSON list of pools"
            )
        stats = cls()
        cells = stats._cells
        by_physnet = stats._by_physnet
        every = stats._all
        for index, entry in enumerate(data):
            key = None if keys is None else keys.known(entry)
            if key is None:
                key, count = _parse_pool(entry, f"{source} pool #{index}")
                if keys is not None:
                    keys.remember(entry, key)
            else:
                count = entry["count"]
                if type(count) is not int or count < 0:
                    raise exception.InvalidPciStats(
                        source=f"{source} pool #{index}",
                        reason=f"count {count!r} is not a non-negative "
                        "integer",
                    )
            if key in cells:
                raise exception.InvalidPciStats(
                    source=f"{source} pool #{index}",
                    reason=f"duplicate pool {key}",
                )
            # A new key of a checked count: what adjust() would do,
            # without its lookups (the scheduler reads every host).
            cell = _Cell(key, count)
            cells[key] = cell
            by_physnet.setdefault(key.physical_network, []).append(cell)
            every.append(cell)
        if keys is not None and type(text) is str:
            keys.remember_canonical(text, [c.key for c in every])
        return stats

    @classmethod
    def from_stored(cls, text: object, keys: PoolKeyCache) -> PciStats | None:
        """What :meth:`from_json` gives for ``text`` when it is in
        :meth:`to_json`'s form and made only of pools ``keys`` has seen
        in a full parse (no JSON decoding, no dicts: most hosts of a
        scheduler); None otherwise (then :meth:`from_json` decides)."""
        if type(text) is not str:
            return None
        stats = cls()
        return stats if stats._fill_canonical(text, keys) else None

    def _fill_canonical(self, text: str, keys: PoolKeyCache) -> bool:
        """Add the pools of ``text`` to this empty stats when it is in
        :meth:`to_json`'s form and ``keys`` knows every pool's text
        (:meth:`PoolKeyCache.canonical` says what that proves); False
        otherwise (also for a duplicate pool), leaving this half-filled
        for the caller to drop."""
        if not text.startswith(_HEAD) or not text.endswith(_TAIL):
            return text == "[]"
        by_text = keys._by_text
        cells = self._cells
        by_physnet = self._by_physnet
        every = self._all
        for piece in text[len(_HEAD) : -len(_TAIL)].split(_SEP):
            count_text, _, rest = piece.partition(", ")
            key = by_text.get(rest)
            if key is None:
                return False
            count = _SMALL_COUNTS.get(count_text)
            if count is None:
                if not _count_text(count_text):
                    return False
                count = int(count_text)
            cell = _Cell(key, count)
            if cells.setdefault(key, cell) is not cell:
                return False  # a duplicate: the full parse names it
            nets = by_physnet.get(key.physical_network)
            if nets is None:
                by_physnet[key.physical_network] = [cell]
            else:
                nets.append(cell)
            every.append(cell)
        return True


#: The stored form as :meth:`PciStats.to_json` writes it (sorted keys,
#: ``json.dumps``' separators): ``[{"count": N, <rest>}, ...]``.
_HEAD: Final = '[{"count": '
_SEP: Final = '}, {"count": '
_TAIL: Final = "}]"
_STR: Final = r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
#: What follows a pool's count in that form: exactly the other four
#: fields, in order, strings as JSON spells them.  A text cut at _SEP
#: whose every piece is ``<count>, <this>`` is therefore a JSON list of
#: pools whose entries are those pieces, in order.
_REST: Final = re.compile(
    rf'"numa_node": (?:null|0|[1-9][0-9]*), "product_id": {_STR}, '
    rf'"tags": \{{(?:{_STR}: {_STR}(?:, {_STR}: {_STR})*)?\}}, '
    rf'"vendor_id": {_STR}'
)
#: Longer counts go through json.loads (and its digit limit).
_COUNT_DIGITS: Final = 18
#: Counts as to_json() spells them, for the common ones: one lookup.
_SMALL_COUNTS: Final = {str(n): n for n in range(4096)}


def _count_text(text: str) -> bool:
    """``text`` is a JSON non-negative integer as json.dumps writes it."""
    return (
        0 < len(text) <= _COUNT_DIGITS
        and text.isascii()
        and text.isdigit()
        and (text[0] != "0" or text == "0")
    )


class PoolKeyCache:
    """Pool keys by the JSON that describes them, for
    :meth:`PciStats.from_json` over many hosts.

    The identity is every field but ``count``.  Only plain entries are
    cached (string ids and tags, an integer or null NUMA node: JSON
    ``true`` never passes for ``1``); any other entry is parsed, and
    reported, in full.

    Pools stored in :meth:`PciStats.to_json`'s form are also known by
    the text after their count, once a full parse has read them
    (:meth:`remember_canonical`); a later text made only of known pools
    is read by :meth:`canonical` with one ``str.split`` and a lookup per
    pool, without decoding JSON (a third of the cost).  Any other text,
    or one with a pool never parsed in full, goes through the full
    parse, so the values and the errors are the full parse's.
    """

    __slots__ = ("_by_text", "_keys")

    def __init__(self) -> None:
        self._keys: dict[object, PoolKey] = {}
        self._by_text: dict[str, PoolKey] = {}

    def canonical(self, text: str) -> list[tuple[PoolKey, int]] | None:
        """``(key, count)`` of each pool of ``text`` in order, when it is
        in the stored form and every pool's text is known; else None.

        Sound because a remembered text is one pool's fields after its
        count exactly as a full parse read them (``_REST``, checked
        then): a text that splits at ``_SEP`` into ``<count>, <known>``
        pieces is the JSON list of those pools, whose keys do not
        depend on the counts."""
        stats = PciStats()
        if not stats._fill_canonical(text, self):
            return None
        return [(c.key, c.count) for c in stats._all]

    def remember_canonical(self, text: str, keys: Sequence[PoolKey]) -> None:
        """Note the text of each pool of ``text``, which a full parse
        read as ``keys`` (in order), when ``text`` is in the stored
        form throughout; otherwise note nothing."""
        if not text.startswith(_HEAD) or not text.endswith(_TAIL):
            return
        pieces = text[len(_HEAD) : -len(_TAIL)].split(_SEP)
        if len(pieces) != len(keys):
            return
        found: list[tuple[str, PoolKey]] = []
        for piece, key in zip(pieces, keys, strict=True):
            count, _, rest = piece.partition(", ")
            if not _count_text(count) or not _REST.fullmatch(rest):
                return
            found.append((rest, key))
        self._by_text.update(found)

    @staticmethod
    def _identity(entry: object) -> object | None:
        # Only plain pools are cached: strings, and an int or null NUMA
        # node (bool is not int here: JSON true never passes for 1, and
        # every part hashes, so a lookup cannot raise).
        if type(entry) is not dict or entry.keys() != _POOL_FIELDS:
            return None
        tags = entry["tags"]
        vendor = entry["vendor_id"]
        product = entry["product_id"]
        numa = entry["numa_node"]
        if (
            type(tags) is not dict
            or type(vendor) is not str
            or type(product) is not str
            or (numa is not None and type(numa) is not int)
        ):
            return None
        items = tuple(tags.items())
        for _, value in items:
            if type(value) is not str:
                return None
        return (vendor, product, numa, items)

    def known(self, entry: object) -> PoolKey | None:
        ident = self._identity(entry)
        return None if ident is None else self._keys.get(ident)

    def remember(self, entry: object, key: PoolKey) -> None:
        ident = self._identity(entry)
        if ident is not None:
            self._keys[ident] = key

    def __len__(self) -> int:
        return len(self._keys)


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


def _parse_pool(entry: object, where: str) -> tuple[PoolKey, int]:
    def bad(reason: str) -> exception.InvalidPciStats:
        return exception.InvalidPciStats(source=where, reason=reason)

    if not isinstance(entry, Mapping):
        raise bad(f"{entry!r} is not a JSON object")
    keys = set(entry)
    if missing := _POOL_FIELDS - keys:
        raise bad(f"missing {', '.join(sorted(missing))}")
    if unknown := keys - _POOL_FIELDS:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
    vendor, product = (hex_id(entry[f]) for f in ("vendor_id", "product_id"))
    if vendor is None or product is None:
        field = "vendor_id" if vendor is None else "product_id"
        raise bad(f"{field} {entry[field]!r} is not a 4-digit hex id")
    numa = entry["numa_node"]
    if numa is not None and (type(numa) is not int or numa < 0):
        raise bad(f"numa_node {numa!r} is not a non-negative integer")
    count = entry["count"]
    if type(count) is not int or count < 0:
        raise bad(f"count {count!r} is not a non-negative integer")
    dev_type, physnet, tags = _pool_tags(entry["tags"], bad)
    key = PoolKey(
        vendor_id=vendor,
        product_id=product,
        numa_node=numa,
        dev_type=dev_type,
        physical_network=physnet,
        tags=tags,
    )
    return key, count


def _pool_tags(
    raw: object, bad: Callable[[str], exception.InvalidPciStats]
) -> tuple[DevType, str | None, tuple[tuple[str, str], ...]]:
    """A pool's JSON ``tags``: dev_type, physical network, the others."""
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise bad(f"tags {raw!r} is not an object of strings")
    tags = dict(raw)
    try:
        dev_type = DevType(tags.pop("dev_type"))
    except KeyError:
        raise bad("tags has no dev_type") from None
    except ValueError:
        raise bad(f"dev_type {raw['dev_type']!r} is unknown") from None
    physnet = tags.pop("physical_network", None)
    return dev_type, physnet, tuple(sorted(tags.items()))
