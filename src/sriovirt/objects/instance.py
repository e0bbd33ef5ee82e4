"""A server's stored row as a compute service answers it over RPC.

:class:`Instance` carries the fields of
:class:`sriovirt.db.records.InstanceRecord`; :meth:`Instance.from_record`
and :meth:`Instance.to_record` convert both ways, so that the caller of
a remote boot or delete gets the same frozen value as an in-process
caller.

This module must not read the database or the configuration.
"""

from __future__ import annotations

import datetime
from typing import Any

from oslo_versionedobjects import base as ovo_base

from sriovirt.db.records import InstanceRecord
from sriovirt.objects import base


class PreciseDateTime(base.fields.DateTime):
    """oslo's DateTime, but the primitive keeps the microseconds (oslo's
    drops them, and a stored row must come back equal)."""

    def to_primitive(
        self, obj: ovo_base.VersionedObject, attr: str, value: Any
    ) -> str:
        return str(value.isoformat())

    def from_primitive(
        self, obj: ovo_base.VersionedObject, attr: str, value: Any
    ) -> datetime.datetime:
        return self.coerce(obj, attr, datetime.datetime.fromisoformat(value))


class PreciseDateTimeField(base.fields.AutoTypedField[datetime.datetime]):
    AUTO_TYPE = PreciseDateTime()


_FIELDS = (
    "uuid",
    "vm_state",
    "host",
    "node",
    "task_state",
    "flavor",
    "image",
    "name",
    "requested_networks",
    "domain_xml",
    "created_at",
    "updated_at",
)


@base.SriovirtObjectRegistry.register
class Instance(base.SriovirtObject):
    """A server's row: state, host, flavor/image JSON, guest XML."""

    # Version 1.0: the fields of InstanceRecord
    VERSION = "1.0"

    fields = {  # noqa: RUF012 - oslo.versionedobjects reads a class dict
        "uuid": base.fields.UUIDField(),
        "vm_state": base.fields.StringField(),
        "host": base.fields.StringField(nullable=True),
        "node": base.fields.StringField(nullable=True),
        "task_state": base.fields.StringField(nullable=True),
        "flavor": base.fields.StringField(),
        "image": base.fields.StringField(),
        "name": base.fields.StringField(nullable=True),
        "requested_networks": base.fields.StringField(nullable=True),
        "domain_xml": base.fields.StringField(nullable=True),
        "created_at": PreciseDateTimeField(nullable=True),
        "updated_at": PreciseDateTimeField(nullable=True),
    }

    @classmethod
    def from_record(cls, record: InstanceRecord) -> Instance:
        return cls(**{name: getattr(record, name) for name in _FIELDS})

    def to_record(self) -> InstanceRecord:
        values = {name: self.obj_get(name) for name in _FIELDS}
        for stamp in ("created_at", "updated_at"):
            # oslo's DateTimeField answers aware datetimes; the stored
            # rows are naive UTC.
            value = values[stamp]
            if value is not None and value.tzinfo is not None:
                values[stamp] = value.replace(tzinfo=None)
        return InstanceRecord(**values)
