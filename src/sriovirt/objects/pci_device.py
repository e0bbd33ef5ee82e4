"""The ``PciDevice`` versioned object: one tracked PCI function as stored.

Version history (each bump needs an ``obj_make_compatible`` rule and a new
fingerprint in ``tests/unit/objects/test_fingerprints.py``):

* 1.0: initial (no ``request_id``).
* 1.1: ``request_id``, the PCI request (one per SR-IOV port) that claimed
  the device; dropped when talking to 1.0.

``extra_info`` holds the device's spec tags (``physical_network``,
``trusted``, ...) and the reserved keys that
:mod:`sriovirt.pci.record` owns.

Conversions: from/to :class:`~sriovirt.pci.record.PciDeviceRecord`, the
one record type between the tracker and the database.  The tracker and
the database exchange those records directly (:mod:`sriovirt.pci.record`
maps a tracked device); this object is the versioned form of the same
record, for what is sent or stored as a versioned payload.

Two classes are called ``PciDevice``: this one (``objects.PciDevice``)
and the tracker's :class:`sriovirt.pci.device.PciDevice`.  This one keeps
its name because ``obj_name()`` is the class name and is part of the
serialised contract (its fingerprint is pinned in
``tests/unit/objects/test_fingerprints.py``); import it as a module
(``from sriovirt.objects import pci_device as pci_device_obj``) where
both are in scope.

This module must not import SQLAlchemy, the tracker or do I/O.
"""

from __future__ import annotations

from typing import Any

from sriovirt.objects import base
from sriovirt.pci import device as pci_device
from sriovirt.pci.record import PciDeviceRecord

fields = base.fields


@base.SriovirtObjectRegistry.register
class PciDevice(base.SriovirtObject):
    """One PCI function of a compute node and its tracking state."""

    # Version 1.0: initial
    # Version 1.1: request_id
    VERSION = "1.1"

    #: field -> version that added it (see obj_make_compatible).
    ADDED_IN = {"request_id": "1.1"}  # noqa: RUF012

    fields = {  # noqa: RUF012 - oslo.versionedobjects reads a class dict
        "compute_node_id": fields.IntegerField(nullable=True),
        "address": fields.PCIAddressField(),
        "vendor_id": fields.StringField(),
        "product_id": fields.StringField(),
        "dev_type": fields.EnumField(
            valid_values=[t.value for t in pci_device.DevType]
        ),
        "parent_addr": fields.PCIAddressField(nullable=True),
        "numa_node": fields.IntegerField(nullable=True),
        "status": fields.EnumField(
            valid_values=[s.value for s in pci_device.DeviceStatus]
        ),
        "instance_uuid": fields.UUIDField(nullable=True),
        "request_id": fields.UUIDField(nullable=True),
        "extra_info": fields.DictOfStringsField(),
    }

    compute_node_id: int | None
    address: str
    vendor_id: str
    product_id: str
    dev_type: str
    parent_addr: str | None
    numa_node: int | None
    status: str
    instance_uuid: str | None
    request_id: str | None
    extra_info: dict[str, str]

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        self.obj_drop_fields_newer_than(
            primitive, target_version, self.ADDED_IN
        )

    # --- database records -------------------------------------------------

    @classmethod
    def from_record(
        cls, record: PciDeviceRecord, compute_node_id: int | None = None
    ) -> PciDevice:
        obj = cls(
            compute_node_id=compute_node_id,
            address=record.address,
            vendor_id=record.vendor_id,
            product_id=record.product_id,
            dev_type=record.dev_type,
            parent_addr=record.parent_addr,
            numa_node=record.numa_node,
            status=record.status,
            instance_uuid=record.instance_uuid,
            request_id=record.request_id,
            extra_info=dict(record.extra_info),
        )
        obj.obj_reset_changes()
        return obj

    def to_record(self) -> PciDeviceRecord:
        return PciDeviceRecord(
            address=self.address,
            vendor_id=self.vendor_id,
            product_id=self.product_id,
            dev_type=self.dev_type,
            status=self.status,
            parent_addr=self.obj_get("parent_addr"),
            numa_node=self.obj_get("numa_node"),
            instance_uuid=self.obj_get("instance_uuid"),
            request_id=self.obj_get("request_id"),
            extra_info=dict(self.obj_get("extra_info", {})),
        )


@base.SriovirtObjectRegistry.register
class PciDeviceList(base.SriovirtObjectList[PciDevice], base.SriovirtObject):
    """The PCI devices of one compute node."""

    # Version 1.0: PciDevice 1.1
    VERSION = "1.0"

    #: list version -> PciDevice version (for backports).
    child_versions = {"1.0": "1.1"}  # noqa: RUF012

    fields = {  # noqa: RUF012
        "objects": fields.ListOfObjectsField("PciDevice"),
    }

    @classmethod
    def from_records(
        cls,
        records: list[PciDeviceRecord],
        compute_node_id: int | None = None,
    ) -> PciDeviceList:
        obj = cls(
            objects=[
                PciDevice.from_record(r, compute_node_id) for r in records
            ]
        )
        obj.obj_reset_changes()
        return obj

    def to_records(self) -> list[PciDeviceRecord]:
        return [dev.to_record() for dev in self.objects]
