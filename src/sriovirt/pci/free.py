"""The free devices of each pool, and the pools that count them.

:class:`FreePools` gives every tracked device its
:class:`~sriovirt.pci.stats.PoolKey` (one key object per distinct key),
keeps the available devices of each pool in insertion order (a claim
takes the first) and adjusts :class:`~sriovirt.pci.stats.PciStats` on
each move into or out of ``available``: pool counts always equal the
free devices and are never rebuilt.

This module must not decide a device's status or know the PF/VF rules:
the tracker says when a device becomes free or stops being free.
"""

from __future__ import annotations

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import PciDevice
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.stats import PciStats


class FreePools:
    """Pool keys of the tracked devices and the free devices per pool."""

    def __init__(self) -> None:
        self._keys: dict[PciAddress, PoolKey] = {}
        #: Available devices per pool, in insertion order (for picking).
        self._free: dict[PoolKey, dict[PciAddress, PciDevice]] = {}
        #: The counts of the free devices, pool by pool.
        self.stats = PciStats()
        self._key_cache: dict[tuple[object, ...], PoolKey] = {}

    def key(self, address: PciAddress) -> PoolKey:
        """The pool of the tracked device at ``address``."""
        return self._keys[address]

    def assign(self, dev: PciDevice) -> None:
        """Give a newly tracked device its pool key (not yet free)."""
        raw = (
            dev.vendor_id,
            dev.product_id,
            dev.numa_node,
            dev.dev_type,
            dev.physical_network,
            dev.tags,
        )
        key = self._key_cache.get(raw)
        if key is None:
            key = PoolKey(*raw)
            self._key_cache[raw] = key
        self._keys[dev.address] = key

    def forget(self, address: PciAddress) -> None:
        """Drop the key of a device no longer tracked (not free)."""
        del self._keys[address]

    def add(self, dev: PciDevice) -> None:
        """``dev`` became available."""
        key = self._keys[dev.address]
        self._free.setdefault(key, {})[dev.address] = dev
        self.stats.adjust(key, 1)

    def remove(self, dev: PciDevice) -> None:
        """``dev`` is no longer available."""
        key = self._keys[dev.address]
        del self._free[key][dev.address]
        self.stats.adjust(key, -1)

    def first(self, key: PoolKey) -> PciDevice | None:
        """The free device of pool ``key`` to take next, if any."""
        free = self._free.get(key)
        return next(iter(free.values())) if free else None
