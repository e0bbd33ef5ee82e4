"""Base classes of sriovirt's versioned objects (oslo.versionedobjects).

Versioned objects are what sriovirt stores or sends between services:
every change to a field must bump the object's ``VERSION`` and teach
``obj_make_compatible`` how to talk to the previous version (the
fingerprint test in ``tests/unit/objects`` enforces the bump).

This module provides the base object (:class:`SriovirtObject`, namespace
``sriovirt``), the registry (:class:`SriovirtObjectRegistry`, which also
exposes each registered class as an attribute of :mod:`sriovirt.objects`)
and the base of list objects (:class:`SriovirtObjectList`).

It must not import SQLAlchemy, the database layer or the configuration:
objects convert from/to plain values; callers do the I/O.
"""

from __future__ import annotations

from typing import Any, TypeVar

from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

_O = TypeVar("_O", bound="SriovirtObject")

#: The namespace every sriovirt object serialises under.
NAMESPACE = "sriovirt"


class SriovirtObjectRegistry(ovo_base.VersionedObjectRegistry):
    """Registry of sriovirt objects.

    Besides oslo's bookkeeping, each registered class becomes an attribute
    of :mod:`sriovirt.objects` (``objects.PciDevice``), always the newest
    registered version of that name.
    """

    def registration_hook(
        self, cls: type[ovo_base.VersionedObject], index: int
    ) -> None:
        # Imported here: sriovirt.objects imports this module.
        from sriovirt import objects

        name = cls.obj_name()
        current = getattr(objects, name, None)
        if current is None or _version(cls.VERSION) >= _version(
            current.VERSION
        ):
            setattr(objects, name, cls)


def _version(text: str) -> tuple[int, ...]:
    return tuple(versionutils.convert_version_to_tuple(text))


class SriovirtObject(ovo_base.VersionedObject):
    """Base of every sriovirt versioned object."""

    OBJ_PROJECT_NAMESPACE = NAMESPACE
    OBJ_SERIAL_NAMESPACE = "sriovirt_object"

    def obj_drop_fields_newer_than(
        self,
        primitive: dict[str, Any],
        target_version: str,
        added_in: dict[str, str],
    ) -> None:
        """Remove from ``primitive`` the fields newer than the target.

        ``added_in`` maps a field name to the version that introduced it;
        a helper for ``obj_make_compatible`` so that each object states
        its history as data instead of a chain of ``if`` statements.
        """
        target = _version(target_version)
        for field, version in added_in.items():
            if target < _version(version):
                primitive.pop(field, None)

    def obj_get(self, name: str, default: Any = None) -> Any:
        """The value of field ``name``, or ``default`` when unset."""
        if self.obj_attr_is_set(name):
            return getattr(self, name)
        return default


class SriovirtObjectList(ovo_base.ObjectListBase[_O]):
    """Base of list objects; mix in before :class:`SriovirtObject`.

    Subclasses declare ``fields = {"objects":
    fields.ListOfObjectsField("ItemName")}`` and, when the item's version
    changes, a ``child_versions`` entry mapping the list's version to the
    item's.
    """

    objects: list[_O]


# Re-exported so that object modules need only this base module.
fields = ovo_fields
