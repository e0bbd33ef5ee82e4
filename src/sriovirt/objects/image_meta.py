"""Image metadata properties sriovirt understands, as a versioned object.

:class:`ImageMetaProps` carries the Glance image properties that change
how sriovirt builds a guest; today only ``hw_virtio_packed_ring``.
Unlike Nova's ``FlexibleBooleanField`` (which turns any unknown string
into False), the value is validated as strictly as the flavor extra
spec ``hw:virtio_packed_ring``: ``"ture"`` is an
:class:`~sriovirt.exception.InvalidImageProperty`, not a silent False.
The vocabulary is :func:`sriovirt.pci.tags.parse_bool`'s, the one the
flavor and the image dict (:mod:`sriovirt.virt.hardware`) use too, so
they cannot drift apart.

This module must not talk to Glance, read configuration or decide
policy (flavor/image conflicts are :mod:`sriovirt.virt.hardware`'s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oslo_versionedobjects import base as ovo_base

from sriovirt.objects import base
from sriovirt.pci.tags import strict_image_bool


class StrictBoolean(base.fields.FieldType[bool]):
    """A boolean field that accepts only unambiguous spellings."""

    def coerce(
        self, obj: ovo_base.VersionedObject | None, attr: str, value: Any
    ) -> bool:
        return strict_image_bool(attr, value)

    def from_primitive(
        self, obj: ovo_base.VersionedObject, attr: str, value: object
    ) -> bool:
        return strict_image_bool(attr, value)


class StrictBooleanField(base.fields.AutoTypedField[bool]):
    AUTO_TYPE = StrictBoolean()


@base.SriovirtObjectRegistry.register
class ImageMetaProps(base.SriovirtObject):
    """The image properties sriovirt reads (unknown ones are ignored)."""

    # Version 1.0: hw_virtio_packed_ring
    VERSION = "1.0"

    # For the type checker only; oslo makes each field a property.
    hw_virtio_packed_ring: bool

    fields = {  # noqa: RUF012 - oslo.versionedobjects reads a class dict
        "hw_virtio_packed_ring": StrictBooleanField(),
    }

    @classmethod
    def from_dict(cls, props: Mapping[str, Any]) -> ImageMetaProps:
        """Build from Glance image properties; None means unset.

        Raises :class:`~sriovirt.exception.InvalidImageProperty` for a
        value that is not an unambiguous boolean.
        """
        obj = cls()
        for name in cls.fields:
            value = props.get(name)
            if value is not None:
                setattr(obj, name, value)
        return obj

    def to_dict(self) -> dict[str, object]:
        """The set properties, as :mod:`sriovirt.virt.hardware` takes
        them."""
        return {
            name: getattr(self, name)
            for name in self.fields
            if self.obj_attr_is_set(name)
        }
