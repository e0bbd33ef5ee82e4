"""The compute node's PCI resource tracker: refresh and persistence.

One refresh is: inventory (driver) -> whitelist -> tracker sync -> pools ->
one database transaction.  State lives in memory (the
:class:`~sriovirt.pci.tracker.PciTracker`) and in the database; the
database write is a single transaction of only the differences, so:

* a crash before the write loses nothing: the next start restores the
  last stored state and the next refresh converges to the host;
* a refresh with nothing changed writes nothing (not even a timestamp).

At start the tracker is rebuilt from the stored rows and the current
inventory: devices allocated to existing instances stay allocated; claims
of boots that never finished are released.

A stored row that cannot be decoded (edited by hand: an unknown status
or device type, a malformed address, ``extra_info`` that is not a JSON
object) is reported in :attr:`StartReport.conflicts` and left exactly as
it is: never restored, rewritten or deleted.  Its device, and that
device's PF or VFs on the host, are withheld from tracking (reported as
skipped) for as long as the row stays unreadable, because the row may
hold an allocation nobody can read.

Writers of one compute node are serialised: every write is a
compare-and-swap of the rows this tracker last read or wrote
(:meth:`~sriovirt.db.api.Database.save_pci_state` with ``expected``).
When another process (a second ``sriovirt pci refresh``) wrote in
between, :meth:`ResourceTracker.start` rebuilds from the new rows and
tries again; :meth:`ResourceTracker.refresh` raises
:class:`~sriovirt.exception.PciStateConflict` with nothing written.

Claims, allocations and frees (:meth:`ResourceTracker.claim`,
:meth:`~ResourceTracker.allocate`, :meth:`~ResourceTracker.free`) are
stored at once, by the same compare-and-swap: when another process (a
concurrent boot) wrote the node's rows in between, the stored state is
loaded again and the change applied to it, up to
:data:`CHANGE_ATTEMPTS` times; so no device is ever given twice, and a
loser gets :class:`~sriovirt.exception.PciRequestUnsatisfiable` (no
free device left) or, after every attempt, the conflict.  The load
between two attempts stores too, so it may meet the next writer: it is
tried up to :data:`LOAD_ATTEMPTS` times, and every retry waits a random
pause whose bound doubles, so that 20 boots at once for 8 VFs end as 8
claims and 12 "no free device", not as a conflict.

The claim methods stay here, over the usual module size, because they
are writers of the same stored state as refresh and start (the lock,
the rows last read, the generation saved); the claim's value and
lifetime live in :mod:`sriovirt.compute.claims`.

This module decides nothing about matching or pools (that is ``pci/``),
and speaks to the database only through :mod:`sriovirt.db.api`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sriovirt import exception
from sriovirt.compute.claims import Claim, ClaimedDevice
from sriovirt.db import api as db_api
from sriovirt.db.records import (
    ComputeNodeRecord,
    PciDeviceRecord,
    PciSaveResult,
)
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import (
    DeviceStatus,
    DevType,
    HostPciDevice,
    PciDevice,
)
from sriovirt.pci.request import PciRequest
from sriovirt.pci.tracker import DeviceMatcher, PciTracker, SyncResult
from sriovirt.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What one refresh found and wrote, with the time of each phase."""

    devices: int
    sync: SyncResult
    saved: PciSaveResult
    skipped: tuple[str, ...]
    inventory_ms: float
    sync_ms: float
    pools_ms: float
    db_ms: float

    @property
    def total_ms(self) -> float:
        return self.inventory_ms + self.sync_ms + self.pools_ms + self.db_ms


@dataclass(frozen=True, slots=True)
class StartReport:
    """What :meth:`ResourceTracker.start` restored and released."""

    restored: int
    missing: tuple[str, ...]
    conflicts: tuple[str, ...]
    released: tuple[str, ...]
    refresh: RefreshReport


#: How many times :meth:`ResourceTracker.start` rebuilds after another
#: writer got in first, before it gives up.
START_ATTEMPTS = 3


#: How many times a claim, allocate or free is applied again to the
#: stored state after another writer got in first.
CHANGE_ATTEMPTS = 8


#: How many times the load between two attempts of a change is tried:
#: it stores too, and every write of another process in between is a
#: conflict.  Each conflict is another writer's progress, so a loser
#: waits for the others rather than failing while they finish.
LOAD_ATTEMPTS = 16


#: The longest pause between two attempts, and the first one's bound.
PAUSE_MAX, PAUSE_FIRST = 0.5, 0.01


def _pause(attempt: int) -> None:
    """Wait before retry ``attempt`` + 1: a random while (the writers
    that collided do not collide again at once) under a bound doubling
    with each attempt (a writer that keeps losing, being slower than
    the others, gets a quiet window)."""
    bound = min(PAUSE_MAX, PAUSE_FIRST * 2 ** (attempt - 1))
    time.sleep(random.uniform(0.0, bound))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _choices(enum: type[DeviceStatus] | type[DevType]) -> str:
    return ", ".join(m.value for m in enum)


def _decode(record: PciDeviceRecord) -> PciDeviceRecord:
    """``record`` if the tracker can restore it; ValueError names the
    first field that cannot be read."""
    if record.problem is not None:
        raise ValueError(record.problem)
    if record.status not in set(DeviceStatus):
        raise ValueError(
            f"status {record.status!r} is not one of {_choices(DeviceStatus)}"
        )
    if record.dev_type not in set(DevType):
        raise ValueError(
            f"dev_type {record.dev_type!r} is not one of {_choices(DevType)}"
        )
    for name in ("address", "parent_addr"):
        value = getattr(record, name)
        if value is not None:
            _check_address(name, value)
    return record


def _check_address(name: str, value: str) -> None:
    """ValueError unless ``value`` is a PCI address as the tracker
    writes it (``dddd:bb:ss.f``; the hex digits in any case)."""
    try:
        parsed = PciAddress.parse(value)
    except exception.InvalidPciAddress as error:
        raise ValueError(f"{name}: {error}") from None
    if str(parsed) != value.lower():
        raise ValueError(
            f"{name} {value!r} is not written as {parsed} (dddd:bb:ss.f)"
        )


class ResourceTracker:
    """Keeps one compute node's PCI devices, pools and rows in step."""

    def __init__(
        self,
        host: str,
        driver: virt_driver.ComputeDriver,
        database: db_api.Database,
        whitelist: DeviceMatcher,
    ) -> None:
        self.host = host
        self.driver = driver
        self.db = database
        self.whitelist = whitelist
        self.tracker = PciTracker(whitelist)
        #: The node's rows as last read or written, by address: what a
        #: write expects to find (compare-and-swap); None before start.
        self._stored: dict[str, PciDeviceRecord] | None = None
        #: Addresses of stored rows that cannot be read: left alone.
        self._unreadable: dict[str, str] = {}
        #: ``compute_nodes.pci_generation`` as last read or written.
        self._pci_generation: int | None = None
        self.lock = threading.RLock()
        self._node: ComputeNodeRecord | None = None
        # The tracker generation last written; any other value means
        # memory holds changes the database has not seen (a claim, a
        # free, a failed write) and the next refresh writes them.
        self._saved_generation = -1

    @property
    def node(self) -> ComputeNodeRecord:
        if self._node is None:
            self._node = self.db.get_or_create_compute_node(
                self.host, self.driver.nodename()
            )
        return self._node

    def start(
        self, live_instances: Iterable[str] | None = None
    ) -> StartReport:
        """Rebuild from the database and the host, then refresh.

        ``live_instances``: the instances that exist (defined on the
        hypervisor or recorded as active).  Claims of any other instance
        are boots that never finished and are released; allocations of
        instances that no longer exist are released too.  When None, the
        instances recorded on this host in the database are used.

        If another process writes the node's rows meanwhile, start
        rebuilds from what it wrote (up to :data:`START_ATTEMPTS` times).
        """
        live = None if live_instances is None else list(live_instances)
        return self._load(lambda: self._start(live, release=True), False)

    def load_and_refresh(self) -> StartReport:
        """Load the stored state as it is, then refresh: releases nothing.

        For a command run beside the compute service (``sriovirt pci
        refresh``): which claims are stale is the service's decision at
        its own start, never a second writer's, so every stored claim and
        allocation is restored as stored.  A write by another process in
        between is retried as :meth:`start` does; the last
        :class:`~sriovirt.exception.PciStateConflict` is raised.
        """
        return self._load(lambda: self._start(None, release=False), True)

    def _load(
        self,
        attempt: Callable[[], StartReport],
        fresh_first: bool,
        attempts: int = START_ATTEMPTS,
    ) -> StartReport:
        """Run one load ``attempt``, again from an empty tracker after a
        conflicting write (up to ``attempts`` times, each after a
        pause)."""
        with self.lock:
            for number in range(1, attempts + 1):
                if fresh_first or number > 1:
                    self.tracker = PciTracker(self.whitelist)
                    self._saved_generation = -1
                try:
                    return attempt()
                except exception.PciStateConflict as error:
                    if number == attempts:
                        raise
                    LOG.info("Loading PCI state again: %s", error)
                    _pause(number)
            raise AssertionError("unreachable")  # pragma: no cover

    def _start(
        self, live_instances: list[str] | None, release: bool
    ) -> StartReport:
        self.db.check_synced()
        node = self.node
        rows, self._pci_generation = self.db.read_pci_state(node.id)
        stored, unreadable = self._decode_rows(node, rows)
        self._stored = {r.address: r for r in rows}
        self._unreadable = unreadable
        if release and live_instances is None:
            live_instances = [
                i.uuid for i in self.db.get_instances_by_host(self.host)
            ]
        inv, inventory_ms = self._inventory()
        t0 = time.perf_counter()
        result = self.tracker.sync(inv.devices)
        # Right after the first sync: the stored claims and
        # allocations are laid over what the host has now.
        restored = self.tracker.restore(stored)
        released = (
            self.tracker.release_claims_except(
                live_instances or [], allocated_too=True
            )
            if release
            else []
        )
        refresh = self._store(inv, result, inventory_ms, _ms(t0))
        for dev in released:
            LOG.warning(
                "Released PCI device %s: its instance no longer exists "
                "or its boot never finished",
                dev.address,
            )
        return StartReport(
            restored=len(restored.restored),
            missing=tuple(str(a) for a in restored.missing),
            conflicts=(*unreadable.values(), *restored.conflicts),
            released=tuple(str(d.address) for d in released),
            refresh=refresh,
        )

    def _decode_rows(
        self, node: ComputeNodeRecord, rows: Iterable[PciDeviceRecord]
    ) -> tuple[list[PciDeviceRecord], dict[str, str]]:
        """The readable rows, and a report per unreadable row's address."""
        decoded: list[PciDeviceRecord] = []
        unreadable: dict[str, str] = {}
        for row in rows:
            try:
                decoded.append(_decode(row))
            except ValueError as error:
                text = (
                    f"pci_devices row {row.id} (address {row.address!r}) "
                    f"of compute node {node.host}/"
                    f"{node.hypervisor_hostname} cannot be read: {error}; "
                    "left as stored and its device withheld until the row "
                    "is fixed or deleted"
                )
                if row.instance_uuid:
                    text += (
                        f" (it names instance {row.instance_uuid}, whose "
                        "use of the device cannot be restored)"
                    )
                LOG.warning("%s", text)
                unreadable[row.address] = text
        return decoded, unreadable

    def tracked_devices(self) -> tuple[PciDevice, ...]:
        """The tracked devices now (read-only: the report to Placement
        reads their type, physical network and status)."""
        with self.lock:
            return self.tracker.devices

    @property
    def unsaved(self) -> bool:
        """Whether the tracker changed since the last write."""
        return self.tracker.generation != self._saved_generation

    def refresh(self) -> RefreshReport:
        """One periodic refresh of the inventory."""
        with self.lock:
            inv, inventory_ms = self._inventory()
            t0 = time.perf_counter()
            result = self.tracker.sync(inv.devices)
            return self._store(inv, result, inventory_ms, _ms(t0))

    def _inventory(self) -> tuple[virt_driver.PciInventory, float]:
        t0 = time.perf_counter()
        inv = self.driver.pci_inventory()
        if self._unreadable:
            inv = self._withhold(inv)
        return inv, _ms(t0)

    def _withhold(
        self, inv: virt_driver.PciInventory
    ) -> virt_driver.PciInventory:
        """``inv`` without the devices of unreadable rows and their
        relatives (a VF's PF, a PF's VFs): nobody may claim them while
        the row may hold an allocation."""
        by_address = {str(d.address): d for d in inv.devices}
        held: dict[PciAddress, str] = {}
        for address in self._unreadable:
            dev = by_address.get(address)
            if dev is None:
                continue
            held[dev.address] = "its pci_devices row is unreadable"
            if dev.parent_addr is not None:
                held.setdefault(
                    dev.parent_addr,
                    f"the row of its VF {address} is unreadable",
                )
        for dev in inv.devices:
            if str(dev.parent_addr) in self._unreadable:
                held.setdefault(
                    dev.address,
                    f"the row of its PF {dev.parent_addr} is unreadable",
                )
        kept: list[HostPciDevice] = []
        skipped = list(inv.skipped)
        for dev in inv.devices:
            reason = held.get(dev.address)
            if reason is None:
                kept.append(dev)
            else:
                skipped.append(f"{dev.address}: withheld: {reason}")
        return virt_driver.PciInventory(kept, tuple(skipped))

    def _store(
        self,
        inv: virt_driver.PciInventory,
        result: SyncResult,
        inventory_ms: float,
        sync_ms: float,
    ) -> RefreshReport:
        """Write what changed since the last write; the refresh's report.

        ``sync_ms`` is the tracker's work after the inventory (at start
        it includes the restore).
        """
        saved = PciSaveResult()
        pools_ms = db_ms = 0.0
        if result.changed or self.unsaved:
            t0 = time.perf_counter()
            stats_json = self.tracker.stats.to_json()
            pools_ms = _ms(t0)
            t0 = time.perf_counter()
            saved = self.save(stats_json)
            db_ms = _ms(t0)
        return RefreshReport(
            devices=len(inv.devices),
            sync=result,
            saved=saved,
            skipped=tuple(inv.skipped),
            inventory_ms=inventory_ms,
            sync_ms=sync_ms,
            pools_ms=pools_ms,
            db_ms=db_ms,
        )

    def save(self, stats_json: str | None = None) -> PciSaveResult:
        """Write the tracked devices and pools in one transaction."""
        with self.lock:
            node = self.node
            if stats_json is None:
                stats_json = self.tracker.stats.to_json()
            records = self.tracker.records()
            generation = self.tracker.generation
            saved = self.db.save_pci_state(
                node.id,
                records,
                stats_json,
                expected=self._stored,
                keep=self._unreadable.keys(),
            )
            self._saved_generation = generation
            self._pci_generation = saved.generation
            # All of it is stored: the changes since are what comes next.
            self.tracker.take_changes()
            stored = {r.address: r for r in records}
            if self._stored is not None:
                for address in self._unreadable:
                    if address in self._stored:
                        stored[address] = self._stored[address]
            self._stored = stored
            if saved.written:
                LOG.info(
                    "Stored PCI state of %s: %d inserted, %d updated, "
                    "%d deleted, pools %s",
                    self.host,
                    saved.inserted,
                    saved.updated,
                    saved.deleted,
                    "updated" if saved.stats_updated else "unchanged",
                )
            return saved

    # --- claims -----------------------------------------------------------

    def claim(
        self,
        instance_uuid: str,
        requests: Iterable[PciRequest],
        numa_cells: Iterable[int] | None = None,
        pinned: Mapping[str, PciAddress] | None = None,
    ) -> Claim:
        """Claim devices for every request, all or nothing, and store it.

        ``pinned``: request id -> the PF whose device (or VFs) must
        serve it (the scheduler's Placement allocation).

        Raises :class:`~sriovirt.exception.PciRequestUnsatisfiable` with
        nothing claimed when a request cannot be served.
        """
        reqs = tuple(requests)
        if not reqs:
            # Claiming nothing (a boot without SR-IOV ports) depends on
            # no stored row and changes none: no O(devices) store.
            return Claim(self, instance_uuid, reqs, ())
        cells = None if numa_cells is None else tuple(numa_cells)
        devices = self._persist(
            lambda: self.tracker.claim(instance_uuid, reqs, cells, pinned),
            undo=lambda devs: self.tracker.release(
                instance_uuid, {d.address: d.request_id for d in devs}
            ),
        )
        return Claim(
            self,
            instance_uuid,
            reqs,
            tuple(ClaimedDevice.of(d) for d in devices),
        )

    def abort_claim(self, claim: Claim) -> None:
        """Free (and store) exactly the devices of ``claim``."""
        if not claim.devices:
            return  # releases nothing, whatever is stored
        claimed = {d.address: d.request_id for d in claim.devices}
        self._persist(
            lambda: self.tracker.release(claim.instance_uuid, claimed)
        )

    def allocate(self, instance_uuid: str) -> tuple[ClaimedDevice, ...]:
        """Allocate (and store) every device the instance has claimed."""
        devices = self._persist(lambda: self.tracker.allocate(instance_uuid))
        return tuple(ClaimedDevice.of(d) for d in devices)

    def free(self, instance_uuid: str) -> tuple[ClaimedDevice, ...]:
        """Free (and store) every device the instance uses."""
        devices = self._persist(lambda: self.tracker.free(instance_uuid))
        return tuple(ClaimedDevice.of(d) for d in devices)

    def _save_changes(self) -> PciSaveResult:
        """Store the devices the last change touched and the pools, if
        the node's PCI state is still the generation last read or
        written (else PciStateConflict, nothing written)."""
        assert self._stored is not None and self._pci_generation is not None
        changed = self.tracker.take_changes()
        generation = self.tracker.generation
        saved = self.db.save_pci_changes(
            self.node.id,
            changed,
            self.tracker.stats.to_json(),
            expected_generation=self._pci_generation,
        )
        self._saved_generation = generation
        self._pci_generation = saved.generation
        for address, record in changed.items():
            if record is None:
                self._stored.pop(address, None)
            else:
                self._stored[address] = record
        return saved

    def _reload_after(self, error: exception.PciStateConflict) -> None:
        """Load what the writer that got in first stored."""
        LOG.info("Loading PCI state again: %s", error)
        # The load stores too (it refreshes), so under many writers it
        # meets the next one: it gets attempts of its own.  Its store,
        # under the node's lock, leaves the change applied next a short
        # window to lose (a load that wrote nothing measured worse).
        self._load(
            lambda: self._start(None, release=False),
            fresh_first=True,
            attempts=LOAD_ATTEMPTS,
        )

    def _persist(
        self,
        change: Callable[[], _T],
        undo: Callable[[_T], object] | None = None,
    ) -> _T:
        """Apply ``change`` to the tracker and store it at once.

        When another writer got in first, load what it stored and apply
        ``change`` again (the change then sees its devices as taken).
        When storing fails otherwise, ``undo`` takes the change back in
        memory (without it, the next refresh stores it).
        """
        with self.lock:
            if self._stored is None:
                self.load_and_refresh()
            for attempt in range(1, CHANGE_ATTEMPTS + 1):
                # Nothing unsaved before the change: storing what it
                # touched is enough (and costs only that).
                small = not self.unsaved and self._pci_generation is not None
                result = change()
                try:
                    if small:
                        self._save_changes()
                    else:
                        self.save()
                except exception.PciStateConflict as error:
                    self._reload_after(error)
                    if attempt == CHANGE_ATTEMPTS:
                        raise
                    _pause(attempt)
                    continue
                except BaseException:
                    if undo is not None:
                        undo(result)
                    raise
                return result
            raise AssertionError("unreachable")  # pragma: no cover
