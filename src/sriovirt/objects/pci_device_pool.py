"""PCI device pools as versioned objects, and their JSON form.

A pool is a count of free devices sharing vendor, product, NUMA node and
tags (``dev_type``, ``physical_network``, ...).  The list is stored in
``compute_nodes.pci_stats`` as the JSON that
:meth:`sriovirt.pci.stats.PciStats.to_json` writes::

    [{"vendor_id": "8086", "product_id": "1515", "numa_node": 0,
      "count": 7, "tags": {"dev_type": "type-VF",
                           "physical_network": "physnet1"}}]

:meth:`PciDevicePoolList.from_json` reads it with
:meth:`~sriovirt.pci.stats.PciStats.from_json`, the one parser of that
format (malformed input is its
:class:`~sriovirt.exception.InvalidPciStats` naming the pool and the
field); :meth:`PciDevicePoolList.to_json` writes it back.

This module must not import SQLAlchemy, parse the pools JSON itself or
compute pools (that is :mod:`sriovirt.pci.stats`).
"""

from __future__ import annotations

import json
from typing import Any

from sriovirt.objects import base
from sriovirt.pci.stats import PciStats, Pool

fields = base.fields

#: How errors name the stored text.
SOURCE = "compute_nodes.pci_stats"


@base.SriovirtObjectRegistry.register
class PciDevicePool(base.SriovirtObject):
    """How many free devices of one kind a node has."""

    # Version 1.0: initial
    VERSION = "1.0"

    fields = {  # noqa: RUF012
        "vendor_id": fields.StringField(),
        "product_id": fields.StringField(),
        "numa_node": fields.IntegerField(nullable=True),
        "tags": fields.DictOfStringsField(),
        "count": fields.IntegerField(),
    }

    vendor_id: str
    product_id: str
    numa_node: int | None
    tags: dict[str, str]
    count: int

    @classmethod
    def from_pool(cls, pool: Pool) -> PciDevicePool:
        """From a pool of :class:`~sriovirt.pci.stats.PciStats`."""
        obj = cls(
            vendor_id=pool.key.vendor_id,
            product_id=pool.key.product_id,
            numa_node=pool.key.numa_node,
            tags=pool.key.tag_dict(),
            count=pool.count,
        )
        obj.obj_reset_changes()
        return obj

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "numa_node": self.obj_get("numa_node"),
            "count": self.count,
            "tags": dict(self.obj_get("tags", {})),
        }


@base.SriovirtObjectRegistry.register
class PciDevicePoolList(
    base.SriovirtObjectList[PciDevicePool], base.SriovirtObject
):
    """The pools of one compute node (``compute_nodes.pci_stats``)."""

    # Version 1.0: PciDevicePool 1.0
    VERSION = "1.0"

    child_versions = {"1.0": "1.0"}  # noqa: RUF012

    fields = {  # noqa: RUF012
        "objects": fields.ListOfObjectsField("PciDevicePool"),
    }

    @classmethod
    def from_stats(cls, stats: PciStats) -> PciDevicePoolList:
        """The non-empty pools of ``stats``, in its order."""
        obj = cls(objects=[PciDevicePool.from_pool(p) for p in stats.pools])
        obj.obj_reset_changes()
        return obj

    @classmethod
    def from_json(cls, text: str | None) -> PciDevicePoolList:
        """Pools from ``pci_stats`` text; None or empty means no pools.

        Parsed by :meth:`PciStats.from_json
        <sriovirt.pci.stats.PciStats.from_json>`: the same rules and
        messages wherever the stored pools are read.
        """
        return cls.from_stats(PciStats.from_json(text or "[]", source=SOURCE))

    def to_list(self) -> list[dict[str, Any]]:
        return [pool.to_dict() for pool in self.objects]

    def to_json(self) -> str:
        # Sorted keys: equal pools always give equal text.
        return json.dumps(self.to_list(), sort_keys=True)
