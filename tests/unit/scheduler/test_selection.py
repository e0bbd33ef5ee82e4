"""Host filters, the free-VF weigher and host selection."""

from __future__ import annotations

import json
import uuid as uuid_lib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.network.values import VnicType
from sriovirt.pci.alias import parse_aliases
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats
from sriovirt.scheduler import filters, host_state, selection
from sriovirt.scheduler.placement_query import allocation_candidates_query
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec
from sriovirt.scheduler.weights import FreeVfWeigher
from tests.unit.scheduler.test_request_spec import port


def pool(
    physnet: str | None,
    count: int,
    dev_type: str = "type-VF",
    numa: int | None = 0,
    product: str = "154c",
) -> dict[str, object]:
    tags = {"dev_type": dev_type}
    if physnet is not None:
        tags["physical_network"] = physnet
    return {
        "vendor_id": "8086",
        "product_id": product,
        "numa_node": numa,
        "count": count,
        "tags": tags,
    }


def node(n: int) -> str:
    return str(uuid_lib.UUID(int=n + 1))


def setup(
    hosts: list[list[dict[str, object]] | str | None],
) -> tuple[
    list[host_state.AllocationCandidate], dict[str, host_state.HostPools]
]:
    rows: dict[str, tuple[str, str | None]] = {}
    cands = []
    for i, pools in enumerate(hosts):
        text = (
            pools
            if isinstance(pools, str) or pools is None
            else (json.dumps(pools))
        )
        rows[node(i)] = (f"host{i}", text)
        cands.append(host_state.AllocationCandidate(node(i)))
    return cands, host_state.load_host_pools(rows)


def spec_with(*ports_: tuple[str, VnicType, str], **kw: object) -> RequestSpec:
    return build_request_spec(
        vcpus=1,
        memory_mb=64,
        ports=[port(pid, vnic, net) for pid, vnic, net in ports_],
        **kw,  # type: ignore[arg-type]
    )


def select(
    spec: RequestSpec,
    hosts: list[list[dict[str, object]] | str | None],
    **kw: object,
) -> selection.HostSelection:
    cands, pools = setup(hosts)
    return selection.select_hosts(
        spec,
        cands,
        pools,
        query=allocation_candidates_query(spec, limit=50),
        **kw,  # type: ignore[arg-type]
    )


PHYSNET2 = ("p1", VnicType.DIRECT, "physnet2")


def test_pci_filter_keeps_hosts_whose_pools_fit() -> None:
    spec = spec_with(PHYSNET2)
    cands, pools = setup(
        [
            [pool("physnet2", 1)],
            [pool("physnet1", 8)],
            [pool("physnet2", 0), pool("physnet1", 3)],
            [pool("physnet2", 2, dev_type="type-PF")],
            [],
            None,
            "{not json",
        ]
    )
    states = host_state.host_states(host_state.group_candidates(cands), pools)
    result = filters.PciPassthroughFilter().filter_hosts(spec, states)
    assert [h.host for h in result.kept] == ["host0"]
    reasons = dict(result.removed)
    assert reasons[node(1)] == (
        "no free PCI device on physical network physnet2"
    )
    assert reasons[node(2)] == reasons[node(1)]
    # A PF pool is on the network but a VF port may not take a PF.
    assert reasons[node(3)] == (
        "PCI request 1 x (dev_type=type-VF, physical_network=physnet2): "
        "no pool matches it"
    )
    assert reasons[node(4)] == reasons[node(1)]
    assert reasons[node(5)] == "its compute node has no PCI pools recorded"
    assert reasons[node(6)].startswith(
        "Invalid PCI stats compute_nodes.pci_stats of host6 "
        f"({node(6)}): not JSON"
    )


def test_pci_filter_keeps_everything_without_pci_requests() -> None:
    spec = build_request_spec(vcpus=1, memory_mb=64)
    cands, pools = setup([None, [pool("physnet1", 1)]])
    states = host_state.host_states(host_state.group_candidates(cands), pools)
    result = filters.PciPassthroughFilter().filter_hosts(spec, states)
    assert [h.host for h in result.kept] == ["host0", "host1"]
    assert result.removed == ()


def test_pci_filter_counts_and_joint_requests() -> None:
    # Two ports on physnet1: a host with one free VF there cannot take
    # both, though each alone fits.
    spec = spec_with(
        ("a", VnicType.DIRECT, "physnet1"), ("b", VnicType.MACVTAP, "physnet1")
    )
    sel = select(spec, [[pool("physnet1", 1)], [pool("physnet1", 2)]])
    assert [h.host for h in sel.hosts] == ["host1"]
    (report,) = sel.reports
    assert report.removed == (
        (
            "PCI request 1 x (dev_type=type-VF, physical_network=physnet1): "
            "not enough free devices",
            1,
        ),
    )


def test_pci_filter_alias_requests() -> None:
    aliases = parse_aliases(
        ['{"name": "qat", "vendor_id": "8086", "product_id": "37c9"}']
    )
    spec = build_request_spec(
        vcpus=1,
        memory_mb=64,
        extra_specs={"pci_passthrough:alias": "qat:2"},
        aliases=aliases,
    )
    sel = select(
        spec,
        [
            [pool(None, 1, "type-PCI", product="37c9")],
            [pool(None, 2, "type-PCI", product="37c9")],
        ],
    )
    assert [h.host for h in sel.hosts] == ["host1"]
    assert sel.reports[0].removed == (
        (
            "PCI request 2 x (product_id=37c9, vendor_id=8086): not "
            "enough free devices",
            1,
        ),
    )


def test_weigher_spreads_by_free_vfs_on_the_port_networks() -> None:
    spec = spec_with(PHYSNET2)
    hosts = [
        [pool("physnet2", 2), pool("physnet1", 100)],
        [pool("physnet2", 5)],
        [pool("physnet2", 3), pool("physnet2", 4, "type-PF", numa=1)],
    ]
    sel = select(spec, hosts)
    assert [h.host for h in sel.hosts] == ["host1", "host2", "host0"]
    assert sel.chosen.host == "host1"
    assert [h.host for h in sel.alternates] == ["host2", "host0"]
    packed = select(spec, hosts, weigher=FreeVfWeigher(-1.0))
    assert [h.host for h in packed.hosts] == ["host0", "host2", "host1"]
    assert [h.host for h in select(spec, hosts, max_hosts=2).hosts] == [
        "host1",
        "host2",
    ]


def test_weigher_without_ports_counts_every_vf() -> None:
    spec = build_request_spec(vcpus=1, memory_mb=64)
    hosts = [
        [pool("physnet2", 2), pool("physnet1", 100)],
        [pool("physnet2", 5)],
        None,
    ]
    sel = select(spec, hosts)
    assert [h.host for h in sel.hosts] == ["host0", "host1", "host2"]
    # Multiplier 0: ties, broken by host name.
    flat = select(spec, hosts, weigher=FreeVfWeigher(0.0))
    assert [h.host for h in flat.hosts] == ["host0", "host1", "host2"]


def test_candidates_grouped_by_host() -> None:
    spec = spec_with(PHYSNET2)
    _cands, pools = setup([[pool("physnet2", 4)]])
    pf_a = host_state.AllocationCandidate(
        node(0), mappings={"_PORT1": ("pf-a",)}
    )
    pf_b = host_state.AllocationCandidate(
        node(0), mappings={"_PORT1": ("pf-b",)}
    )
    sel = selection.select_hosts(
        spec,
        [pf_a, pf_b],
        pools,
        query=allocation_candidates_query(spec),
    )
    (chosen,) = sel.hosts
    assert chosen.candidates == (pf_a, pf_b)


def test_no_valid_host_says_how_many_what_query_and_why() -> None:
    spec = spec_with(PHYSNET2)
    with pytest.raises(exception.NoValidHost) as info:
        select(
            spec,
            [
                [pool("physnet1", 8)],
                [pool("physnet1", 8)],
                [pool("physnet2", 2, "type-PF")],
                None,
            ],
        )
    assert str(info.value) == (
        "No valid host: Placement returned 4 candidate host(s) for "
        "GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:64"
        "&resources_PORT1=SRIOV_NET_VF:1"
        "&required_PORT1=CUSTOM_PHYSNET_PHYSNET2,CUSTOM_VNIC_TYPE_DIRECT"
        "&group_policy=none&limit=50; PciPassthroughFilter removed 4 "
        "(2 x no free PCI device on physical network physnet2; "
        "1 x PCI request 1 x (dev_type=type-VF, "
        "physical_network=physnet2): no pool matches it; "
        "1 x its compute node has no PCI pools recorded)"
    )
    assert info.value.candidates == 4


def test_no_valid_host_when_placement_returned_nothing() -> None:
    spec = spec_with(PHYSNET2)
    with pytest.raises(
        exception.NoValidHost,
        match=r"returned 0 candidate host\(s\) for GET "
        r"/allocation_candidates\?resources=VCPU:1.*limit=50; no host has "
        r"the resources and traits asked for$",
    ):
        select(spec, [])


def test_candidate_without_a_database_row() -> None:
    spec = spec_with(PHYSNET2)
    orphan = str(uuid_lib.uuid4())
    with pytest.raises(
        exception.NoValidHost,
        match=r"1 x no compute node with this uuid in the database",
    ):
        selection.select_hosts(
            spec,
            [host_state.AllocationCandidate(orphan)],
            {},
            query=allocation_candidates_query(spec),
        )


def test_pci_filter_over_many_hosts() -> None:
    # 2,000 hosts: every third has physnet2 VFs free; the others have
    # only physnet1 or a used-up physnet2.
    hosts: list[list[dict[str, object]] | str | None] = []
    for i in range(2000):
        if i % 3 == 0:
            hosts.append([pool("physnet1", 4), pool("physnet2", 1 + i % 7)])
        elif i % 3 == 1:
            hosts.append([pool("physnet1", 4)])
        else:
            hosts.append([pool("physnet2", 0), pool("physnet1", 1)])
    sel = select(spec_with(PHYSNET2), hosts)
    assert len(sel.hosts) == 667
    assert all(int(h.host[4:]) % 3 == 0 for h in sel.hosts)
    frees = [1 + int(h.host[4:]) % 7 for h in sel.hosts]
    assert frees == sorted(frees, reverse=True)
    assert sel.reports[0].removed == (
        ("no free PCI device on physical network physnet2", 1333),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["physnet1", "physnet2"]),
                st.integers(0, 3),
                st.sampled_from(["type-VF", "type-PF"]),
            ),
            max_size=3,
            unique_by=lambda t: (t[0], t[2]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(
        st.sampled_from(
            [
                ("a", VnicType.DIRECT, "physnet1"),
                ("b", VnicType.DIRECT, "physnet2"),
                ("c", VnicType.DIRECT_PHYSICAL, "physnet2"),
            ]
        ),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_kept_iff_the_host_can_apply_every_request(
    hosts: list[list[tuple[str, int, str]]],
    ports_: list[tuple[str, VnicType, str]],
) -> None:
    spec = spec_with(*ports_)
    pools = [[pool(n, c, t) for n, c, t in h] for h in hosts]
    cands, loaded = setup(list(pools))
    expected = set()
    for i in range(len(hosts)):
        stats = loaded[node(i)].stats
        assert stats is not None
        try:
            stats.copy().apply(spec.pci_requests)
        except exception.PciRequestUnsatisfiable:
            continue
        expected.add(f"host{i}")
    try:
        sel = selection.select_hosts(
            spec, cands, loaded, query=allocation_candidates_query(spec)
        )
    except exception.NoValidHost as exc:
        assert expected == set()
        assert f"removed {len(hosts)} (" in str(exc)
        return
    assert {h.host for h in sel.hosts} == expected
    removed = sum(r.total for r in sel.reports)
    assert removed == len(hosts) - len(expected)


@pytest.mark.parametrize(
    ("pools", "spec", "reason"),
    [
        (
            [pool("physnet1", 1, "type-PF")],
            {"vendor_id": "8086"},
            "no pool has the device type",
        ),
        (
            [pool("physnet1", 1)],
            {"physical_network": "physnet1", "trusted": "true"},
            "no pool is trusted",
        ),
        (
            [pool("physnet1", 1)],
            {"physical_network": "physnet1", "remote_managed": "true"},
            "no pool has the remote_managed value",
        ),
        (
            [pool("physnet1", 1)],
            {"physical_network": "physnet1", "product_id": "1572"},
            "no pool matches it",
        ),
        (
            [pool("physnet1", 0), pool("physnet2", 5)],
            {"physical_network": "physnet1"},
            "no free PCI device on physical network physnet1",
        ),
    ],
)
def test_why_not_names_the_stage(
    pools: list[dict[str, object]], spec: dict[str, str], reason: str
) -> None:
    stats = PciStats.from_json(json.dumps(pools))
    request = PciRequest(spec=[spec])
    assert not stats.support([request])
    assert filters.why_not(stats, [request]).endswith(reason)
