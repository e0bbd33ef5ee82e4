"""A boot request as it travels to a compute service over RPC.

:class:`BootRequest` has the fields of
:class:`sriovirt.compute.boot.BootRequest` (the frozen value the
manager boots): the conversion both ways is
:mod:`sriovirt.compute.rpc`'s, since this package ranks below
``compute``.  Field values are plain strings and integers; the compute
side validates them as it does for an in-process boot.

This module must not import the compute package, the driver or the
configuration.
"""

from __future__ import annotations

from sriovirt.objects import base


@base.SriovirtObjectRegistry.register
class BootRequest(base.SriovirtObject):
    """What to boot: name, ports in NIC order, flavor, image, size."""

    # Version 1.0: name, uuid, port_ids, flavor_extra_specs,
    #              image_properties, memory_mb, vcpus
    VERSION = "1.0"

    # For the type checker only; oslo makes each field a property.
    name: str
    uuid: str
    port_ids: list[str]
    flavor_extra_specs: dict[str, str]
    image_properties: dict[str, str]
    memory_mb: int
    vcpus: int

    fields = {  # noqa: RUF012 - oslo.versionedobjects reads a class dict
        "name": base.fields.StringField(),
        "uuid": base.fields.UUIDField(),
        "port_ids": base.fields.ListOfStringsField(),
        "flavor_extra_specs": base.fields.DictOfStringsField(),
        "image_properties": base.fields.DictOfStringsField(),
        "memory_mb": base.fields.IntegerField(),
        "vcpus": base.fields.IntegerField(),
    }
