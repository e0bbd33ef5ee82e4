"""Pool values: what makes free devices interchangeable, and a pick.

:class:`PoolKey` is the identity of a pool of free devices (ids, NUMA
node, device type, physical network and the other tags of the matching
whitelist entry), :class:`Pool` a key with its count and
:class:`Selection` what :meth:`~sriovirt.pci.stats.PciStats.select`
picked for one request.  :mod:`sriovirt.pci.stats` counts them,
:mod:`sriovirt.pci.filters` narrows them and :mod:`sriovirt.pci.tracker`
files devices under them; this leaf module lets all three share the
values without importing each other.

This module holds frozen values only: it must not count, filter or
track devices, and must not import stats, filters or the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sriovirt.pci.device import DevType
from sriovirt.pci.request import PciRequest


@dataclass(frozen=True, slots=True)
class PoolKey:
    """What makes devices interchangeable for a request."""

    vendor_id: str
    product_id: str
    numa_node: int | None
    dev_type: DevType
    physical_network: str | None = None
    #: The other tags of the matching entry, sorted ``(name, value)``.
    tags: tuple[tuple[str, str], ...] = ()

    #: Every ``(name, value)`` a request spec may test, for subset checks.
    items: frozenset[tuple[str, str]] = field(
        init=False, repr=False, compare=False
    )
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = {
            ("vendor_id", self.vendor_id),
            ("product_id", self.product_id),
            ("dev_type", self.dev_type.value),
        }
        if self.physical_network is not None:
            items.add(("physical_network", self.physical_network))
        items.update(self.tags)
        object.__setattr__(self, "items", frozenset(items))
        object.__setattr__(
            self,
            "_hash",
            hash(
                (
                    self.vendor_id,
                    self.product_id,
                    self.numa_node,
                    self.dev_type,
                    self.physical_network,
                    self.tags,
                )
            ),
        )

    def __hash__(self) -> int:
        # Cached: keys are hashed on every device state change.
        return self._hash

    def sort_key(self) -> tuple[object, ...]:
        return (
            self.vendor_id,
            self.product_id,
            self.numa_node is None,
            self.numa_node or 0,
            self.dev_type.value,
            self.physical_network or "",
            self.tags,
        )

    def tag_dict(self) -> dict[str, str]:
        """``tags`` of the JSON form: dev_type, physical_network, others."""
        out = dict(self.tags)
        out["dev_type"] = self.dev_type.value
        if self.physical_network is not None:
            out["physical_network"] = self.physical_network
        return out


@dataclass(frozen=True, slots=True)
class Pool:
    """A reported pool: key and (non-zero) count of free devices."""

    key: PoolKey
    count: int


@dataclass(frozen=True, slots=True)
class Selection:
    """What :meth:`PciStats.select` picked for one request."""

    request: PciRequest
    #: ``(pool key, devices)`` in the order they were taken.
    takes: tuple[tuple[PoolKey, int], ...]
