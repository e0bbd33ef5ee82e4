"""PCI stats pools: counts, JSON, and support == apply (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.device import DevType
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats, Pool, PoolKey


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
