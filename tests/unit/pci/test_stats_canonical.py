"""PciStats' shortcuts give what the full paths give: the stored-form
read of from_json (pools, their order, the error text) and support()
for ports on their own networks (select()'s joint answer)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci import pool_json
from sriovirt.pci import stats as stats_module
from sriovirt.pci.device import DevType
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats, PoolKeyCache

SOURCE = "compute_nodes.pci_stats of h1 (u1)"

# Awkward strings on purpose: quotes, backslashes, non-ASCII, control
# characters and the very separators the shortcut splits at.
awkward = st.one_of(
    st.sampled_from(
        [
            "physnet1",
            'a"b',
            "a\\b",
            '}, {"count": 1, ',
            '", "x": "',
            "\u00e9\u2603",
            "\n\t",
            "",
        ]
    ),
    st.text(max_size=6),
)
dev_types = st.one_of(
    st.sampled_from([t.value for t in DevType]),
    st.sampled_from(["VF", ""]),
)


@st.composite
def entries(draw: st.DrawFn) -> object:
    """One pool entry, usually well formed, sometimes not."""
    tags: dict[str, object] = draw(
        st.dictionaries(awkward, awkward, max_size=2)
    )
    if draw(st.integers(0, 9)):
        tags["dev_type"] = draw(dev_types)
    if draw(st.booleans()):
        tags["physical_network"] = draw(awkward)
    entry: dict[str, object] = {
        "vendor_id": draw(st.sampled_from(["8086", "15b3", "80861", "x"])),
        "product_id": draw(st.sampled_from(["154c", "1572"])),
        "numa_node": draw(st.sampled_from([None, 0, 1, -1, True])),
        "count": draw(
            st.one_of(
                st.integers(0, 5000),
                st.integers(-2, 10**25),
                st.sampled_from([True, 1.5, "3"]),
            )
        ),
        "tags": tags,
    }
    if not draw(st.integers(0, 19)):
        entry["extra"] = 1
    if not draw(st.integers(0, 19)):
        del entry["count"]
    return entry


def _outcome(text: str, keys: PoolKeyCache | None) -> object:
    """What from_json gives: its pools in order, or its error text."""
    try:
        stats = PciStats.from_json(text, source=SOURCE, keys=keys)
    except exception.InvalidPciStats as exc:
        return ("error", str(exc))
    return [(c.key, c.count) for c in stats._all]


def _stored(pools: list[object]) -> str:
    # The form to_json writes (sorted keys, default separators).
    return json.dumps(pools, sort_keys=True)


@given(
    st.lists(entries(), max_size=5),
    st.lists(entries(), max_size=5),
    st.lists(st.integers(0, 10**20), max_size=5),
)
def test_shortcut_gives_the_full_parse_outcome(
    primer: list[object], pools: list[object], recount: list[int]
) -> None:
    keys = PoolKeyCache()
    _outcome(_stored(primer), keys)
    text = _stored(pools)
    assert _outcome(text, keys) == _outcome(text, None)
    # Same pools, other counts (what a scheduler meets host after
    # host): read by the shortcut when all were known, same outcome.
    _outcome(text, keys)
    for entry, count in zip(pools, recount, strict=False):
        if isinstance(entry, dict) and "count" in entry:
            entry["count"] = count
    again = _stored(pools)
    full = _outcome(again, None)
    assert _outcome(again, keys) == full
    if isinstance(full, list) and all(n < 10**18 for _, n in full):
        # The shortcut did read it (it is not always falling back).
        assert keys.canonical(again) == full


@given(
    st.lists(entries(), min_size=1, max_size=4),
    st.data(),
)
def test_edited_text_gives_the_full_parse_outcome(
    pools: list[object], data: st.DataObject
) -> None:
    # Every pool known, then the text damaged: a character dropped,
    # replaced or added anywhere must not fool the shortcut.
    text = _stored(pools)
    keys = PoolKeyCache()
    _outcome(text, keys)
    at = data.draw(st.integers(0, len(text)))
    char = data.draw(st.sampled_from(list('{}[]",: \\0123x')))
    kind = data.draw(st.sampled_from(["drop", "replace", "add"]))
    if kind == "add":
        edited = text[:at] + char + text[at:]
    elif at == len(text):
        edited = text[:-1]
    else:
        tail = text[at + 1 :]
        edited = text[:at] + (char if kind == "replace" else "") + tail
    assert _outcome(edited, keys) == _outcome(edited, None)


def _pool(count: int, net: str = "physnet1") -> dict[str, object]:
    return {
        "vendor_id": "8086",
        "product_id": "154c",
        "numa_node": 0,
        "count": count,
        "tags": {"dev_type": "type-VF", "physical_network": net},
    }


def test_known_pools_are_read_without_decoding_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = PoolKeyCache()
    first = PciStats.from_json(
        _stored([_pool(3), _pool(1, "physnet2")]), keys=keys
    )

    def no_json(text: str) -> object:
        raise AssertionError(f"json.loads called on {text!r}")

    monkeypatch.setattr(pool_json.json, "loads", no_json)
    second = PciStats.from_json(
        _stored([_pool(128), _pool(0, "physnet2")]), keys=keys
    )
    vf1, vf2 = (c.key for c in first._all)
    assert [(c.key, c.count) for c in second._all] == [(vf1, 128), (vf2, 0)]
    assert second.free_on_physical_network("physnet1") == 128
    assert keys.canonical(_stored([_pool(7)])) == [(vf1, 7)]
    assert PciStats.from_json("[]", keys=keys).pools == ()
    # A pool never parsed in full is not read by the shortcut.
    assert keys.canonical(_stored([_pool(7, "physnet9")])) is None


def test_shortcut_still_names_a_duplicate_and_a_bad_count() -> None:
    keys = PoolKeyCache()
    PciStats.from_json(_stored([_pool(2)]), keys=keys)
    with pytest.raises(exception.InvalidPciStats, match="pool #1: dup"):
        PciStats.from_json(_stored([_pool(1), _pool(2)]), keys=keys)
    for count in ("01", "-1", "1.0", "1e3", "\u0661"):
        text = _stored([_pool(2)]).replace(": 2,", f": {count},")
        assert keys.canonical(text) is None
        failed = _outcome(text, keys)
        assert failed == _outcome(text, None)
        assert isinstance(failed, tuple)
        assert failed[0] == "error"


def test_pool_order_and_keys_are_the_full_parse_ones() -> None:
    keys = PoolKeyCache()
    text = _stored([_pool(1, "b"), _pool(2, "a"), _pool(0, "c")])
    PciStats.from_json(text, keys=keys)
    known = keys.canonical(text)
    assert known is not None
    assert [(k.physical_network, n) for k, n in known] == [
        ("b", 1),
        ("a", 2),
        ("c", 0),
    ]
    assert all(isinstance(k, PoolKey) for k, _ in known)


# --- ports on their own networks ------------------------------------------


def _port_request(net: str, count: int, dev_type: str) -> PciRequest:
    return PciRequest(
        count=count,
        spec=[{"physical_network": net, "dev_type": dev_type}],
        numa_policy=None,
    )


@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3"]),
            st.sampled_from([t.value for t in DevType]),
            st.sampled_from([0, 1, None]),
        ),
        st.integers(0, 3),
        max_size=6,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3"]),
            st.integers(1, 4),
            st.sampled_from([t.value for t in DevType]),
        ),
        min_size=2,
        max_size=3,
        unique_by=lambda r: r[0],
    ),
    st.one_of(st.none(), st.sets(st.sampled_from([0, 1]), max_size=2)),
)
def test_ports_on_their_own_networks_are_decided_as_select_does(
    pools: dict[tuple[str, str, int | None], int],
    ports: list[tuple[str, int, str]],
    numa: set[int] | None,
) -> None:
    # support() decides each port alone when every request names its
    # own network; select() (the joint answer) must agree.
    stats = PciStats.from_json(
        _stored(
            [
                {
                    "vendor_id": "8086",
                    "product_id": "154c",
                    "numa_node": node,
                    "count": count,
                    "tags": {"dev_type": dev, "physical_network": net},
                }
                for (net, dev, node), count in pools.items()
            ]
        )
    )
    reqs = [_port_request(net, n, dev) for net, n, dev in ports]
    try:
        stats.select(reqs, numa)
        joint = True
    except exception.PciRequestUnsatisfiable:
        joint = False
    assert stats.support(reqs, numa) is joint
    assert stats_module._own_networks(reqs)
