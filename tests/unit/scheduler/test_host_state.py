"""Placement's allocation candidates as values; pools read per host."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.scheduler import host_state

ROOT_A, PF_A1, PF_A2 = "root-a", "pf-a1", "pf-a2"
ROOT_B = "root-b"


def body() -> dict[str, Any]:
    """The shape Placement 1.39 answers with (notes: one port group)."""
    return {
        "allocation_requests": [
            {
                "allocations": {
                    ROOT_A: {"resources": {"VCPU": 1, "MEMORY_MB": 64}},
                    PF_A1: {"resources": {"SRIOV_NET_VF": 1}},
                },
                "mappings": {"": [ROOT_A], "_PORT1": [PF_A1]},
            },
            {
                "allocations": {
                    ROOT_A: {"resources": {"VCPU": 1, "MEMORY_MB": 64}},
                    PF_A2: {"resources": {"SRIOV_NET_VF": 1}},
                },
                "mappings": {"": [ROOT_A], "_PORT1": [PF_A2]},
            },
            {
                "allocations": {
                    ROOT_B: {"resources": {"VCPU": 1, "MEMORY_MB": 64}}
                },
                "mappings": {"": [ROOT_B]},
            },
        ],
        "provider_summaries": {
            ROOT_A: {"root_provider_uuid": ROOT_A, "resources": {}},
            PF_A1: {"root_provider_uuid": ROOT_A, "resources": {}},
            PF_A2: {"root_provider_uuid": ROOT_A, "resources": {}},
            ROOT_B: {"root_provider_uuid": ROOT_B, "resources": {}},
        },
    }


def test_candidates_from_response_and_grouping() -> None:
    cands = host_state.candidates_from_response(body())
    assert [c.root_uuid for c in cands] == [ROOT_A, ROOT_A, ROOT_B]
    assert cands[0].mappings == {"": (ROOT_A,), "_PORT1": (PF_A1,)}
    assert cands[1].allocations[PF_A2] == {"SRIOV_NET_VF": 1}
    grouped = host_state.group_candidates(cands)
    assert list(grouped) == [ROOT_A, ROOT_B]
    assert grouped[ROOT_A] == cands[:2]


def test_root_from_any_provider_without_mappings() -> None:
    data = body()
    del data["allocation_requests"][0]["mappings"]
    data["allocation_requests"][0]["allocations"] = {
        PF_A1: {"resources": {"SRIOV_NET_VF": 1}}
    }
    (first, *_) = host_state.candidates_from_response(data)
    assert first.root_uuid == ROOT_A


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.pop("provider_summaries"), "expected allocation"),
        (
            lambda d: d["provider_summaries"][PF_A1].pop("root_provider_uuid"),
            "provider pf-a1 has no root_provider_uuid",
        ),
        (
            lambda d: d["allocation_requests"][2].update(allocations={}),
            "allocation request #2 has no allocations",
        ),
        (
            lambda d: d["allocation_requests"][0]["allocations"][PF_A1].update(
                resources={"SRIOV_NET_VF": "1"}
            ),
            "allocation request #0: provider pf-a1 has no resources",
        ),
        (
            lambda d: d["provider_summaries"].pop(ROOT_B),
            "allocation request #2: provider root-b has no summary",
        ),
    ],
)
def test_bad_responses_are_named(change: Any, match: str) -> None:
    data = body()
    change(data)
    with pytest.raises(exception.InvalidAllocationCandidates, match=match):
        host_state.candidates_from_response(data)


def test_load_host_pools_keeps_problems() -> None:
    pools = host_state.load_host_pools(
        {"u1": ("h1", "[]"), "u2": ("h2", None), "u3": ("h3", "[1]")}
    )
    assert pools["u1"].stats is not None and pools["u1"].problem is None
    assert pools["u2"].problem == "its compute node has no PCI pools recorded"
    assert pools["u3"].stats is None
    assert "compute_nodes.pci_stats of h3 (u3) pool #0" in str(
        pools["u3"].problem
    )


def test_pools_cache_parses_only_changed_rows() -> None:
    one = '[{"count": 2, "numa_node": 0, "product_id": "154c", "tags": '
    one += '{"dev_type": "type-VF", "physical_network": "physnet1"}, '
    one += '"vendor_id": "8086"}]'
    two = one.replace('"count": 2', '"count": 1')
    cache = host_state.PoolsCache()
    first = cache.load({"u1": ("h1", one), "u2": ("h2", one)})
    assert len(cache) == 2 and len(cache.keys) == 1
    # An equal but new text (as the next query returns) is reused.
    again = cache.load({"u1": ("h1", "".join(one)), "u2": ("h2", two)})
    assert again["u1"] is first["u1"]
    assert again["u2"] is not first["u2"]
    stats = again["u2"].stats
    assert stats is not None and stats.total() == 1
    # A renamed host or a row gone bad is read again.
    renamed = cache.load({"u1": ("h1-new", one), "u2": ("h2", "[")})
    assert renamed["u1"].host == "h1-new"
    assert renamed["u2"].stats is None
    assert "not JSON" in str(renamed["u2"].problem)
    # Without a cache every call parses afresh.
    fresh = host_state.load_host_pools({"u1": ("h1", one)})
    assert fresh["u1"] is not first["u1"]
    assert fresh["u1"].stats == first["u1"].stats


def test_hosts_with_known_pools_read_as_a_full_parse_and_problems_named() -> (
    None
):
    one = '[{"count": 2, "numa_node": 0, "product_id": "154c", "tags": '
    one += '{"dev_type": "type-VF", "physical_network": "physnet1"}, '
    one += '"vendor_id": "8086"}]'
    rows = {
        f"u{n}": (f"h{n}", one.replace('"count": 2', f'"count": {n}'))
        for n in range(5)
    }
    doubled = one[:-1] + ", " + one[1:]
    rows["u9"] = ("h9", doubled)
    pools = host_state.PoolsCache().load(rows)
    for n in range(5):
        stats = pools[f"u{n}"].stats
        assert stats is not None
        assert stats == host_state.load_host_pools(rows)[f"u{n}"].stats
        assert stats.free_on_physical_network("physnet1") == n
    # Every pool of h9 is known, but twice: the full parse names it.
    assert pools["u9"].stats is None
    assert "pci_stats of h9 (u9) pool #1" in str(pools["u9"].problem)
    assert "duplicate pool" in str(pools["u9"].problem)


def test_any_mapping_is_read_and_every_amount_is_checked() -> None:
    # Decoded JSON gives dicts, but any mapping is read the same way.
    data = body()
    data["allocation_requests"] = [
        MappingProxyType(
            {
                "allocations": MappingProxyType(
                    {ROOT_B: MappingProxyType({"resources": {"VCPU": 1}})}
                ),
                "mappings": MappingProxyType({"": [ROOT_B]}),
            }
        )
    ]
    (only,) = host_state.candidates_from_response(data)
    assert only.root_uuid == ROOT_B
    assert only.allocations == {ROOT_B: {"VCPU": 1}}
    # The second amount of a provider is checked too, not only the first.
    data = body()
    resources = data["allocation_requests"][1]["allocations"][ROOT_A]
    resources["resources"] = {"VCPU": 1, "MEMORY_MB": 64.0}
    with pytest.raises(
        exception.InvalidAllocationCandidates,
        match="request #1: provider root-a has no resources",
    ):
        host_state.candidates_from_response(data)
