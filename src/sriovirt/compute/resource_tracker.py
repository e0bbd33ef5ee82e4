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

This module decides nothing about matching or pools (that is ``pci/``),
and speaks to the database only through :mod:`sriovirt.db.api`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sriovirt.db import api as db_api
from sriovirt.db.records import ComputeNodeRecord, PciSaveResult
from sriovirt.objects import pci_device as pci_device_obj
from sriovirt.pci.tracker import DeviceMatcher, PciTracker, SyncResult
from sriovirt.virt import driver as virt_driver

LOG = logging.getLogger(__name__)


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


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


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
        self.tracker = PciTracker(whitelist)
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
        """
        with self.lock:
            self.db.check_synced()
            node = self.node
            stored = [
                pci_device_obj.PciDevice.from_record(r).to_stored()
                for r in self.db.get_pci_devices(node.id)
            ]
            if live_instances is None:
                live_instances = [
                    i.uuid for i in self.db.get_instances_by_host(self.host)
                ]
            inv, inventory_ms = self._inventory()
            t0 = time.perf_counter()
            result = self.tracker.sync(inv.devices)
            # Right after the first sync: the stored claims and
            # allocations are laid over what the host has now.
            restored = self.tracker.restore(stored)
            released = self.tracker.release_claims_except(
                live_instances, allocated_too=True
            )
            refresh = self._store(inv, result, inventory_ms, _ms(t0))
            for dev in released:
                LOG.warning(
                    "Released PCI device %s: its instance no longer exists "
                    "or its boot never finished", dev.address,
                )
            return StartReport(
                restored=len(restored.restored),
                missing=tuple(str(a) for a in restored.missing),
                conflicts=restored.conflicts,
                released=tuple(str(d.address) for d in released),
                refresh=refresh,
            )

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
        return inv, _ms(t0)

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
            records = [
                pci_device_obj.PciDevice.from_tracked(d, node.id).to_record()
                for d in self.tracker.devices
            ]
            generation = self.tracker.generation
            saved = self.db.save_pci_state(node.id, records, stats_json)
            self._saved_generation = generation
            if saved.written:
                LOG.info(
                    "Stored PCI state of %s: %d inserted, %d updated, "
                    "%d deleted, pools %s", self.host, saved.inserted,
                    saved.updated, saved.deleted,
                    "updated" if saved.stats_updated else "unchanged",
                )
            return saved
