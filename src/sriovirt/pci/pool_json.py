"""The stored form of PCI stats pools: the ``compute_nodes.pci_stats``
JSON, written by :func:`dump` and read by :func:`load`.

:func:`load` is the one full parser: every field checked, each bad pool
named by ``source`` and its index.  :class:`PoolKeyCache` (the
scheduler's, shared by every host it reads) remembers pool keys already
parsed, so a key seen on one host is not validated and built again; and
once a full parse has read a text in :func:`dump`'s exact form, a later
text made only of pools it knows is read by
:meth:`PoolKeyCache.canonical` without decoding JSON.

This module must not count or select (that is
:class:`~sriovirt.pci.stats.PciStats`'s job): it turns text into
``(PoolKey, count)`` pairs and back, in order, and leaves duplicate
pools to its caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final

from sriovirt import exception
from sriovirt.pci.device import DevType, hex_id
from sriovirt.pci.pool import Pool, PoolKey

_POOL_FIELDS: Final = frozenset(
    {"vendor_id", "product_id", "numa_node", "count", "tags"}
)


def dump(pools: Iterable[Pool]) -> str:
    """Deterministic JSON list of ``pools`` (sorted keys)."""
    return json.dumps(
        [
            {
                "vendor_id": p.key.vendor_id,
                "product_id": p.key.product_id,
                "numa_node": p.key.numa_node,
                "count": p.count,
                "tags": p.key.tag_dict(),
            }
            for p in pools
        ],
        sort_keys=True,
    )


def load(
    text: str, source: str, keys: PoolKeyCache | None = None
) -> Iterator[tuple[PoolKey, int]]:
    """``(key, count)`` of each pool of ``text``, in order, checked as
    it is reached (a caller that stops at a duplicate reports it before
    a later bad pool); :class:`~sriovirt.exception.InvalidPciStats`
    naming ``source`` and the pool's index when bad.  ``keys``: known
    pool keys, by their JSON identity (every count is still checked)."""
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
    for index, entry in enumerate(data):
        key = None if keys is None else keys.known(entry)
        if key is None:
            key, count = parse_pool(entry, f"{source} pool #{index}")
            if keys is not None:
                keys.remember(entry, key)
        else:
            count = entry["count"]
            if type(count) is not int or count < 0:
                raise exception.InvalidPciStats(
                    source=f"{source} pool #{index}",
                    reason=f"count {count!r} is not a non-negative integer",
                )
        yield key, count


#: The stored form as :func:`dump` writes it (sorted keys,
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
    :meth:`PciStats.from_json
    <sriovirt.pci.stats.PciStats.from_json>` over many hosts.

    The identity is every field but ``count``.  Only plain entries are
    cached (string ids and tags, an integer or null NUMA node: JSON
    ``true`` never passes for ``1``); any other entry is parsed, and
    reported, in full.

    Pools stored in :func:`dump`'s form are also known by
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
        depend on the counts.  Duplicates are the caller's to find."""
        if not text.startswith(_HEAD) or not text.endswith(_TAIL):
            return [] if text == "[]" else None
        by_text = self._by_text
        pools: list[tuple[PoolKey, int]] = []
        for piece in text[len(_HEAD) : -len(_TAIL)].split(_SEP):
            count_text, _, rest = piece.partition(", ")
            key = by_text.get(rest)
            if key is None:
                return None
            count = _SMALL_COUNTS.get(count_text)
            if count is None:
                if not _count_text(count_text):
                    return None
                count = int(count_text)
            pools.append((key, count))
        return pools

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


def parse_pool(entry: object, where: str) -> tuple[PoolKey, int]:
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
