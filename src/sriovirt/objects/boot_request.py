"""A boot request as it travels to a compute service over RPC.

:class:`BootRequest` has the fields of
:class:`sriovirt.compute.boot.BootRequest` (the frozen value the
manager boots): the conversion both ways is
:mod:`sriovirt.compute.rpc`'s, since this package ranks below
``compute``.  Field values are plain strings and integers; the compute
side validates them as it does for an in-process boot.

Version history (each bump needs an ``obj_make_compatible`` rule and a
new fingerprint in ``tests/unit/objects/test_fingerprints.py``):

* 1.0: ``name``, ``uuid``, ``port_ids``, ``flavor_extra_specs``,
  ``image_properties``, ``memory_mb``, ``vcpus``.
* 1.1: ``port_providers`` (port id -> the PF resource provider the
  scheduler's allocation took the port's device from); dropped when
  talking to 1.0 (the compute then takes any matching device: the RPC
  API refuses to send a boot that has providers below its version 1.2).

This module must not import the compute package, the driver or the
configuration.
"""

from __future__ import annotations

from typing import Any

from sriovirt.objects import base


@base.SriovirtObjectRegistry.register
class BootRequest(base.SriovirtObject):
    """What to boot: name, ports in NIC order, flavor, image, size."""

    # Version 1.0: name, uuid, port_ids, flavor_extra_specs,
    #              image_properties, memory_mb, vcpus
    # Version 1.1: port_providers
    VERSION = "1.1"

    #: field -> version that added it (see obj_make_compatible).
    ADDED_IN = {"port_providers": "1.1"}  # noqa: RUF012

    # For the type checker only; oslo makes each field a property.
    name: str
    uuid: str
    port_ids: list[str]
    flavor_extra_specs: dict[str, str]
    image_properties: dict[str, str]
    memory_mb: int
    vcpus: int
    port_providers: dict[str, str]

    fields = {  # noqa: RUF012 - oslo.versionedobjects reads a class dict
        "name": base.fields.StringField(),
        "uuid": base.fields.UUIDField(),
        "port_ids": base.fields.ListOfStringsField(),
        "flavor_extra_specs": base.fields.DictOfStringsField(),
        "image_properties": base.fields.DictOfStringsField(),
        "memory_mb": base.fields.IntegerField(),
        "vcpus": base.fields.IntegerField(),
        "port_providers": base.fields.DictOfStringsField(),
    }

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        self.obj_drop_fields_newer_than(
            primitive, target_version, self.ADDED_IN
        )
