"""RequestSpec from flavor, image, ports and aliases; bad values named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.network.values import PortRequest, VnicType
from sriovirt.pci.alias import parse_aliases
from sriovirt.pci.device import DevType
from sriovirt.scheduler.request_spec import build_request_spec


def port(
    port_id: str,
    vnic: VnicType = VnicType.DIRECT,
    physnet: str | None = "physnet1",
) -> PortRequest:
    dev_type = {
        VnicType.DIRECT: DevType.VF,
        VnicType.MACVTAP: DevType.VF,
        VnicType.DIRECT_PHYSICAL: DevType.PF,
    }.get(vnic)
    return PortRequest(
        port_id=port_id,
        network_id="net",
        vnic_type=vnic,
        physical_network=physnet,
        dev_type=dev_type,
    )


ALIASES = parse_aliases(
    [
        '{"name": "gpu", "vendor_id": "10de", "product_id": "1eb8", '
        '"device_type": "type-PCI", "numa_policy": "preferred"}',
        '{"name": "qat", "vendor_id": "8086", "product_id": "37c9"}',
    ]
)


def test_flavor_traits_packed_ports_and_aliases() -> None:
    spec = build_request_spec(
        vcpus=2,
        memory_mb=1024,
        disk_gb=10,
        extra_specs={
            "trait:HW_CPU_X86_AVX2": "required",
            "trait:CUSTOM_GOLD": "forbidden",
            "hw:virtio_packed_ring": "true",
            "pci_passthrough:alias": "gpu:2, qat:1",
            "hw:cpu_policy": "dedicated",
        },
        image_properties={"trait:CUSTOM_IMAGE": "required"},
        ports=[
            port("p-normal", VnicType.NORMAL, None),
            port("p1"),
            port("p2", VnicType.DIRECT_PHYSICAL, "physnet2"),
        ],
        aliases=ALIASES,
    )
    assert (spec.vcpus, spec.memory_mb, spec.disk_gb) == (2, 1024, 10)
    assert spec.required_traits == {"HW_CPU_X86_AVX2"}
    assert spec.forbidden_traits == {"CUSTOM_GOLD"}
    assert spec.image_traits == {"CUSTOM_IMAGE"}
    assert spec.packed is True
    assert spec.packed_source == "flavor extra spec hw:virtio_packed_ring=true"
    assert [(g.suffix, g.port_id) for g in spec.port_groups] == [
        ("_PORT1", "p1"),
        ("_PORT2", "p2"),
    ]
    pf = spec.port_groups[1].pci_request
    assert pf.spec_dicts() == [
        {"physical_network": "physnet2", "dev_type": "type-PF"}
    ]
    assert pf.requester_id == "p2"
    gpu, qat = spec.alias_requests
    assert gpu.count == 2 and gpu.numa_policy == "preferred"
    assert gpu.spec_dicts() == [
        {"vendor_id": "10de", "product_id": "1eb8", "dev_type": "type-PCI"}
    ]
    assert qat.count == 1 and qat.numa_policy is None
    assert spec.pci_requests == (
        spec.port_groups[0].pci_request,
        pf,
        gpu,
        qat,
    )
    assert spec.source_of("CUSTOM_GOLD") == (
        "flavor extra spec trait:CUSTOM_GOLD=forbidden"
    )


def test_packed_from_image_and_unset() -> None:
    spec = build_request_spec(
        vcpus=1, memory_mb=64, image_properties={"hw_virtio_packed_ring": "no"}
    )
    assert spec.packed is False
    assert spec.packed_source == "image property hw_virtio_packed_ring=no"
    assert build_request_spec(vcpus=1, memory_mb=64).packed is None


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (
            {"trait:HW_CPU_X86_AVX2": "Required"},
            exception.InvalidFlavorExtraSpec,
            r"^Flavor extra spec trait:HW_CPU_X86_AVX2='Required' is "
            r"invalid: expected 'required' or 'forbidden'$",
        ),
        (
            {"trait:custom_gold": "required"},
            exception.InvalidFlavorExtraSpec,
            r"trait:custom_gold='required' is invalid: 'custom_gold' is "
            r"not a trait name",
        ),
        (
            {"trait:HW_NO_SUCH_THING": "required"},
            exception.InvalidFlavorExtraSpec,
            r"'HW_NO_SUCH_THING' is neither a standard trait \(os-traits\) "
            r"nor a custom one",
        ),
        (
            {"trait:CUSTOM_": "required"},
            exception.InvalidFlavorExtraSpec,
            r"trait:CUSTOM_='required' is invalid: 'CUSTOM_' needs a name "
            r"after the prefix",
        ),
        (
            {"trait:" + "CUSTOM_" + "X" * 249: "forbidden"},
            exception.InvalidFlavorExtraSpec,
            r"is not a trait name \(A-Z, 0-9 and _, at most 255",
        ),
        (
            {"trait:": "required"},
            exception.InvalidFlavorExtraSpec,
            r"trait:='required' is invalid: '' is not a trait name",
        ),
        (
            {"pci_passthrough:alias": "nvme:1"},
            exception.InvalidFlavorExtraSpec,
            r"pci_passthrough:alias='nvme:1' is invalid: alias 'nvme' is "
            r"not defined in \[pci\] alias \(defined: gpu, qat\)",
        ),
        (
            {"pci_passthrough:alias": "gpu"},
            exception.InvalidFlavorExtraSpec,
            r"'gpu' is not NAME:COUNT",
        ),
        (
            {"pci_passthrough:alias": "gpu:0"},
            exception.InvalidFlavorExtraSpec,
            r"count '0' of alias 'gpu' is not a positive integer",
        ),
        (
            {"pci_passthrough:alias": "gpu:1,gpu:2"},
            exception.InvalidFlavorExtraSpec,
            r"alias 'gpu' is named twice",
        ),
        (
            {"pci_passthrough:alias": " "},
            exception.InvalidFlavorExtraSpec,
            r"expected NAME:COUNT",
        ),
        (
            {"hw:virtio_packed_ring": "maybe"},
            exception.InvalidFlavorExtraSpec,
            r"hw:virtio_packed_ring='maybe'",
        ),
    ],
)
def test_bad_extra_specs_name_key_and_value(
    extra: dict[str, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build_request_spec(
            vcpus=1, memory_mb=64, extra_specs=extra, aliases=ALIASES
        )


def test_bad_image_traits() -> None:
    with pytest.raises(
        exception.InvalidImageProperty,
        match=r"trait:CUSTOM_X='forbidden' is invalid: an image can only "
        r"ask 'required'",
    ):
        build_request_spec(
            vcpus=1,
            memory_mb=64,
            image_properties={"trait:CUSTOM_X": "forbidden"},
        )
    with pytest.raises(exception.InvalidImageProperty, match="trait:x-y"):
        build_request_spec(
            vcpus=1, memory_mb=64, image_properties={"trait:x-y": "required"}
        )


def test_flavor_image_packed_conflict_before_any_host() -> None:
    with pytest.raises(
        exception.FlavorImageConflict,
        match=r"hw:virtio_packed_ring='true' conflicts with image property "
        r"hw_virtio_packed_ring='false'",
    ):
        build_request_spec(
            vcpus=1,
            memory_mb=64,
            extra_specs={"hw:virtio_packed_ring": "true"},
            image_properties={"hw_virtio_packed_ring": "false"},
        )


def test_pci_port_without_physical_network() -> None:
    with pytest.raises(
        exception.InvalidRequestSpec,
        match=r"^Invalid scheduling request \(port p9\): vnic_type macvtap "
        r"needs a physical network",
    ):
        build_request_spec(
            vcpus=1, memory_mb=64, ports=[port("p9", VnicType.MACVTAP, None)]
        )


@pytest.mark.parametrize("field", ["vcpus", "memory_mb", "disk_gb"])
def test_bad_flavor_amounts(field: str) -> None:
    amounts: dict[str, int] = {"vcpus": 1, "memory_mb": 64, "disk_gb": 0}
    amounts[field] = -1
    with pytest.raises(exception.InvalidRequestSpec, match=f"flavor {field}"):
        build_request_spec(**amounts)  # type: ignore[arg-type]


@given(
    st.lists(
        st.sampled_from(
            [
                VnicType.NORMAL,
                VnicType.DIRECT,
                VnicType.MACVTAP,
                VnicType.DIRECT_PHYSICAL,
            ]
        ),
        max_size=8,
    )
)
def test_one_group_per_sriov_port_in_order(vnics: list[VnicType]) -> None:
    ports = [port(f"p{i}", v) for i, v in enumerate(vnics)]
    spec = build_request_spec(vcpus=1, memory_mb=64, ports=ports)
    sriov = [p.port_id for p in ports if p.dev_type is not None]
    assert [g.port_id for g in spec.port_groups] == sriov
    assert [g.suffix for g in spec.port_groups] == [
        f"_PORT{i}" for i in range(1, len(sriov) + 1)
    ]
    assert [r.requester_id for r in spec.pci_requests] == sriov
