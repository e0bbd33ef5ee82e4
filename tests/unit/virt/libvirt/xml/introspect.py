"""Introspection of XML model declarations, for tests only.

Which models a declaration can reach and which model objects a value
holds: the golden-file coverage test and the Hypothesis strategies use
it to exercise every declared field.  Shipped code must not need it (it
lives here, not in the engine), and it must not change a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sriovirt.virt.libvirt.xml.base import (
    ModelTarget,
    XmlModel,
    declared_fields,
)
from sriovirt.virt.libvirt.xml.document import RawXml
from sriovirt.virt.libvirt.xml.fields import Child, Children, XmlTarget
from sriovirt.virt.libvirt.xml.targets import Choice, TaggedUnion


def walk(obj: object) -> Iterable[XmlModel]:
    """Every model reachable from ``obj`` (itself included), depth first."""
    if isinstance(obj, XmlModel):
        yield obj
        for name, spec in declared_fields(type(obj)):
            value = getattr(obj, name)
            if isinstance(spec, Children):
                for item in value:
                    yield from walk(item)
            elif isinstance(spec, Child) and value is not None:
                yield from walk(value)


def target_models(target: XmlTarget | type[XmlModel]) -> tuple[type[Any], ...]:
    """The model classes (and RawXml) a target can produce."""
    if isinstance(target, type):
        return (target,)
    if isinstance(target, ModelTarget):
        return (target.cls,)
    if isinstance(target, TaggedUnion):
        out: list[type[Any]] = list(target.variants.values())
        if target.fallback is not None:
            out.append(target.fallback)
        return tuple(out)
    if isinstance(target, Choice):
        found: list[type[Any]] = []
        for sub in target.by_tag.values():
            found.extend(target_models(sub))
        if target.accepts_any:
            found.append(RawXml)
        return tuple(dict.fromkeys(found))
    raise TypeError(f"unknown target {target!r}")


def reachable_models(
    *roots: XmlTarget | type[XmlModel],
) -> tuple[type[XmlModel], ...]:
    """Every model class reachable from ``roots`` through declarations.

    Tests use it to check that every declared field is exercised.
    """
    seen: dict[type[XmlModel], None] = {}
    todo = [m for r in roots for m in target_models(r)]
    while todo:
        cls = todo.pop()
        if cls in seen or not issubclass(cls, XmlModel):
            continue
        seen[cls] = None
        for _name, spec in declared_fields(cls):
            if isinstance(spec, Child):
                todo.extend(target_models(spec.target))
    return tuple(seen)
