"""ImageMetaProps: strict booleans, round trips, registration."""

from __future__ import annotations

import pytest

from sriovirt import exception, objects
from sriovirt.objects.image_meta import ImageMetaProps
from sriovirt.virt import hardware


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("true", True),
        ("YES", True),
        ("1", True),
        (True, True),
        ("on", True),
        ("false", False),
        ("No", False),
        ("0", False),
        (False, False),
        ("off", False),
    ],
)
def test_from_dict_parses(value: object, want: bool) -> None:
    props = ImageMetaProps.from_dict(
        {"hw_virtio_packed_ring": value, "os_distro": "debian"}
    )
    assert props.hw_virtio_packed_ring is want
    assert props.to_dict() == {"hw_virtio_packed_ring": want}


@pytest.mark.parametrize("value", ["ture", "", "2", 2, "enabled"])
def test_from_dict_strict(value: object) -> None:
    with pytest.raises(exception.InvalidImageProperty) as info:
        ImageMetaProps.from_dict({"hw_virtio_packed_ring": value})
    assert info.value.name == "hw_virtio_packed_ring"
    assert info.value.value == value
    assert info.value.reason


def test_setattr_is_strict_too() -> None:
    props = ImageMetaProps()
    with pytest.raises(exception.InvalidImageProperty):
        props.hw_virtio_packed_ring = "garbage"  # type: ignore[assignment]


def test_unset_and_none() -> None:
    for props in (
        ImageMetaProps.from_dict({}),
        ImageMetaProps.from_dict({"hw_virtio_packed_ring": None}),
    ):
        assert not props.obj_attr_is_set("hw_virtio_packed_ring")
        assert props.obj_get("hw_virtio_packed_ring") is None
        assert props.to_dict() == {}


def test_primitive_round_trip() -> None:
    props = ImageMetaProps.from_dict({"hw_virtio_packed_ring": "yes"})
    primitive = props.obj_to_primitive()
    assert primitive["sriovirt_object.data"] == {"hw_virtio_packed_ring": True}
    back = ImageMetaProps.obj_from_primitive(primitive)
    assert back.hw_virtio_packed_ring is True


def test_feeds_hardware_rules() -> None:
    props = ImageMetaProps.from_dict({"hw_virtio_packed_ring": "true"})
    assert hardware.packed_virtqueue_constraint({}, props.to_dict())
    with pytest.raises(exception.FlavorImageConflict):
        hardware.packed_virtqueue_constraint(
            {"hw:virtio_packed_ring": "false"}, props.to_dict()
        )


def test_registered() -> None:
    # Registration happens on import (the registry hook sets the class
    # on sriovirt.objects); no need to import every other object module.
    assert objects.ImageMetaProps is ImageMetaProps
    assert ImageMetaProps.VERSION == "1.0"
