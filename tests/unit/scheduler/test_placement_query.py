"""The allocation-candidates query: exact, deterministic text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sriovirt.network.values import VnicType
from sriovirt.scheduler import placement_query as pq
from sriovirt.scheduler.request_filter import apply_request_filters
from sriovirt.scheduler.request_spec import build_request_spec
from tests.unit.scheduler.test_request_spec import port


def test_root_resources_traits_and_port_groups() -> None:
    spec = apply_request_filters(
        build_request_spec(
            vcpus=2,
            memory_mb=1024,
            disk_gb=10,
            extra_specs={
                "trait:HW_CPU_X86_AVX2": "required",
                "trait:CUSTOM_GOLD": "forbidden",
                "trait:CUSTOM_BRONZE": "forbidden",
                "hw:virtio_packed_ring": "true",
            },
            ports=[
                port("a", VnicType.DIRECT, "physnet1"),
                port("b", VnicType.MACVTAP, "phys-net.2"),
                port("c", VnicType.DIRECT_PHYSICAL, "physnet1"),
            ],
        )
    )
    query = pq.allocation_candidates_query(spec, limit=1000)
    assert query.query_string() == (
        "resources=VCPU:2,MEMORY_MB:1024,DISK_GB:10"
        "&required=COMPUTE_NET_VIRTIO_PACKED,HW_CPU_X86_AVX2"
        ",!CUSTOM_BRONZE,!CUSTOM_GOLD"
        "&resources_PORT1=SRIOV_NET_VF:1"
        "&required_PORT1=CUSTOM_PHYSNET_PHYSNET1,CUSTOM_VNIC_TYPE_DIRECT"
        "&resources_PORT2=SRIOV_NET_VF:1"
        "&required_PORT2=CUSTOM_PHYSNET_PHYS_NET_2,CUSTOM_VNIC_TYPE_MACVTAP"
        "&resources_PORT3=CUSTOM_SRIOV_NET_PF:1"
        "&required_PORT3=CUSTOM_PHYSNET_PHYSNET1,"
        "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL"
        "&group_policy=none&limit=1000"
    )
    assert [g.port_id for g in query.groups] == ["a", "b", "c"]
    assert str(query) == query.query_string()


def test_plain_boot_leaves_zero_amounts_and_traits_out() -> None:
    spec = build_request_spec(vcpus=1, memory_mb=64)
    query = pq.allocation_candidates_query(spec)
    assert query.params() == [
        ("resources", "VCPU:1,MEMORY_MB:64"),
        ("group_policy", "none"),
    ]


def test_forbidden_only() -> None:
    spec = build_request_spec(
        vcpus=1,
        memory_mb=64,
        extra_specs={"trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden"},
    )
    assert pq.allocation_candidates_query(spec).query_string() == (
        "resources=VCPU:1,MEMORY_MB:64"
        "&required=!COMPUTE_NET_VIRTIO_PACKED&group_policy=none"
    )


def test_trait_names() -> None:
    assert pq.physnet_trait("physnet1") == "CUSTOM_PHYSNET_PHYSNET1"
    assert pq.physnet_trait("a b-c") == "CUSTOM_PHYSNET_A_B_C"
    assert (
        pq.vnic_type_trait(VnicType.DIRECT_PHYSICAL)
        == "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL"
    )
    assert pq.PF_RESOURCE_CLASS == "CUSTOM_SRIOV_NET_PF"
    assert pq.MICROVERSION == "1.39"


@given(
    st.sets(st.sampled_from(["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2"])),
    st.permutations(["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2"]),
)
def test_same_spec_same_text(traits: set[str], order: list[str]) -> None:
    # Extra specs in any order render the same query.
    specs = {f"trait:{t}": "required" for t in order if t in traits}
    reversed_specs = dict(reversed(list(specs.items())))
    texts = {
        pq.allocation_candidates_query(
            build_request_spec(vcpus=1, memory_mb=64, extra_specs=extra)
        ).query_string()
        for extra in (specs, reversed_specs)
    }
    assert len(texts) == 1
