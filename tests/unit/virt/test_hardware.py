"""Packed virtqueue flavor/image rules, table-driven."""

from __future__ import annotations

import pytest

from sriovirt import exception
from sriovirt.virt import hardware

F = hardware.FLAVOR_KEY
I = hardware.IMAGE_KEY  # noqa: E741 - mirrors F

TRUE_SPELLINGS = [
    "true",
    "True",
    "TRUE",
    "yes",
    "YES",
    "1",
    "on",
    "On",
    " true ",
    "t",
    "Y",
    True,
]
FALSE_SPELLINGS = [
    "false",
    "False",
    "no",
    "NO",
    "0",
    "off",
    "OFF",
    "f",
    " n ",
    False,
]
INVALID = [
    # Numbers are not booleans (sriovirt.pci.tags.parse_bool); oslo's
    # bool_from_string, used here before, read str(1) == "1".
    1,
    0,
    "",
    "ture",
    "enabled",
    "2",
    "-1",
    "1.0",
    "none",
    "None",
    2,
    1.0,
    [],
    {},
]


@pytest.mark.parametrize("value", TRUE_SPELLINGS)
def test_true_spellings(value: object) -> None:
    assert hardware.packed_virtqueue_constraint({F: value}, {}) is True
    assert hardware.packed_virtqueue_constraint({}, {I: value}) is True
    assert hardware.packed_virtqueue_request({F: value}, {}) is True


@pytest.mark.parametrize("value", FALSE_SPELLINGS)
def test_false_spellings(value: object) -> None:
    assert hardware.packed_virtqueue_constraint({F: value}, {}) is False
    assert hardware.packed_virtqueue_request({F: value}, {}) is False
    assert hardware.packed_virtqueue_request({}, {I: value}) is False


@pytest.mark.parametrize("value", INVALID, ids=repr)
def test_invalid_flavor_value(value: object) -> None:
    with pytest.raises(exception.InvalidFlavorExtraSpec) as info:
        hardware.packed_virtqueue_constraint({F: value}, {})
    assert info.value.name == F
    assert info.value.value == value
    assert F in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", INVALID, ids=repr)
def test_invalid_image_value(value: object) -> None:
    # Held to the flavor's rules: no silent False for a typo.
    with pytest.raises(exception.InvalidImageProperty) as info:
        hardware.packed_virtqueue_constraint({}, {I: value})
    assert info.value.name == I
    assert I in str(info.value)
    assert repr(value) in str(info.value)


# flavor, image -> request (None = unset) / constraint
COMBINATIONS = [
    (None, None, None, False),
    ("true", None, True, True),
    ("false", None, False, False),
    (None, "true", True, True),
    (None, "false", False, False),
    ("true", "yes", True, True),
    ("false", "no", False, False),
    ("on", True, True, True),
    (False, "off", False, False),
]


@pytest.mark.parametrize(("flavor", "image", "request_", "want"), COMBINATIONS)
def test_combinations(
    flavor: object, image: object, request_: bool | None, want: bool
) -> None:
    specs = {} if flavor is None else {F: flavor}
    props = {} if image is None else {I: image}
    assert hardware.packed_virtqueue_request(specs, props) is request_
    assert hardware.packed_virtqueue_constraint(specs, props) is want


@pytest.mark.parametrize(
    ("flavor", "image"),
    [("true", "false"), ("no", "yes"), (True, "0"), ("off", True)],
)
def test_conflict_names_both(flavor: object, image: object) -> None:
    with pytest.raises(exception.FlavorImageConflict) as info:
        hardware.packed_virtqueue_constraint({F: flavor}, {I: image})
    text = str(info.value)
    assert F in text and I in text
    assert repr(flavor) in text and repr(image) in text


def test_invalid_flavor_reported_before_conflict() -> None:
    with pytest.raises(exception.InvalidFlavorExtraSpec):
        hardware.packed_virtqueue_constraint({F: "maybe"}, {I: "true"})


def test_invalid_image_reported_even_when_flavor_set() -> None:
    with pytest.raises(exception.InvalidImageProperty):
        hardware.packed_virtqueue_constraint({F: "true"}, {I: "maybe"})


def test_none_is_unset() -> None:
    assert hardware.packed_virtqueue_request({F: None}, {I: None}) is None


def test_other_keys_ignored() -> None:
    specs = {"hw:cpu_policy": "dedicated", "trait:X": "required"}
    assert hardware.packed_virtqueue_request(specs, {"os_type": "x"}) is None
