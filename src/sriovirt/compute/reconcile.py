"""Restart reconcile: bring the database, the hypervisor and the network
service of this host back into agreement after a crash or a restart.

Run at the compute service's start and by ``sriovirt compute
reconcile``.  For this host, in order:

1. Rows the journal (:mod:`sriovirt.compute.journal`) marks as in
   flight: when no live process holds the instance's lock, a boot is
   rolled back and a delete completed (both by
   :meth:`~sriovirt.compute.manager.ComputeManager.teardown`); when one
   does, the work is live in another process and is left alone.
2. Devices claimed or allocated for an instance that has no row, and
   whose lock is free, are released (a row deleted by hand, or a claim
   made by a process that never wrote its row).
3. Active servers: their allocations are kept.  (With Placement, the
   allocation of every boot rolled back, delete completed or claim
   released in 1 and 2 is deleted there too.)  A guest the hypervisor
   no longer has, or that is shut off, is defined again from the stored
   guest XML and started when ``resume`` is true (``[DEFAULT]
   resume_guests_state_on_host_boot``), else reported.  Each port is
   read from the network service: deleted, bound elsewhere, unbound or
   of another vnic type than at boot is reported, never fatal.
4. Guests the hypervisor has that no row knows are reported, never
   destroyed.

Every decision about one instance is taken while holding its lock, on
its row read again under the lock, so a boot or delete running in
another process is never undone.  One instance's trouble is a
:class:`Finding` in the report, never an exception that stops the rest.

This module must not pick devices, build guest XML or read
configuration (``resume`` is passed in).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from sriovirt import exception
from sriovirt.compute import boot as boot_values
from sriovirt.compute import journal
from sriovirt.compute.manager import ComputeManager
from sriovirt.db.records import InstanceRecord
from sriovirt.network.values import UNBOUND_VIF_TYPES
from sriovirt.virt.driver import GuestSummary, InstanceState

LOG = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    """What reconcile found, or did, for one instance or guest."""

    ROLLED_BACK = "boot rolled back"
    DELETED = "delete completed"
    RELEASED = "devices released"
    RESUMED = "guest resumed"
    IN_PROGRESS = "in progress elsewhere"
    NOT_RUNNING = "guest not running"
    PORT_CHANGED = "port changed"
    UNKNOWN_GUEST = "unknown guest"
    FAILED = "failed"


#: Outcomes that changed something.
ACTIONS = frozenset(
    {Outcome.ROLLED_BACK, Outcome.DELETED, Outcome.RELEASED, Outcome.RESUMED}
)


class Allocations(Protocol):
    """Placement's allocations, by consumer (the instance uuid)."""

    def delete(self, consumer: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Finding:
    uuid: str
    name: str | None
    outcome: Outcome
    detail: str


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    host: str
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.outcome is Outcome.FAILED for f in self.findings)


def reconcile(
    manager: ComputeManager,
    *,
    resume: bool,
    allocations: Allocations | None = None,
) -> ReconcileReport:
    """Reconcile ``manager``'s host; see the module docstring.

    With ``allocations``, the Placement allocation of every boot rolled
    back, delete completed or claim released is deleted too (the
    consumer is that boot's own uuid: nobody else's allocation)."""
    manager.rt.load_and_refresh()
    rows = {r.uuid: r for r in manager.db.get_instances_by_host(manager.host)}
    findings = list(_journalled_and_orphans(manager, rows))
    guests = {g.uuid: g for g in manager.driver.list_instances()}
    for record in rows.values():
        if journal.interrupted(record.vm_state, record.task_state) is None:
            guest = guests.get(record.uuid)
            findings.extend(_guest(manager, record, guest, resume))
            findings.extend(_ports(manager, record))
    for guest in guests.values():
        if guest.uuid not in rows:
            findings.extend(_unknown(manager, guest))
    if allocations is not None:
        findings = [_free_allocation(allocations, f) for f in findings]
    # INFO: the report is what the caller shows (the command prints it,
    # the service logs it); here it is only the trace.
    for f in findings:
        LOG.info(
            "Reconcile of %s (%s): %s: %s",
            f.name,
            f.uuid,
            f.outcome.value,
            f.detail,
        )
    return ReconcileReport(manager.host, tuple(findings))


def _journalled_and_orphans(
    manager: ComputeManager, rows: Mapping[str, InstanceRecord]
) -> Iterator[Finding]:
    """Steps 1 and 2: interrupted boots and deletes, then the devices
    of instances that have no row."""
    for record in rows.values():
        if journal.interrupted(record.vm_state, record.task_state):
            yield from _finish(manager, record)
    for uuid in sorted(manager.rt.tracker.holders().difference(rows)):
        yield from _release(manager, uuid)


def _finish(
    manager: ComputeManager, record: InstanceRecord
) -> Iterator[Finding]:
    """Roll back a dead boot or complete a dead delete."""
    uuid, name = record.uuid, record.name
    with manager.locks.try_hold(uuid) as held:
        if not held:
            yield Finding(
                uuid,
                name,
                Outcome.IN_PROGRESS,
                f"a live process is working on it ({_state(record)})",
            )
            return
        fresh = manager.db.get_instance(uuid)
        action = None
        if fresh is not None:
            action = journal.interrupted(fresh.vm_state, fresh.task_state)
        if fresh is None or action is None:
            return  # finished while we looked
        was = _state(fresh)
        delete = fresh.task_state == journal.DELETING
        task = journal.DELETING if delete else journal.Step.ROLLBACK.value
        try:
            manager.teardown(fresh, task)
        except exception.DeleteFailed as exc:
            yield Finding(uuid, name, Outcome.FAILED, f"was {was}: {exc}")
            return
        outcome = Outcome.DELETED if delete else Outcome.ROLLED_BACK
        yield Finding(uuid, name, outcome, f"its process died while {was}")


#: Findings whose boot is gone: its Placement allocation goes too.
_GONE = frozenset({Outcome.ROLLED_BACK, Outcome.DELETED, Outcome.RELEASED})


def _free_allocation(allocations: Allocations, finding: Finding) -> Finding:
    if finding.outcome not in _GONE:
        return finding
    try:
        deleted = allocations.delete(finding.uuid)
    except exception.SriovirtError as exc:
        return Finding(
            finding.uuid,
            finding.name,
            Outcome.FAILED,
            f"{finding.outcome.value} ({finding.detail}), but its "
            f"Placement allocation could not be deleted: {exc}",
        )
    if not deleted:
        return finding
    return Finding(
        finding.uuid,
        finding.name,
        finding.outcome,
        f"{finding.detail}; its Placement allocation deleted",
    )


def _state(record: InstanceRecord) -> str:
    if record.task_state:
        return f"{record.vm_state}/{record.task_state}"
    return record.vm_state


def _release(manager: ComputeManager, uuid: str) -> Iterator[Finding]:
    """Free the devices of an instance that has no row."""
    with manager.locks.try_hold(uuid) as held:
        if not held:
            yield Finding(
                uuid, None, Outcome.IN_PROGRESS, "its boot is still running"
            )
            return
        if manager.db.get_instance(uuid) is not None:
            return  # its boot wrote the row while we looked
        try:
            freed = manager.rt.free(uuid)
        except exception.SriovirtError as exc:
            yield Finding(uuid, None, Outcome.FAILED, f"release: {exc}")
            return
        addresses = ", ".join(str(d.address) for d in freed)
        yield Finding(
            uuid,
            None,
            Outcome.RELEASED,
            f"no server row holds them: {addresses or 'none left'}",
        )


def _guest(
    manager: ComputeManager,
    record: InstanceRecord,
    guest: GuestSummary | None,
    resume: bool,
) -> Iterator[Finding]:
    state = InstanceState.MISSING if guest is None else guest.state
    if state is InstanceState.RUNNING:
        return
    uuid, name = record.uuid, record.name
    restartable = state in (InstanceState.MISSING, InstanceState.SHUT_OFF)
    if not (resume and restartable and record.domain_xml):
        why = (
            "[DEFAULT] resume_guests_state_on_host_boot is false"
            if restartable
            else "only a missing or shut-off guest is restarted"
        )
        yield Finding(
            uuid, name, Outcome.NOT_RUNNING, f"the guest is {state}; {why}"
        )
        return
    with manager.locks.try_hold(uuid) as held:
        if not held:
            yield Finding(
                uuid, name, Outcome.IN_PROGRESS, "being deleted elsewhere"
            )
            return
        try:
            manager.driver.resume_guest(uuid, record.domain_xml)
        except exception.SriovirtError as exc:
            yield Finding(uuid, name, Outcome.FAILED, f"resume: {exc}")
            return
    yield Finding(
        uuid,
        name,
        Outcome.RESUMED,
        f"the guest was {state}; defined and started from its stored XML",
    )


def _ports(
    manager: ComputeManager, record: InstanceRecord
) -> Iterator[Finding]:
    """Report each port that no longer looks as the boot left it."""
    for port_id, vnic_type in boot_values.requested_ports(record).items():
        problem = _port_problem(manager, record.uuid, port_id, vnic_type)
        if problem is not None:
            yield Finding(
                record.uuid,
                record.name,
                Outcome.PORT_CHANGED,
                f"port {port_id}: {problem}",
            )


def _port_problem(
    manager: ComputeManager,
    uuid: str,
    port_id: str,
    vnic_type: str | None,
) -> str | None:
    try:
        port = manager.network.show_port(port_id)
    except exception.PortNotFound:
        return "deleted from the network service"
    except exception.SriovirtError as exc:
        return f"cannot be read ({exc})"
    host = port.get("binding:host_id")
    device = port.get("device_id")
    vif_type = port.get("binding:vif_type")
    now = port.get("binding:vnic_type") or "normal"
    if device != uuid or host != manager.host:
        return (
            f"bound to device {device!r} on host {host!r}, not to this "
            f"server on {manager.host}"
        )
    if vif_type in UNBOUND_VIF_TYPES:
        return f"its binding:vif_type is {vif_type!r}"
    if vnic_type is not None and now != vnic_type:
        return f"its vnic type is {now!r} now, {vnic_type!r} at boot"
    return None


def _unknown(
    manager: ComputeManager, guest: GuestSummary
) -> Iterable[Finding]:
    if manager.db.get_instance(guest.uuid) is not None:
        return ()  # a boot that started while we looked
    return (
        Finding(
            guest.uuid,
            guest.name,
            Outcome.UNKNOWN_GUEST,
            f"the hypervisor has this guest ({guest.state}) but no server "
            "row knows it; left as it is (never destroyed by reconcile)",
        ),
    )
