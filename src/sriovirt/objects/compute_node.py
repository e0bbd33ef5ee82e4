"""The ``ComputeNode`` versioned object: one hypervisor of a host.

Carries the node's identity and its PCI pools (``pci_device_pools``,
stored as the JSON text of ``compute_nodes.pci_stats``).  Converts
from/to :class:`~sriovirt.db.records.ComputeNodeRecord`.

This module must not import SQLAlchemy or do I/O.
"""

from __future__ import annotations

from sriovirt.db.records import ComputeNodeRecord
from sriovirt.objects import base
from sriovirt.objects.pci_device_pool import PciDevicePoolList

fields = base.fields


@base.SriovirtObjectRegistry.register
class ComputeNode(base.SriovirtObject):
    """A compute node (host + hypervisor_hostname) and its PCI pools."""

    # Version 1.0: initial
    VERSION = "1.0"

    fields = {  # noqa: RUF012
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
        "host": fields.StringField(),
        "hypervisor_hostname": fields.StringField(),
        "pci_device_pools": fields.ObjectField(
            "PciDevicePoolList", nullable=True
        ),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
    }

    id: int
    uuid: str
    host: str
    hypervisor_hostname: str
    pci_device_pools: PciDevicePoolList | None

    @classmethod
    def from_record(cls, record: ComputeNodeRecord) -> ComputeNode:
        pools = (
            PciDevicePoolList.from_json(record.pci_stats)
            if record.pci_stats is not None
            else None
        )
        obj = cls(
            id=record.id,
            uuid=record.uuid,
            host=record.host,
            hypervisor_hostname=record.hypervisor_hostname,
            pci_device_pools=pools,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
        obj.obj_reset_changes()
        return obj

    def pci_stats_json(self) -> str | None:
        """``pci_device_pools`` as ``compute_nodes.pci_stats`` text."""
        pools = self.obj_get("pci_device_pools")
        return pools.to_json() if pools is not None else None

    def to_record(self) -> ComputeNodeRecord:
        return ComputeNodeRecord(
            id=self.id,
            uuid=self.uuid,
            host=self.host,
            hypervisor_hostname=self.hypervisor_hostname,
            pci_stats=self.pci_stats_json(),
            created_at=self.obj_get("created_at"),
            updated_at=self.obj_get("updated_at"),
        )
