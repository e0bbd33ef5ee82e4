"""The typed values a guest is made of: Instance checks itself."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.virt.driver import Instance

UUID = "4dea22b3-1d52-4f3e-9516-782e98ab3fa0"


def _instance(**changes: Any) -> Instance:
    fields: dict[str, Any] = {
        "name": "vm-1",
        "uuid": UUID,
        "memory_mb": 256,
        "vcpus": 2,
    }
    fields.update(changes)
    return Instance(**fields)


def test_uuid_is_canonical() -> None:
    assert _instance(uuid=UUID.upper()).uuid == UUID
    assert _instance(uuid=UUID.replace("-", "")).uuid == UUID
    assert _instance(uuid=UUID.upper()) == _instance()


def test_instance_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _instance().name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": ""}, "instance name '' must be non-empty"),
        ({"name": " vm"}, "instance name ' vm'"),
        ({"uuid": "vm-1"}, "uuid 'vm-1' of instance 'vm-1' is not a UUID"),
        ({"uuid": None}, "uuid None of instance 'vm-1' is not a UUID"),
        ({"memory_mb": 0}, "memory_mb 0 of instance 'vm-1' must be"),
        ({"vcpus": -1}, "vcpus -1 of instance 'vm-1' must be a positive"),
        ({"vcpus": True}, "vcpus True of instance 'vm-1'"),
        ({"memory_mb": "256"}, "memory_mb '256' of instance 'vm-1'"),
    ],
)
def test_bad_values_are_refused_by_name(
    changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(exception.Invalid) as err:
        _instance(**changes)
    assert says in str(err.value)
