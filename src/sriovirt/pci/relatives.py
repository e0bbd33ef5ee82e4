"""PF/VF relatives of the tracked devices: who blocks whom.

The rules :class:`~sriovirt.pci.tracker.PciTracker` keeps:

* a claimed (allocated) VF makes its PF unclaimable (unavailable);
* a claimed (allocated) PF makes its VFs unclaimable (unavailable);
* a PF becomes available again only when none of its VFs is in use;
  freeing a PF makes its VFs available.

:class:`Relatives` holds the VFs of each PF and, per PF, how many of its
VFs are claimed and allocated, so the status a device not in use must
have (:meth:`Relatives.blocker`) costs O(1), and a change of use touches
only the device's PF or VFs.

This module must not change a device's status or touch pools: it
answers, the tracker moves devices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DeviceStatus, DevType, PciDevice

_CLAIMED = DeviceStatus.CLAIMED
_ALLOCATED = DeviceStatus.ALLOCATED


class Relatives:
    """The PF/VF graph of the tracked devices and the VF use counts."""

    def __init__(self) -> None:
        #: VFs by their PF's address (the PF may be untracked).
        self._children: dict[PciAddress, dict[PciAddress, PciDevice]] = {}
        #: Per PF address: how many of its VFs are claimed / allocated.
        self._vf_claimed: dict[PciAddress, int] = {}
        self._vf_allocated: dict[PciAddress, int] = {}

    def add(self, dev: PciDevice) -> None:
        """Start tracking ``dev`` as the VF of its parent, if any."""
        parent = dev.parent_addr
        if parent is not None:
            self._children.setdefault(parent, {})[dev.address] = dev

    def discard(self, dev: PciDevice) -> None:
        """Stop tracking ``dev`` as a VF (it was :meth:`add`-ed)."""
        parent = dev.parent_addr
        if parent is not None:
            siblings = self._children[parent]
            del siblings[dev.address]
            if not siblings:
                del self._children[parent]

    def children(self, pf: PciAddress) -> Iterable[PciDevice]:
        """The tracked VFs of the PF at ``pf``."""
        return self._children.get(pf, {}).values()

    def blocker(
        self, dev: PciDevice, devices: Mapping[PciAddress, PciDevice]
    ) -> DeviceStatus:
        """The status a not-in-use device must have, given its relatives
        (``devices``: every tracked device by address)."""
        if dev.dev_type is DevType.PF:
            addr = dev.address
            if self._vf_allocated.get(addr):
                return DeviceStatus.UNAVAILABLE
            if self._vf_claimed.get(addr):
                return DeviceStatus.UNCLAIMABLE
        elif dev.parent_addr is not None:
            parent = devices.get(dev.parent_addr)
            if parent is not None:
                if parent.status is _ALLOCATED:
                    return DeviceStatus.UNAVAILABLE
                if parent.status is _CLAIMED:
                    return DeviceStatus.UNCLAIMABLE
        return DeviceStatus.AVAILABLE

    def count_use(
        self,
        parent: PciAddress,
        old: DeviceStatus | None,
        new: DeviceStatus | None,
    ) -> None:
        """A VF of ``parent`` moved from use ``old`` to ``new`` (claimed,
        allocated or None)."""
        for status, delta in ((old, -1), (new, 1)):
            if status is _CLAIMED:
                counts = self._vf_claimed
            elif status is _ALLOCATED:
                counts = self._vf_allocated
            else:
                continue
            counts[parent] = counts.get(parent, 0) + delta
            if not counts[parent]:
                del counts[parent]
