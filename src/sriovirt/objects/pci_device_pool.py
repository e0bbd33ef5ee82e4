"""PCI device pools as versioned objects, and their JSON form.

A pool is a count of free devices sharing vendor, product, NUMA node and
tags (``dev_type``, ``physical_network``, ...).  The list is stored in
``compute_nodes.pci_stats`` as the JSON that
:meth:`sriovirt.pci.stats.PciStats.to_json` writes::

    [{"vendor_id": "8086", "product_id": "1515", "numa_node": 0,
      "count": 7, "tags": {"dev_type": "type-VF",
                           "physical_network": "physnet1"}}]

:meth:`PciDevicePoolList.from_json` reads exactly that and
:meth:`PciDevicePoolList.to_json` writes it back.  Malformed input is a
:class:`~sriovirt.exception.Invalid` naming the pool and the field.

This module must not import SQLAlchemy or compute pools (that is
:mod:`sriovirt.pci.stats`).
"""

from __future__ import annotations

import json
from typing import Any

from sriovirt import exception
from sriovirt.objects import base

fields = base.fields

#: The keys of one pool in the JSON form; nothing else is accepted.
POOL_KEYS = frozenset(
    {"vendor_id", "product_id", "numa_node", "count", "tags"}
)


def _invalid(where: str, reason: str) -> exception.Invalid:
    place = f"pci_stats {where}" if where else "pci_stats"
    return exception.Invalid(reason=f"{place}: {reason}")


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
    def from_dict(cls, value: object, where: str = "pool") -> PciDevicePool:
        """One pool from its JSON dict; ``where`` names it in errors."""
        if not isinstance(value, dict):
            raise _invalid(where, f"expected an object, got {value!r}")
        unknown = set(value) - POOL_KEYS
        if unknown:
            raise _invalid(where, f"unknown keys {sorted(unknown)}")
        missing = {"vendor_id", "product_id", "count"} - set(value)
        if missing:
            raise _invalid(where, f"missing keys {sorted(missing)}")
        for key in ("vendor_id", "product_id"):
            if not isinstance(value[key], str):
                raise _invalid(where, f"{key} {value[key]!r} is not a string")
        numa = value.get("numa_node")
        if numa is not None and (type(numa) is not int or numa < 0):
            raise _invalid(where, f"numa_node {numa!r} is not an integer")
        count = value["count"]
        if type(count) is not int or count < 0:
            raise _invalid(
                where, f"count {count!r} is not a non-negative integer"
            )
        tags = value.get("tags", {})
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise _invalid(where, f"tags {tags!r} is not an object of strings")
        obj = cls(
            vendor_id=value["vendor_id"],
            product_id=value["product_id"],
            numa_node=numa,
            tags=dict(tags),
            count=count,
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
    def from_list(cls, pools: object) -> PciDevicePoolList:
        if not isinstance(pools, list):
            raise _invalid("", f"expected a list of pools, got {pools!r}")
        obj = cls(
            objects=[
                PciDevicePool.from_dict(pool, where=f"pool #{index}")
                for index, pool in enumerate(pools)
            ]
        )
        obj.obj_reset_changes()
        return obj

    @classmethod
    def from_json(cls, text: str | None) -> PciDevicePoolList:
        """Pools from ``pci_stats`` text; None or empty means no pools."""
        if not text:
            return cls.from_list([])
        try:
            value = json.loads(text)
        except ValueError as error:
            raise _invalid("", f"not JSON ({error})") from None
        return cls.from_list(value)

    def to_list(self) -> list[dict[str, Any]]:
        return [pool.to_dict() for pool in self.objects]

    def to_json(self) -> str:
        # Sorted keys: equal pools always give equal text.
        return json.dumps(self.to_list(), sort_keys=True)
