"""Plain typed values that go in and out of :mod:`sriovirt.db.api`.

The database layer speaks in these frozen dataclasses, never in ORM rows,
so callers (the objects layer, the resource tracker) need no SQLAlchemy.
JSON payloads whose format the objects layer owns (``pci_stats``, flavor,
image, PCI requests) travel as JSON text.  A PCI device travels as
:class:`~sriovirt.pci.record.PciDeviceRecord` (re-exported here), the one
record type between the tracker and the database; its ``extra_info`` is
a dict of strings because
:func:`~sriovirt.db.api.Database.save_pci_state` compares it field by
field.

This module must not import SQLAlchemy (it is imported by
:mod:`sriovirt.objects`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sriovirt.pci.record import PciDeviceRecord

__all__ = [
    "ComputeNodeRecord",
    "InstanceRecord",
    "MigrationResult",
    "MigrationStep",
    "PciDeviceRecord",
    "PciSaveResult",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeNodeRecord:
    id: int
    uuid: str
    host: str
    hypervisor_hostname: str
    #: JSON list of pools (see PciDevicePoolList), or None before the
    #: first save.
    pci_stats: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class PciSaveResult:
    """What :meth:`~sriovirt.db.api.Database.save_pci_state` wrote."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    #: Whether ``compute_nodes.pci_stats`` changed.
    stats_updated: bool = False
    #: ``compute_nodes.pci_generation`` after the write (None: unknown).
    generation: int | None = None

    @property
    def written(self) -> int:
        """Rows written in total; 0 means the state was already stored."""
        return (
            self.inserted
            + self.updated
            + self.deleted
            + int(self.stats_updated)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord:
    uuid: str
    vm_state: str
    host: str | None = None
    node: str | None = None
    task_state: str | None = None
    #: JSON objects (flavor with extra_specs; image properties).
    flavor: str = "{}"
    image: str = "{}"
    #: The server's name, unique per host.
    name: str | None = None
    #: JSON list of ``{port_id, vnic_type}``, in guest NIC order.
    requested_networks: str | None = None
    domain_xml: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """A schema revision: its id and the first line of its description."""

    revision: str
    description: str
    #: False for a revision this code does not ship (a database written
    #: by a newer release).
    known: bool = True

    def __str__(self) -> str:
        return f"{self.revision} ({self.description})"


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What :func:`~sriovirt.db.api.sync` did."""

    connection: str
    before: MigrationStep | None
    after: MigrationStep | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def __str__(self) -> str:
        before = str(self.before) if self.before else "<none>"
        after = str(self.after) if self.after else "<none>"
        if not self.changed:
            return f"database {self.connection} already at {after}"
        return f"database {self.connection} upgraded from {before} to {after}"
