"""PCI stats pools: counts, JSON, support == apply, independent counts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.pool import Pool, PoolKey
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats, PoolKeyCache
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist


def key(
    physnet: str | None = "physnet1",
    dev_type: DevType = DevType.VF,
    numa: int | None = 0,
    **tags: str,
) -> PoolKey:
    return PoolKey(
        vendor_id="8086",
        product_id="154c",
        numa_node=numa,
        dev_type=dev_type,
        physical_network=physnet,
        tags=tuple(sorted(tags.items())),
    )


def test_pool_key_items_and_hash() -> None:
    k = key(trusted="true")
    assert ("physical_network", "physnet1") in k.items
    assert ("trusted", "true") in k.items
    assert ("dev_type", "type-VF") in k.items
    assert hash(k) == hash(key(trusted="true"))
    assert k == key(trusted="true")
    assert k != key(trusted="false")


def test_zero_count_pools_are_not_reported() -> None:
    stats = PciStats()
    stats.adjust(key(), 2)
    stats.adjust(key("physnet2"), 1)
    stats.adjust(key("physnet2"), -1)
    assert stats.pools == (Pool(key(), 2),)
    assert "physnet2" not in stats.to_json()
    with pytest.raises(exception.InvalidPciStats):
        stats.adjust(key(), -3)


def test_to_json_is_deterministic_and_shaped() -> None:
    a = PciStats([Pool(key("b", numa=None), 1), Pool(key("a"), 2)])
    b = PciStats([Pool(key("a"), 2), Pool(key("b", numa=None), 1)])
    assert a.to_json() == b.to_json()
    assert json.loads(a.to_json()) == [
        {
            "count": 2,
            "numa_node": 0,
            "product_id": "154c",
            "tags": {"dev_type": "type-VF", "physical_network": "a"},
            "vendor_id": "8086",
        },
        {
            "count": 1,
            "numa_node": None,
            "product_id": "154c",
            "tags": {"dev_type": "type-VF", "physical_network": "b"},
            "vendor_id": "8086",
        },
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not JSON"),
        ('{"a": 1}', "expected a JSON list of pools"),
        ("[1]", "pool #0: 1 is not a JSON object"),
        ('[{"vendor_id": "8086"}]', "missing count, numa_node, product_id"),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": 0,'
            ' "count": 1, "tags": {"dev_type": "type-VF"}, "x": 1}]',
            "unknown key(s) x",
        ),
        (
            '[{"vendor_id": "80g6", "product_id": "154c", "numa_node": 0,'
            ' "count": 1, "tags": {"dev_type": "type-VF"}}]',
            "vendor_id '80g6' is not a 4-digit hex id",
        ),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": -1,'
            ' "count": 1, "tags": {"dev_type": "type-VF"}}]',
            "numa_node -1 is not a non-negative integer",
        ),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": 0,'
            ' "count": "1", "tags": {"dev_type": "type-VF"}}]',
            "count '1' is not a non-negative integer",
        ),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": 0,'
            ' "count": 1, "tags": {}}]',
            "tags has no dev_type",
        ),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": 0,'
            ' "count": 1, "tags": {"dev_type": "VF"}}]',
            "dev_type 'VF' is unknown",
        ),
        (
            '[{"vendor_id": "8086", "product_id": "154c", "numa_node": 0,'
            ' "count": 1, "tags": {"dev_type": "type-VF", "t": true}}]',
            "is not an object of strings",
        ),
    ],
)
def test_from_json_errors(text: str, fragment: str) -> None:
    with pytest.raises(exception.InvalidPciStats) as err:
        PciStats.from_json(text, source="node n1")
    assert "node n1" in str(err.value)
    assert fragment in str(err.value)


def test_from_json_duplicate_pool() -> None:
    one = PciStats([Pool(key(), 1)]).to_json()
    doubled = json.dumps(json.loads(one) * 2)
    with pytest.raises(exception.InvalidPciStats, match="duplicate pool"):
        PciStats.from_json(doubled)


# --- hypothesis ------------------------------------------------------------

PHYSNETS = st.sampled_from(["p1", "p2", None])
keys = st.builds(
    PoolKey,
    vendor_id=st.just("8086"),
    product_id=st.sampled_from(["154c", "1572"]),
    numa_node=st.sampled_from([0, 1, None]),
    dev_type=st.sampled_from(list(DevType)),
    physical_network=PHYSNETS,
    tags=st.lists(
        st.sampled_from(
            [
                ("trusted", "true"),
                ("trusted", "false"),
                ("remote_managed", "true"),
                ("color", "red"),
            ]
        ),
        unique_by=lambda kv: kv[0],
        max_size=2,
    ).map(lambda kvs: tuple(sorted(kvs))),
)
pool_lists = st.dictionaries(keys, st.integers(0, 3), max_size=6)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, object]:
    spec: dict[str, object] = {}
    physnet = draw(PHYSNETS)
    if physnet is not None:
        spec["physical_network"] = physnet
    if draw(st.booleans()):
        spec["dev_type"] = draw(st.sampled_from(list(DevType))).value
    if draw(st.booleans()):
        spec["product_id"] = draw(st.sampled_from(["154c", "1572"]))
    for tag in ("trusted", "remote_managed"):
        if draw(st.booleans()):
            spec[tag] = draw(st.booleans())
    return spec


requests = st.builds(
    lambda count, spec, policy: PciRequest(
        count=count, spec=spec, numa_policy=policy
    ),
    st.integers(1, 4),
    st.lists(specs(), min_size=1, max_size=2),
    st.sampled_from([None, "required", "legacy", "preferred", "socket"]),
)
cells = st.one_of(st.none(), st.sets(st.sampled_from([0, 1]), max_size=2))


def make(pools: dict[PoolKey, int]) -> PciStats:
    return PciStats(Pool(k, n) for k, n in pools.items())


@given(pool_lists, st.lists(requests, min_size=1, max_size=3), cells)
def test_support_iff_apply_and_release_restores(
    pools: dict[PoolKey, int],
    reqs: list[PciRequest],
    numa: set[int] | None,
) -> None:
    stats = make(pools)
    before = stats.pools
    supported = stats.support(reqs, numa)
    assert stats.pools == before  # support never mutates
    try:
        taken = stats.apply(reqs, numa)
    except exception.PciRequestUnsatisfiable as exc:
        assert not supported
        assert exc.stage in {
            "spec",
            "device_type",
            "remote_managed",
            "trusted",
            "numa",
            "count",
        }
        assert stats.pools == before  # all or nothing
        return
    assert supported
    assert stats.total() == sum(before_p.count for before_p in before) - sum(
        r.count for r in reqs
    )
    for sel, req in zip(taken, reqs, strict=True):
        assert sum(n for _, n in sel.takes) == req.count
    stats.release(taken)
    assert stats.pools == before


@given(pool_lists, requests, cells)
def test_quick_path_agrees_with_filter_chain(
    pools: dict[PoolKey, int], req: PciRequest, numa: set[int] | None
) -> None:
    stats = make(pools)
    try:
        stats.select([req], numa)
        chain = True
    except exception.PciRequestUnsatisfiable:
        chain = False
    assert stats.support([req], numa) is chain


@given(pool_lists)
def test_json_round_trip(pools: dict[PoolKey, int]) -> None:
    stats = make(pools)
    text = stats.to_json()
    again = PciStats.from_json(text)
    assert again == stats
    assert again.to_json() == text
    assert all(p.count > 0 for p in again.pools)
    assert len(json.loads(text)) == sum(1 for n in pools.values() if n)


# --- Independent counts ------------------------------------------------------
#
# The properties above compare PciStats with itself (support vs apply).
# These compute what the answer must be from the raw inputs, with the
# documented rules written out again here, never through SpecAlternative,
# pool items or the filter chain.


def _alt_allows(alt: dict[str, object], k: PoolKey) -> bool:
    """May a pool with key ``k`` serve one raw spec alternative?"""
    for name, have in (
        ("physical_network", k.physical_network),
        ("dev_type", k.dev_type.value),
        ("product_id", k.product_id),
    ):
        if name in alt and alt[name] != have:
            return False
    tags = dict(k.tags)
    # PF pools serve only requests asking for a PF.
    if k.dev_type is DevType.PF and alt.get("dev_type") != "type-PF":
        return False
    # remote_managed pools serve only requests asking for them, and such
    # requests only them.
    if (alt.get("remote_managed") is True) != (
        tags.get("remote_managed") == "true"
    ):
        return False
    # trusted=true requests need trusted pools.
    return alt.get("trusted") is not True or tags.get("trusted") == "true"


def _numa_allows(
    policy: str | None, cells: set[int] | None, node: int | None
) -> bool:
    if cells is None or policy == "preferred" or node in cells:
        return True
    # legacy (the default): pools without NUMA affinity serve anyone.
    return node is None and policy in (None, "legacy")


def _eligible(
    pools: dict[PoolKey, int],
    spec: list[dict[str, object]],
    policy: str | None,
    cells: set[int] | None,
) -> dict[PoolKey, int]:
    return {
        k: n
        for k, n in pools.items()
        if n > 0
        and _numa_allows(policy, cells, k.numa_node)
        and any(_alt_allows(alt, k) for alt in spec)
    }


# Few distinct values, so that pools differing in one rule only (trusted,
# remote_managed, PF, NUMA) meet the same request often.
dense_keys = st.builds(
    PoolKey,
    vendor_id=st.just("8086"),
    product_id=st.just("154c"),
    numa_node=st.sampled_from([0, 1, None]),
    dev_type=st.sampled_from(list(DevType)),
    physical_network=st.sampled_from(["p1", None]),
    tags=st.sampled_from(
        [
            (),
            (("trusted", "true"),),
            (("trusted", "false"),),
            (("remote_managed", "true"),),
            (("remote_managed", "true"), ("trusted", "true")),
        ]
    ),
)


@st.composite
def dense_specs(draw: st.DrawFn) -> dict[str, object]:
    spec: dict[str, object] = {}
    if draw(st.booleans()):
        spec["physical_network"] = "p1"
    if draw(st.booleans()):
        spec["dev_type"] = draw(st.sampled_from(list(DevType))).value
    for tag in ("trusted", "remote_managed"):
        if draw(st.booleans()):
            spec[tag] = draw(st.booleans())
    return spec


@given(
    st.dictionaries(dense_keys, st.integers(0, 3), max_size=6),
    st.integers(1, 4),
    st.lists(dense_specs(), min_size=1, max_size=2),
    st.sampled_from([None, "required", "legacy", "preferred", "socket"]),
    cells,
)
def test_one_request_is_supported_iff_enough_eligible_devices(
    pools: dict[PoolKey, int],
    count: int,
    spec: list[dict[str, object]],
    policy: str | None,
    numa: set[int] | None,
) -> None:
    eligible = _eligible(pools, spec, policy, numa)
    enough = sum(eligible.values()) >= count
    stats = make(pools)
    req = PciRequest(count=count, spec=spec, numa_policy=policy)
    assert stats.support([req], numa) is enough
    if not enough:
        with pytest.raises(exception.PciRequestUnsatisfiable):
            stats.apply([req], numa)
        assert stats.pools == make(pools).pools
        return
    (taken,) = stats.apply([req], numa)
    # Every device taken comes from an eligible pool, no pool gives more
    # than it had, and the counts left are the counts minus the takes.
    took: dict[PoolKey, int] = {}
    for k, n in taken.takes:
        assert k in eligible, (k, spec)
        took[k] = took.get(k, 0) + n
    assert sum(took.values()) == count
    assert all(took[k] <= eligible[k] for k in took)
    left = {p.key: p.count for p in stats.pools}
    expected = {
        k: n - took.get(k, 0) for k, n in pools.items() if n - took.get(k, 0)
    }
    assert left == expected


# A host of PFs with VFs and one GPU, seen through the tracker: the pools
# it publishes must count exactly the free whitelisted devices.

_ENTRIES = [
    {"vendor_id": "8086", "product_id": "154c", "physical_network": "p1"},
    {"address": "0000:81:00.0", "physical_network": "p2", "trusted": "yes"},
    {"product_id": "1572", "physical_network": "p1"},
    {"vendor_id": "*", "physical_network": None},
]


def _host(shape: list[tuple[int, int | None]]) -> list[HostPciDevice]:
    devs = []
    for n, (n_vfs, numa) in enumerate(shape):
        pf = PciAddress(0, 0x81 + n, 0, 0)
        devs.append(
            HostPciDevice(
                address=pf,
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=numa,
            )
        )
        devs.extend(
            HostPciDevice(
                address=PciAddress(0, 0x81 + n, 2, i),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=pf,
                numa_node=numa,
            )
            for i in range(n_vfs)
        )
    devs.append(
        HostPciDevice(
            address="0000:05:00.0",
            vendor_id="10de",
            product_id="1eb8",
            dev_type=DevType.PCI,
            numa_node=1,
        )
    )
    return devs


def _reference_entry(
    entries: list[dict[str, object]], dev: HostPciDevice
) -> dict[str, object] | None:
    pf_81 = PciAddress(0, 0x81, 0, 0)
    for entry in entries:
        if entry.get("vendor_id", "*") not in ("*", dev.vendor_id):
            continue
        if entry.get("product_id", "*") not in ("*", dev.product_id):
            continue
        if "address" in entry and pf_81 not in (
            dev.address,
            dev.parent_addr,
        ):
            continue
        return entry
    return None


def _expected_pools(
    entries: list[dict[str, object]], free: list[HostPciDevice]
) -> dict[tuple[object, ...], int]:
    counts: dict[tuple[object, ...], int] = {}
    for dev in free:
        entry = _reference_entry(entries, dev)
        assert entry is not None
        tags = tuple(
            sorted(
                (name, "true" if value == "yes" else str(value))
                for name, value in entry.items()
                if name not in ("vendor_id", "product_id", "address")
                and name != "physical_network"
            )
        )
        k = (
            dev.vendor_id,
            dev.product_id,
            dev.numa_node,
            dev.dev_type.value,
            entry.get("physical_network"),
            tags,
        )
        counts[k] = counts.get(k, 0) + 1
    return counts


def _published(stats: PciStats) -> dict[tuple[object, ...], int]:
    return {
        (
            p.key.vendor_id,
            p.key.product_id,
            p.key.numa_node,
            p.key.dev_type.value,
            p.key.physical_network,
            p.key.tags,
        ): p.count
        for p in stats.pools
    }


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0, 1, None])),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.sampled_from(_ENTRIES), min_size=1, max_size=4, unique_by=id),
    st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from(
                [
                    {"physical_network": "p1"},
                    {"physical_network": "p2"},
                    {"dev_type": "type-PF"},
                    {"dev_type": "type-PF", "physical_network": "p1"},
                    {"vendor_id": "10de"},
                ]
            ),
        ),
        max_size=2,
    ),
)
def test_pools_count_the_free_whitelisted_devices(
    shape: list[tuple[int, int | None]],
    entries: list[dict[str, object]],
    asks: list[tuple[int, dict[str, object]]],
) -> None:
    devs = _host(shape)
    tracker = PciTracker(Whitelist.from_config([json.dumps(entries)]))
    tracker.sync(devs)
    tracked = [d for d in devs if _reference_entry(entries, d) is not None]
    assert _published(tracker.stats) == _expected_pools(entries, tracked)
    claimed: set[PciAddress] = set()
    for n, (count, spec) in enumerate(asks):
        try:
            got = tracker.claim(
                f"{n:08d}-0000-0000-0000-000000000000",
                [PciRequest(count=count, spec=[spec])],
            )
        except exception.PciRequestUnsatisfiable:
            continue
        claimed.update(d.address for d in got)
    # Free: not claimed, not a PF with a claimed VF, not a VF whose PF
    # is claimed (whitelisted relatives only: the tracker knows no other).
    tracked_addrs = {d.address for d in tracked}
    free = [
        d
        for d in tracked
        if d.address not in claimed
        and not (
            d.dev_type is DevType.PF
            and any(
                v.parent_addr == d.address and v.address in claimed
                for v in tracked
            )
        )
        and not (
            d.dev_type is DevType.VF
            and d.parent_addr in claimed
            and d.parent_addr in tracked_addrs
        )
    ]
    assert _published(tracker.stats) == _expected_pools(entries, free)


def test_free_counts_by_physical_network_and_type() -> None:
    def entry(net: str | None, dev_type: str, count: int) -> dict[str, object]:
        tags = {"dev_type": dev_type}
        if net:
            tags["physical_network"] = net
        return {
            "vendor_id": "8086",
            "product_id": "154c",
            "numa_node": None,
            "count": count,
            "tags": tags,
        }

    stats = PciStats.from_json(
        json.dumps(
            [
                entry("physnet1", "type-VF", 3),
                entry("physnet1", "type-PF", 1),
                entry("physnet2", "type-VF", 5),
                entry(None, "type-VF", 7),
            ]
        )
    )
    assert stats.free_on_physical_network("physnet1") == 4
    assert stats.free_on_physical_network("physnet1", DevType.VF) == 3
    assert stats.free_on_physical_network("physnet1", DevType.PF) == 1
    assert stats.free_on_physical_network("physnet9") == 0
    assert stats.free_of_type(DevType.VF) == 15
    assert stats.free_of_type(DevType.PCI) == 0


def _pool_entry(count: object = 2, numa: object = 0) -> dict[str, object]:
    return {
        "vendor_id": "8086",
        "product_id": "154c",
        "numa_node": numa,
        "count": count,
        "tags": {"dev_type": "type-VF", "physical_network": "physnet1"},
    }


def test_pool_key_cache_parses_each_key_once_and_checks_every_count() -> None:
    keys = PoolKeyCache()
    first = PciStats.from_json(json.dumps([_pool_entry(2)]), keys=keys)
    second = PciStats.from_json(json.dumps([_pool_entry(5)]), keys=keys)
    assert len(keys) == 1
    assert first.pools[0].key is second.pools[0].key
    assert second == PciStats.from_json(json.dumps([_pool_entry(5)]))
    for bad in (-1, "3", True, 1.0):
        with pytest.raises(
            exception.InvalidPciStats, match=r"pool #0: count .* is not a"
        ):
            PciStats.from_json(json.dumps([_pool_entry(bad)]), keys=keys)
    # JSON true is not NUMA node 1, though equal as dict keys.
    PciStats.from_json(json.dumps([_pool_entry(numa=1)]), keys=keys)
    with pytest.raises(exception.InvalidPciStats, match="numa_node True"):
        PciStats.from_json(json.dumps([_pool_entry(numa=True)]), keys=keys)
    # A duplicate pool is still one, cached or not.
    with pytest.raises(exception.InvalidPciStats, match="duplicate pool"):
        PciStats.from_json(
            json.dumps([_pool_entry(1), _pool_entry(2)]), keys=keys
        )
    # Entries that are not plain pools are parsed (and reported) in full.
    odd = _pool_entry()
    odd["tags"] = {"dev_type": "type-VF", "x": [1]}
    with pytest.raises(exception.InvalidPciStats, match="tags"):
        PciStats.from_json(json.dumps([odd]), keys=keys)
    assert len(keys) == 2


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["physnet1", "physnet2"]),
            st.integers(0, 5),
            st.sampled_from(["type-VF", "type-PF"]),
            st.sampled_from([None, 0, 1]),
        ),
        max_size=6,
        unique_by=lambda t: (t[0], t[2], t[3]),
    )
)
def test_pool_key_cache_gives_what_a_full_parse_gives(
    pools: list[tuple[str, int, str, int | None]],
) -> None:
    text = json.dumps(
        [
            {
                "vendor_id": "8086",
                "product_id": "154c",
                "numa_node": numa,
                "count": count,
                "tags": {"dev_type": dev_type, "physical_network": net},
            }
            for net, count, dev_type, numa in pools
        ]
    )
    keys = PoolKeyCache()
    once = PciStats.from_json(text, keys=keys)
    again = PciStats.from_json(text, keys=keys)
    assert once == again == PciStats.from_json(text)


def test_requests_on_separate_pools_are_decided_without_select(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two ports on different physical networks: the scheduler's common
    # multi-port case is answered per request, never by the joint select.
    stats = make({key("physnet1"): 2, key("physnet2"): 1})
    one = PciRequest(spec=[{"physical_network": "physnet1"}])
    two = PciRequest(spec=[{"physical_network": "physnet2"}])

    def joint(*args: object, **kwargs: object) -> object:
        raise AssertionError("select() ran for requests on separate pools")

    monkeypatch.setattr(PciStats, "select", joint)
    assert stats.support([one, two])
    both = PciRequest(count=2, spec=[{"physical_network": "physnet2"}])
    assert not stats.support([one, both])  # physnet2 has one
    # Requests sharing a pool still go through the joint decision.
    with pytest.raises(AssertionError, match="select"):
        stats.support([one, one])
