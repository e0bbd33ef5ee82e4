"""Request filters: each one reason, conflicts named before any host."""

from __future__ import annotations

import pytest

from sriovirt import exception
from sriovirt.scheduler import request_filter as rf
from sriovirt.scheduler.request_spec import build_request_spec


def spec_of(
    extra: dict[str, str] | None = None, image: dict[str, str] | None = None
) -> rf.RequestSpec:
    return build_request_spec(
        vcpus=1, memory_mb=64, extra_specs=extra, image_properties=image
    )


def test_all_request_filters_in_order() -> None:
    expected = (rf.image_traits_filter, rf.packed_virtqueue_filter)
    assert expected == rf.ALL_REQUEST_FILTERS


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:virtio_packed_ring": "true"}, {}),
        ({}, {"hw_virtio_packed_ring": "yes"}),
        ({"hw:virtio_packed_ring": "1"}, {"hw_virtio_packed_ring": "on"}),
    ],
)
def test_packed_true_requires_the_trait(
    extra: dict[str, str], image: dict[str, str]
) -> None:
    spec = rf.packed_virtqueue_filter(spec_of(extra, image))
    assert spec.required_traits == {"COMPUTE_NET_VIRTIO_PACKED"}
    assert spec.forbidden_traits == frozenset()


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ({"hw:virtio_packed_ring": "false"}, {}),
        ({}, {"hw_virtio_packed_ring": "no"}),
        ({}, {}),
    ],
)
def test_packed_false_or_unset_adds_and_forbids_nothing(
    extra: dict[str, str], image: dict[str, str]
) -> None:
    before = spec_of(extra, image)
    after = rf.packed_virtqueue_filter(before)
    assert after == before
    assert after.required_traits == after.forbidden_traits == frozenset()


def test_packed_with_forbidden_trait_is_a_conflict_naming_both() -> None:
    spec = spec_of(
        {
            "hw:virtio_packed_ring": "true",
            "trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden",
        }
    )
    with pytest.raises(exception.TraitConflict) as info:
        rf.apply_request_filters(spec)
    assert str(info.value) == (
        "Trait COMPUTE_NET_VIRTIO_PACKED is required by flavor extra spec "
        "hw:virtio_packed_ring=true but forbidden by flavor extra spec "
        "trait:COMPUTE_NET_VIRTIO_PACKED=forbidden"
    )


def test_packed_from_image_against_flavor_forbidden() -> None:
    spec = spec_of(
        {"trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden"},
        {"hw_virtio_packed_ring": "true"},
    )
    with pytest.raises(
        exception.TraitConflict,
        match=r"required by image property hw_virtio_packed_ring=true but "
        r"forbidden by flavor extra spec trait:COMPUTE_NET_VIRTIO_PACKED",
    ):
        rf.packed_virtqueue_filter(spec)


def test_forbidden_packed_alone_passes() -> None:
    spec = rf.apply_request_filters(
        spec_of({"trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden"})
    )
    assert spec.forbidden_traits == {"COMPUTE_NET_VIRTIO_PACKED"}
    assert spec.required_traits == frozenset()


def test_image_traits_become_required() -> None:
    spec = rf.image_traits_filter(
        spec_of({"trait:CUSTOM_A": "required"}, {"trait:CUSTOM_B": "required"})
    )
    assert spec.required_traits == {"CUSTOM_A", "CUSTOM_B"}
    assert spec.source_of("CUSTOM_B") == (
        "image property trait:CUSTOM_B=required"
    )


def test_image_trait_the_flavor_forbids_is_a_conflict() -> None:
    spec = spec_of(
        {"trait:CUSTOM_A": "forbidden"}, {"trait:CUSTOM_A": "required"}
    )
    with pytest.raises(
        exception.TraitConflict,
        match=r"^Trait CUSTOM_A is required by image property "
        r"trait:CUSTOM_A=required but forbidden by flavor extra spec "
        r"trait:CUSTOM_A=forbidden$",
    ):
        rf.apply_request_filters(spec)
