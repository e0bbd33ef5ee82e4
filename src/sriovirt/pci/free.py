"""The free devices of each pool, and the pools that count them.

:class:`FreePools` gives every tracked device its
:class:`~sriovirt.pci.stats.PoolKey` (one key object per distinct key),
keeps the available devices of each pool and adjusts
:class:`~sriovirt.pci.stats.PciStats` on each move into or out of
``available``: pool counts always equal the free devices and are never
rebuilt.

Which free device a claim takes (:meth:`FreePools.first`) is the one
piece of policy here: the free devices of a pool are grouped by their
parent (a VF's PF), and a group whose parent is not itself free (a PF
already partly used, or not tracked at all) is taken from first, so a
VF claim breaks into a whole free PF only when nothing else is left and
whole PFs stay free for ``direct-physical`` ports.  The groups with such
a "cheap" parent are kept indexed per pool (updated when a device or a
parent moves in or out of ``available``), so picking costs O(1) and no
claim scans a pool.  Nova picks an arbitrary free device instead.

This module must not decide a device's status or know the PF/VF rules:
the tracker says when a device becomes free or stops being free.
"""

from __future__ import annotations

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import PciDevice
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.stats import PciStats

#: A free device's parent (a VF's PF address), or None.
_Parent = PciAddress | None


class FreePools:
    """Pool keys of the tracked devices and the free devices per pool."""

    def __init__(self) -> None:
        self._keys: dict[PciAddress, PoolKey] = {}
        #: Available devices per pool, grouped by parent (None: no
        #: parent), groups and devices in insertion order; never an
        #: empty group.
        self._groups: dict[PoolKey, dict[_Parent, dict[PciAddress, PciDevice]]]
        self._groups = {}
        #: Per pool, the groups whose parent is not free: taking from
        #: them costs no whole free PF.  A device without a parent (a
        #: PF, a plain PCI device) is never cheap.
        self._cheap: dict[PoolKey, dict[_Parent, None]] = {}
        #: Per parent, the pools that hold a group of its children.
        self._parent_pools: dict[PciAddress, dict[PoolKey, None]] = {}
        #: Every available device's address.
        self._free: set[PciAddress] = set()
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
        addr = dev.address
        key = self._keys[addr]
        parent = dev.parent_addr
        groups = self._groups.setdefault(key, {})
        group = groups.get(parent)
        if group is None:
            group = groups[parent] = {}
            if parent is not None:
                self._parent_pools.setdefault(parent, {})[key] = None
            if parent is not None and parent not in self._free:
                self._cheap.setdefault(key, {})[parent] = None
        group[addr] = dev
        self._free.add(addr)
        # A parent that becomes free makes its children's groups dear.
        for child_key in self._parent_pools.get(addr, ()):
            self._cheap[child_key].pop(addr, None)
        self.stats.adjust(key, 1)

    def remove(self, dev: PciDevice) -> None:
        """``dev`` is no longer available."""
        addr = dev.address
        key = self._keys[addr]
        parent = dev.parent_addr
        groups = self._groups[key]
        group = groups[parent]
        del group[addr]
        if not group:
            del groups[parent]
            self._cheap.get(key, {}).pop(parent, None)
            if parent is not None:
                pools = self._parent_pools[parent]
                del pools[key]
                if not pools:
                    del self._parent_pools[parent]
        self._free.discard(addr)
        # A parent no longer free: its children cost nothing more.
        for child_key in self._parent_pools.get(addr, ()):
            self._cheap.setdefault(child_key, {})[addr] = None
        self.stats.adjust(key, -1)

    def prefers(self, key: PoolKey) -> bool:
        """Whether pool ``key`` has a free device whose parent is not
        free: taking it keeps every whole free PF free."""
        return bool(self._cheap.get(key))

    def first(self, key: PoolKey) -> PciDevice | None:
        """The free device of pool ``key`` to take next, if any: one of
        a group whose parent is not free when there is one."""
        groups = self._groups.get(key)
        if not groups:
            return None
        cheap = self._cheap.get(key)
        parent = next(iter(cheap)) if cheap else next(iter(groups))
        return next(iter(groups[parent].values()))
