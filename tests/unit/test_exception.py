"""The exception tree's contract: messages only from msg_fmt, fields as
declared attributes, "not there" errors below NotFound."""

from __future__ import annotations

import inspect
import re
import typing

import pytest

from sriovirt import exception

CLASSES = [
    cls
    for _, cls in inspect.getmembers(exception, inspect.isclass)
    if issubclass(cls, exception.SriovirtError)
]


def _fields(cls: type[exception.SriovirtError]) -> set[str]:
    return set(re.findall(r"%\((\w+)\)", cls.msg_fmt))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_msg_fmt_field_is_a_declared_attribute(
    cls: type[exception.SriovirtError],
) -> None:
    declared = typing.get_type_hints(cls)
    assert _fields(cls) <= set(declared), _fields(cls) - set(declared)


def test_fields_become_attributes() -> None:
    err = exception.PciRequestUnsatisfiable(
        request_id="r1", reason="no pools", stage="spec"
    )
    assert (err.request_id, err.reason, err.stage) == (
        "r1",
        "no pools",
        "spec",
    )
    assert str(err) == (
        "PCI request r1 cannot be satisfied: no pools (stage: spec)"
    )


def test_a_whole_message_is_refused() -> None:
    with pytest.raises(TypeError):
        exception.Invalid("Invalid value: whole message")  # type: ignore[misc]
    with pytest.raises(TypeError, match="message"):
        exception.Invalid(message="whole message", reason="x")


def test_entry_errors_keep_their_option_class() -> None:
    for entry_cls, option_cls in (
        (exception.InvalidDeviceSpecEntry, exception.InvalidDeviceSpec),
        (exception.InvalidPciAliasEntry, exception.InvalidPciAlias),
    ):
        assert issubclass(entry_cls, option_cls)
        assert entry_cls.option_error is option_cls


def test_not_found_errors_derive_from_not_found() -> None:
    assert issubclass(exception.PciDeviceNotFound, exception.NotFound)
    not_there = re.compile(r"not found|not tracked|unknown", re.I)
    for cls in CLASSES:
        if cls is not exception.SriovirtError and not_there.search(
            cls.msg_fmt
        ):
            assert issubclass(cls, exception.NotFound), cls.__name__
