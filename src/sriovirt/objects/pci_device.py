"""The ``PciDevice`` versioned object: one tracked PCI function as stored.

Version history (each bump needs an ``obj_make_compatible`` rule and a new
fingerprint in ``tests/unit/objects/test_fingerprints.py``):

* 1.0: initial (no ``request_id``).
* 1.1: ``request_id``, the PCI request (one per SR-IOV port) that claimed
  the device; dropped when talking to 1.0.

``extra_info`` holds the device's spec tags (``physical_network``,
``trusted``, ...) and the reserved keys :data:`RESERVED_INFO_KEYS`.

Conversions: from/to :class:`~sriovirt.db.records.PciDeviceRecord` (the
database's plain values) and from/to the tracker's
:class:`~sriovirt.pci.device.PciDevice`.  This module must not import
SQLAlchemy or do I/O.
"""

from __future__ import annotations

from typing import Any

from sriovirt.db.records import PciDeviceRecord
from sriovirt.objects import base
from sriovirt.pci import device as pci_device
from sriovirt.pci import tracker

fields = base.fields

#: extra_info keys that are not spec tags.
IFNAME = "ifname"
PARENT_IFNAME = "parent_ifname"
PENDING_REMOVAL = "pending_removal"
RESERVED_INFO_KEYS = frozenset({IFNAME, PARENT_IFNAME, PENDING_REMOVAL})
PHYSICAL_NETWORK = "physical_network"


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

    # --- the tracker's devices --------------------------------------------

    @classmethod
    def from_tracked(
        cls,
        dev: pci_device.PciDevice,
        compute_node_id: int | None = None,
    ) -> PciDevice:
        """The stored form of a device tracked by the PCI tracker."""
        info = dev.tag_dict
        if dev.host.ifname is not None:
            info[IFNAME] = dev.host.ifname
        if dev.host.parent_ifname is not None:
            info[PARENT_IFNAME] = dev.host.parent_ifname
        if dev.pending_removal:
            info[PENDING_REMOVAL] = "true"
        obj = cls(
            compute_node_id=compute_node_id,
            address=str(dev.address),
            vendor_id=dev.vendor_id,
            product_id=dev.product_id,
            dev_type=dev.dev_type.value,
            parent_addr=(
                str(dev.parent_addr) if dev.parent_addr is not None else None
            ),
            numa_node=dev.numa_node,
            status=dev.status.value,
            instance_uuid=dev.instance_uuid,
            request_id=dev.request_id,
            extra_info=info,
        )
        return obj

    def to_stored(self) -> tracker.DeviceRecord:
        """What :meth:`PciTracker.restore` rebuilds this device from.

        Carries the pool identity (physical network, tags) and netdev
        names, so a device in use that vanished from the host keeps its
        tags until it is freed.
        """
        info = dict(self.obj_get("extra_info", {}))
        ifname = info.pop(IFNAME, None)
        parent_ifname = info.pop(PARENT_IFNAME, None)
        info.pop(PENDING_REMOVAL, None)
        physnet = info.pop(PHYSICAL_NETWORK, None)
        return tracker.DeviceRecord(
            address=self.address,
            status=self.status,
            vendor_id=self.vendor_id,
            product_id=self.product_id,
            dev_type=self.dev_type,
            parent_addr=self.obj_get("parent_addr"),
            numa_node=self.obj_get("numa_node"),
            instance_uuid=self.obj_get("instance_uuid"),
            request_id=self.obj_get("request_id"),
            physical_network=physnet,
            tags=tuple(sorted(info.items())),
            ifname=ifname,
            parent_ifname=parent_ifname,
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
