"""The PCI tracker: which whitelisted device is free, claimed or allocated.

:class:`PciTracker` owns the :class:`~sriovirt.pci.device.PciDevice`
records of one host.  It turns each inventory refresh into adds, updates
and removals (:meth:`PciTracker.sync`), claims devices for an instance's
PCI requests all or nothing (:meth:`PciTracker.claim`), allocates and
frees them, and keeps the PF/VF rules:

* a claimed (allocated) VF makes its PF unclaimable (unavailable);
* a claimed (allocated) PF makes its VFs unclaimable (unavailable);
* a PF becomes available again only when none of its VFs is in use;
  freeing a PF makes its VFs available.

A blocked device's status is *derived* from its relatives (the PF keeps
counts of its claimed and allocated VFs), so every change is O(1) per
device (O(VFs) when a PF itself changes) and the pools of
:class:`~sriovirt.pci.stats.PciStats` are adjusted on each move into or
out of ``available``: pool counts always equal the free devices and are
never rebuilt.  ``sync`` is linear in the number of devices and reports
what changed, so a refresh with nothing new costs one dict pass and no
database write.

This module is one concept though over 400 lines: sync, claims and
restore are the writers of one state (the tracked devices, their owners,
their pools and relatives), and every move goes through the same
attach/detach/status-change steps so the invariants (pool counts equal
the free devices, the PF/VF rules) are kept in one place; splitting the
writers apart would spread that private state.  What does not need it
lives beside it: :mod:`sriovirt.pci.free` (free devices per pool),
:mod:`sriovirt.pci.relatives` (PF/VF bookkeeping),
:mod:`sriovirt.pci.restore` (what stored records mean at a restart) and
:mod:`sriovirt.pci.record` (the stored form of a device,
:class:`~sriovirt.pci.record.PciDeviceRecord`, what
:meth:`PciTracker.records` returns and :meth:`PciTracker.restore`
takes).

This module must not read configuration, talk to libvirt or the
database: the whitelist, the inventory and stored records come in as
values.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from sriovirt import exception
from sriovirt.pci import record as pci_record
from sriovirt.pci import restore as pci_restore
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import (
    IN_USE,
    DeviceStatus,
    DevType,
    HostPciDevice,
    PciDevice,
)
from sriovirt.pci.free import FreePools
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.record import PciDeviceRecord
from sriovirt.pci.relatives import Relatives
from sriovirt.pci.request import PciRequest
from sriovirt.pci.restore import RestoreResult
from sriovirt.pci.stats import PciStats

__all__ = [
    "DeviceMatcher",
    "PciDeviceRecord",
    "PciTracker",
    "RestoreResult",
    "SpecLike",
    "SyncResult",
]

LOG = logging.getLogger(__name__)

_AVAILABLE = DeviceStatus.AVAILABLE
_CLAIMED = DeviceStatus.CLAIMED
_ALLOCATED = DeviceStatus.ALLOCATED
#: Tags that are fields of their own in pools.
_NOT_TAGS = frozenset({"physical_network", "dev_type"})


class SpecLike(Protocol):
    """What the tracker reads of a matching whitelist entry."""

    @property
    def physical_network(self) -> str | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


class DeviceMatcher(Protocol):
    """:class:`~sriovirt.pci.whitelist.Whitelist`, as the tracker uses it."""

    def match(self, dev: HostPciDevice) -> SpecLike | None: ...


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What :meth:`PciTracker.sync` changed; falsy ``changed`` = skip DB."""

    added: tuple[PciAddress, ...] = ()
    updated: tuple[PciAddress, ...] = ()
    removed: tuple[PciAddress, ...] = ()
    #: In use and gone from the host/whitelist this time: kept until
    #: freed, then removed.
    kept_in_use: tuple[PciAddress, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(
            self.added or self.updated or self.removed or self.kept_in_use
        )


class PciTracker:
    """The PCI devices of one host and their pools."""

    def __init__(self, whitelist: DeviceMatcher) -> None:
        self._whitelist = whitelist
        self._devices: dict[PciAddress, PciDevice] = {}
        self._relatives = Relatives()
        self._by_instance: dict[str, dict[PciAddress, PciDevice]] = {}
        self._pools = FreePools()
        #: Bumped by every change of the tracked state (devices, their
        #: status or owner), so a persister can tell "nothing to write".
        self.generation = 0
        #: Addresses whose record changed since :meth:`take_changes`.
        self._changed: set[PciAddress] = set()
        self._spec_cache: dict[
            int, tuple[SpecLike, str | None, tuple[tuple[str, str], ...]]
        ] = {}
        #: The last sync's verdict per address: the host description it
        #: matched (True) or not (False) under the current whitelist.  A
        #: steady refresh re-matches only what changed since.
        self._seen: dict[PciAddress, tuple[HostPciDevice, bool]] = {}

    # --- reading ----------------------------------------------------------

    @property
    def devices(self) -> tuple[PciDevice, ...]:
        """Every tracked device (a snapshot; records owned by the tracker)."""
        return tuple(self._devices.values())

    def get(self, address: PciAddress | str) -> PciDevice:
        addr = (
            address
            if isinstance(address, PciAddress)
            else PciAddress.parse(address)
        )
        dev = self._devices.get(addr)
        if dev is None:
            raise exception.PciDeviceNotFound(address=addr)
        return dev

    def holders(self) -> frozenset[str]:
        """The instances holding (claimed or allocated) any device."""
        return frozenset(self._by_instance)

    def devices_of(self, instance_uuid: str) -> list[PciDevice]:
        return list(self._by_instance.get(instance_uuid, {}).values())

    @property
    def instances(self) -> frozenset[str]:
        return frozenset(self._by_instance)

    @property
    def stats(self) -> PciStats:
        """A copy of the pools (O(pools)); the tracker's stay consistent."""
        return self._pools.stats.copy()

    def pool_key(self, address: PciAddress) -> PoolKey:
        return self._pools.key(address)

    def records(self) -> list[PciDeviceRecord]:
        """Every tracked device as a storable record."""
        return [pci_record.to_record(dev) for dev in self._devices.values()]

    def take_changes(self) -> dict[str, PciDeviceRecord | None]:
        """The records of the devices whose status, owner or presence
        changed since the last call (None: no longer tracked), by
        address; then forgets them.  Costs what changed.  Attribute
        updates by :meth:`sync` are not in it: a persister stores a sync
        whole."""
        changed = {
            str(addr): (
                None
                if (dev := self._devices.get(addr)) is None
                else pci_record.to_record(dev)
            )
            for addr in self._changed
        }
        self._changed.clear()
        return changed

    def set_whitelist(self, whitelist: DeviceMatcher) -> None:
        """Use another whitelist from the next :meth:`sync` on."""
        self._whitelist = whitelist
        self._spec_cache.clear()
        self._seen.clear()

    # --- discovery --------------------------------------------------------

    def sync(self, devices: Iterable[HostPciDevice]) -> SyncResult:
        """Make the tracked devices follow the host inventory.

        Linear: one pass over the inventory, one over the tracked devices.
        """
        matched, added, updated = self._follow(devices)
        removed, kept = self._drop_unmatched(matched)
        return SyncResult(
            tuple(added), tuple(updated), tuple(removed), tuple(kept)
        )

    def _follow(
        self, devices: Iterable[HostPciDevice]
    ) -> tuple[set[PciAddress], list[PciAddress], list[PciAddress]]:
        """Track every device the whitelist matches, re-matching only
        what changed since the last sync: (matched, added, updated)."""
        match = self._whitelist.match
        matched: set[PciAddress] = set()
        added: list[PciAddress] = []
        updated: list[PciAddress] = []
        seen = self._seen
        now_seen: dict[PciAddress, tuple[HostPciDevice, bool]] = {}
        for host in {d.address: d for d in devices}.values():
            addr = host.address
            if self._unchanged(seen.get(addr), host):
                now_seen[addr] = seen[addr]
                if seen[addr][1]:
                    matched.add(addr)
                continue
            spec = match(host)
            now_seen[addr] = (host, spec is not None)
            if spec is None:
                continue
            matched.add(addr)
            done = self._track(host, spec)
            if done == "added":
                added.append(addr)
            elif done == "updated":
                updated.append(addr)
        self._seen = now_seen
        return matched, added, updated

    def _track(
        self, host: HostPciDevice, spec: SpecLike
    ) -> Literal["added", "updated"] | None:
        """Add or update the device ``spec`` matched; what was done."""
        physnet, tags = self._spec_tags(spec)
        dev = self._devices.get(host.address)
        if dev is None:
            self._add(host, physnet, tags)
            return "added"
        if (
            (dev.host is host or dev.host == host)
            and dev.physical_network == physnet
            and dev.tags == tags
            and not dev.pending_removal
        ):
            return None
        self._update(dev, host, physnet, tags)
        return "updated"

    def _drop_unmatched(
        self, matched: set[PciAddress]
    ) -> tuple[list[PciAddress], list[PciAddress]]:
        """Remove the tracked devices not matched this time, keeping
        those in use until freed: (removed, kept in use)."""
        tracked = self._devices
        removed: list[PciAddress] = []
        kept: list[PciAddress] = []
        if len(matched) == len(tracked):
            return removed, kept
        for addr in [a for a in tracked if a not in matched]:
            dev = tracked[addr]
            if not dev.in_use:
                self._remove(dev)
                removed.append(addr)
            elif not dev.pending_removal:
                dev.pending_removal = True
                kept.append(addr)
                LOG.warning(
                    "PCI device %s is %s by instance %s but is gone "
                    "from the host or no longer matches the "
                    "whitelist; keeping it until it is freed",
                    addr,
                    dev.status,
                    dev.instance_uuid,
                )
        return removed, kept

    def _unchanged(
        self, last: tuple[HostPciDevice, bool] | None, host: HostPciDevice
    ) -> bool:
        """Same description, same whitelist, and the verdict still holds.

        The verdict is checked against the tracked state, which other
        paths (a freed device pending removal) may have changed.
        """
        if last is None or not (last[0] is host or last[0] == host):
            return False
        dev = self._devices.get(host.address)
        if not last[1]:
            return dev is None
        return dev is not None and not dev.pending_removal

    def _spec_tags(
        self, spec: SpecLike
    ) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        # Whitelists return the same entry objects every time: cache by
        # identity (holding the entry, so its id cannot be reused).
        hit = self._spec_cache.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1], hit[2]
        tags = tuple(
            sorted((k, v) for k, v in spec.tags.items() if k not in _NOT_TAGS)
        )
        self._spec_cache[id(spec)] = (spec, spec.physical_network, tags)
        return spec.physical_network, tags

    def _add(
        self,
        host: HostPciDevice,
        physnet: str | None,
        tags: tuple[tuple[str, str], ...],
    ) -> PciDevice:
        dev = PciDevice(host=host, physical_network=physnet, tags=tags)
        self._attach(dev)
        return dev

    def _update(
        self,
        dev: PciDevice,
        host: HostPciDevice,
        physnet: str | None,
        tags: tuple[tuple[str, str], ...],
    ) -> None:
        # Detach from pools and relatives, change, attach again: the same
        # code path as add/remove, so no special case can drift.
        self._detach(dev)
        dev.host = host
        dev.physical_network = physnet
        dev.tags = tags
        dev.pending_removal = False
        self._attach(dev)

    def _remove(self, dev: PciDevice) -> None:
        self._detach(dev)
        dev.remove()

    def _attach(self, dev: PciDevice) -> None:
        self.generation += 1
        addr = dev.address
        self._changed.add(addr)
        self._devices[addr] = dev
        self._pools.assign(dev)
        self._relatives.add(dev)
        if dev.in_use:
            self._use_changed(dev, None, dev.status)
        else:
            if dev.status is _AVAILABLE:
                self._pools.add(dev)
            self._rederive(dev)

    def _detach(self, dev: PciDevice) -> None:
        self.generation += 1
        addr = dev.address
        self._changed.add(addr)
        if dev.status is _AVAILABLE:
            self._pools.remove(dev)
        del self._devices[addr]
        if dev.in_use:
            self._use_changed(dev, dev.status, None)
        self._relatives.discard(dev)
        self._pools.forget(addr)

    # --- pools and relatives ----------------------------------------------

    def _rederive(self, dev: PciDevice) -> None:
        target = self._relatives.blocker(dev, self._devices)
        old = dev.status
        if target is old:
            return
        self._changed.add(dev.address)
        if target is _AVAILABLE:
            dev.unblock()
            self._pools.add(dev)
        else:
            dev.block(target)
            if old is _AVAILABLE:
                self._pools.remove(dev)

    def _use_changed(
        self,
        dev: PciDevice,
        old: DeviceStatus | None,
        new: DeviceStatus | None,
    ) -> None:
        """Update relatives after ``dev`` moved between use states."""
        old = old if old in IN_USE else None
        new = new if new in IN_USE else None
        if old is new:
            return
        parent = dev.parent_addr
        if parent is not None:
            self._relatives.count_use(parent, old, new)
            pf = self._devices.get(parent)
            if pf is not None and not pf.in_use:
                self._rederive(pf)
        if dev.dev_type is DevType.PF:
            for child in self._relatives.children(dev.address):
                if not child.in_use:
                    self._rederive(child)

    def _set(self, dev: PciDevice, old: DeviceStatus) -> None:
        """Book-keeping after ``dev`` moved from ``old`` (claim/alloc/free)."""
        self.generation += 1
        self._changed.add(dev.address)
        new = dev.status
        if old is _AVAILABLE and new is not _AVAILABLE:
            self._pools.remove(dev)
        elif new is _AVAILABLE and old is not _AVAILABLE:
            self._pools.add(dev)
        self._use_changed(dev, old, new)
        if new is _AVAILABLE:
            # Freed while a relative was (still) in use: blocked.
            self._rederive(dev)

    # --- claims -----------------------------------------------------------

    def claim(
        self,
        instance_uuid: str,
        requests: Iterable[PciRequest],
        numa_cells: Iterable[int] | None = None,
        pinned: Mapping[str, PciAddress] | None = None,
    ) -> list[PciDevice]:
        """Claim devices for every request, all or nothing.

        ``pinned`` maps a request id to a PF address: that request is
        served by exactly that PF (a ``type-PF`` request) or by VFs
        whose parent it is (the PF provider Placement allocated from).
        Raises :class:`~sriovirt.exception.PciRequestUnsatisfiable` (with
        the stage) and leaves the tracker unchanged when any request
        cannot be served.
        """
        reqs = list(requests)
        ids = [r.request_id for r in reqs]
        if len(set(ids)) != len(ids):
            raise exception.InvalidPciRequest(
                request_id=", ".join(
                    sorted({i for i in ids if ids.count(i) > 1})
                ),
                reason="the same request_id appears twice in one claim",
            )
        cells = None if numa_cells is None else frozenset(numa_cells)
        done: list[PciDevice] = []
        try:
            for req in reqs:
                pf = (pinned or {}).get(req.request_id)
                if pf is None:
                    self._claim_request(instance_uuid, req, cells, done)
                else:
                    self._claim_pinned(instance_uuid, req, pf, done)
        except BaseException:
            for dev in reversed(done):
                self._free_one(dev, instance_uuid)
            raise
        return done

    def _claim_request(
        self,
        instance_uuid: str,
        req: PciRequest,
        cells: frozenset[int] | None,
        done: list[PciDevice],
    ) -> None:
        """Claim ``req.count`` devices, one per round.

        Each round plans the rest of the request (the error names the
        stage that failed) and takes one device from the plan's first
        pool: claiming a VF may block a PF pool and vice versa, so the
        next round plans again on what is left.  Plans prefer pools,
        and picks in a pool prefer devices, whose parent PF is not free
        (see :mod:`sriovirt.pci.free`), so whole PFs stay free.
        """
        stats = self._pools.stats
        prefer = self._pools.prefers
        need = req.count
        while need:
            ask = (
                req
                if need == req.count
                else dataclasses.replace(req, count=need)
            )
            (selection,) = stats.select([ask], cells, prefer)
            key = selection.takes[0][0]
            dev = self._pools.first(key)
            if dev is None:  # pragma: no cover - pools out of sync
                raise exception.PciRequestUnsatisfiable(
                    request_id=req.request_id,
                    reason="pools and free devices disagree (a bug)",
                    stage="count",
                )
            self._claim_one(dev, instance_uuid, req.request_id)
            done.append(dev)
            need -= 1

    def _claim_pinned(
        self,
        instance_uuid: str,
        req: PciRequest,
        pf: PciAddress,
        done: list[PciDevice],
    ) -> None:
        """Claim ``req.count`` free devices of PF ``pf`` (the PF itself,
        or its VFs) that match one of the request's alternatives."""
        pf_dev = self._devices.get(pf)
        family = [
            *([pf_dev] if pf_dev is not None else []),
            *self._relatives.children(pf),
        ]
        need = req.count
        for dev in family:
            if not need:
                break
            if dev.status is not _AVAILABLE:
                continue
            items = self._pools.key(dev.address).items
            if not any(
                alt.required <= items and alt.forbidden.isdisjoint(items)
                for alt in req.spec
            ):
                continue
            self._claim_one(dev, instance_uuid, req.request_id)
            done.append(dev)
            need -= 1
        if need:
            raise exception.PciRequestUnsatisfiable(
                request_id=req.request_id,
                reason=f"PF {pf} (the provider Placement allocated from) "
                f"has {req.count - need} free device(s) matching "
                f"{'; or '.join(str(a) for a in req.spec)}, "
                f"{req.count} wanted",
                stage="pinned PF",
            )

    def _claim_one(
        self, dev: PciDevice, instance_uuid: str, request_id: str | None
    ) -> None:
        old = dev.status
        dev.claim(instance_uuid, request_id)
        self._set(dev, old)
        self._by_instance.setdefault(instance_uuid, {})[dev.address] = dev

    def _free_one(self, dev: PciDevice, instance_uuid: str) -> None:
        old = dev.status
        dev.free(instance_uuid)
        owned = self._by_instance.get(instance_uuid)
        if owned is not None:
            owned.pop(dev.address, None)
            if not owned:
                del self._by_instance[instance_uuid]
        self._set(dev, old)
        if dev.pending_removal:
            LOG.info(
                "PCI device %s freed by instance %s is gone from the "
                "host or whitelist; removing it",
                dev.address,
                instance_uuid,
            )
            self._remove(dev)

    def allocate(self, instance_uuid: str) -> list[PciDevice]:
        """Allocate every device the instance has claimed."""
        out = []
        for dev in list(self._by_instance.get(instance_uuid, {}).values()):
            if dev.status is _CLAIMED:
                dev.allocate(instance_uuid)
                self._set(dev, _CLAIMED)
                out.append(dev)
        return out

    def free(
        self,
        instance_uuid: str,
        statuses: Collection[DeviceStatus] = IN_USE,
    ) -> list[PciDevice]:
        """Free the instance's devices; unknown instances free nothing."""
        owned = self._by_instance.get(instance_uuid)
        if not owned:
            return []
        out = [dev for dev in owned.values() if dev.status in statuses]
        for dev in out:
            self._free_one(dev, instance_uuid)
        return out

    def release(
        self, instance_uuid: str, claimed: Mapping[PciAddress, str | None]
    ) -> list[PciDevice]:
        """Free the devices of one claim: each address of ``claimed``
        that ``instance_uuid`` still uses (claimed or allocated) for the
        same request id.  Others are left alone, so releasing twice
        frees nothing more and a later claim's devices are kept."""
        owned = self._by_instance.get(instance_uuid, {})
        out = [
            owned[a]
            for a, request_id in claimed.items()
            if a in owned and owned[a].request_id == request_id
        ]
        for dev in out:
            self._free_one(dev, instance_uuid)
        return out

    def release_claims_except(
        self, instance_uuids: Iterable[str], *, allocated_too: bool = False
    ) -> list[PciDevice]:
        """Free claims of every instance not in ``instance_uuids``.

        At restart: claims of boots that never finished are released;
        with ``allocated_too``, also devices of instances that no longer
        exist.
        """
        keep = frozenset(instance_uuids)
        statuses = IN_USE if allocated_too else frozenset({_CLAIMED})
        out: list[PciDevice] = []
        for uuid in [u for u in self._by_instance if u not in keep]:
            out.extend(self.free(uuid, statuses))
        return out

    # --- restart ----------------------------------------------------------

    def restore(
        self,
        records: Iterable[PciDeviceRecord],
        devices: Iterable[HostPciDevice] | None = None,
    ) -> RestoreResult:
        """Rebuild claims and allocations from stored records.

        ``devices`` (the current inventory) is synced first when given.
        Records of devices in use that are no longer on the host are
        tracked from the record's facts and removed when freed; records
        that contradict each other (a VF and its PF both in use) are
        reported, not applied.
        """
        # Restored records change devices behind sync's back: the next
        # sync matches everything again.
        self._seen.clear()
        if devices is not None:
            self.sync(devices)
        return pci_restore.restore_records(records, self._restore_one)

    def _restore_one(
        self, rec: PciDeviceRecord, status: DeviceStatus
    ) -> tuple[PciDevice, bool]:
        instance_uuid = pci_restore.owner(rec, status)
        addr = PciAddress.parse(rec.address)
        dev = self._devices.get(addr)
        was_missing = dev is None
        if dev is None:
            info = pci_record.stored_info(rec)
            host = pci_restore.stored_host(rec, addr, info)
            dev = self._add(host, info.physical_network, info.tags)
        elif dev.in_use:
            if dev.instance_uuid == instance_uuid:
                return dev, False
            raise exception.PciDeviceInvalidOwner(
                address=addr,
                owner=dev.instance_uuid,
                instance_uuid=instance_uuid,
            )
        try:
            self._claim_one(dev, instance_uuid, rec.request_id)
        except exception.PciDeviceInvalidStatus:
            if was_missing:
                self._remove(dev)
            raise
        if status is _ALLOCATED:
            dev.allocate(instance_uuid)
            self._set(dev, _CLAIMED)
        if was_missing:
            dev.pending_removal = True
            LOG.warning(
                "PCI device %s is %s by instance %s in the database but "
                "is not on the host (or not whitelisted); keeping it "
                "until it is freed",
                addr,
                status,
                instance_uuid,
            )
        return dev, was_missing
