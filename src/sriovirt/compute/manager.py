"""The compute manager: boot and delete servers on this host.

:class:`ComputeManager` is the facade a Nova-like service drives
(design section 3).  A boot (:meth:`ComputeManager.build_and_run_instance`)
is, in order: the name is free on this host -> the packed virtqueue
choice of the flavor and image -> each port and its network read into a
:class:`~sriovirt.network.values.PortRequest` -> one
:class:`~sriovirt.pci.request.PciRequest` per SR-IOV port -> the
instance's rows, ``building`` (the journal) -> claim -> allocate -> bind
every port -> VIFs from the bound ports -> spawn (define + start) -> the
row turned ``active`` with the guest XML.  Each step registers its undo
next to it (:class:`_Undo`, one :class:`contextlib.ExitStack`), so a
failure at any step undoes every earlier one (devices freed, ports
unbound, guest destroyed, rows deleted) and raises
:class:`~sriovirt.exception.BuildFailed` naming the step.

The boot holds its instance's lock (:mod:`sriovirt.compute.journal`)
throughout and journals the step it is about to take in the row before
each side effect, so a process killed anywhere leaves a row that
:mod:`sriovirt.compute.reconcile` rolls back; an undo that fails leaves
the row journalled too, never a port bound to a boot nobody runs.

A boot is idempotent by instance uuid, as a message bus may deliver it
twice or late: a boot this host already booted answers its row; a second
delivery while the first is in flight waits for it and answers its row;
a delivery after a failed one, or of a uuid with another row, is
refused; a scheduled boot (port providers) whose Placement allocation no
longer holds this host's providers (its caller gave up on this host) is
refused before its first write (the rules: :mod:`sriovirt.compute.delivery`).

A delete (:meth:`ComputeManager.terminate_instance`) journals itself,
destroys and undefines the guest (already gone is fine), unbinds the
ports, frees the devices and deletes the rows (:meth:`teardown`); it
stops at the first step that fails and keeps the rows, so it can be run
again, and reconcile completes it if its process died.

Its collaborators (driver, resource tracker, network API, database, host
name, lock directory) are passed in.  This module must not read
configuration, talk to libvirt or Neutron other than through those
collaborators, or pick devices (the resource tracker does).  It is over
the usual module size because a boot's steps and the undo each one
registers must read in one place, beside the delete that mirrors them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sriovirt import exception
from sriovirt.compute import boot as boot_values
from sriovirt.compute import delivery, journal
from sriovirt.compute.boot import BootRequest, PortPlan
from sriovirt.compute.claims import Claim
from sriovirt.compute.resource_tracker import RefreshReport, ResourceTracker
from sriovirt.db import api as db_api
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.network.model import VIF
from sriovirt.network.values import VnicType
from sriovirt.virt import hardware
from sriovirt.virt.driver import ComputeDriver, GuestVif, Instance

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

#: ``on_step(server, step)``: called before each step of a boot or delete.
StepHook = Callable[[str, str], None]


class Reporter(Protocol):
    """What keeps Placement current
    (:class:`~sriovirt.compute.placement_report.PlacementReporter`)."""

    def report(self) -> object: ...


__all__ = ["BootRequest", "ComputeManager"]


class ComputeManager:
    """Boots and deletes servers on one host, in-process."""

    def __init__(
        self,
        *,
        driver: ComputeDriver,
        resource_tracker: ResourceTracker,
        network: network_api.NetworkAPI,
        database: db_api.Database,
        host: str,
        locks: journal.InstanceLocks,
        on_step: StepHook | None = None,
        reporter: Reporter | None = None,
        allocations: delivery.AllocationsReader | None = None,
    ) -> None:
        self.driver = driver
        self.rt = resource_tracker
        self.network = network
        self.db = database
        self.host = host
        self.locks = locks
        #: Called with the server and the step name before each step:
        #: progress for a terminal, or a test's stop point.
        self.on_step = on_step
        #: Keeps Placement current after each claim and free (None: no
        #: Placement).  It logs an outage; the next report catches up.
        self.reporter = reporter
        #: The boots that failed here after taking their lock, by uuid:
        #: a later delivery of one of them is not run again.
        self._deliveries = delivery.Deliveries()
        #: Reads the scheduler's allocation of a scheduled boot before
        #: its first write (None: not checked).
        self.allocations = allocations

    # --- boot ----------------------------------------------------------------

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord:
        """Boot ``boot`` on this host, all or nothing; its stored row.

        Idempotent by instance uuid: a boot delivered again (the
        message bus redelivered it, or a caller retried after a lost
        answer) whose server this host already booted, active, with the
        same name and ports, returns that row and does nothing.

        Raises :class:`~sriovirt.exception.ServerNameInUse` (nothing
        done), :class:`~sriovirt.exception.InstanceUuidInUse` (the uuid
        has another row: another server, another host, or a boot or
        delete in flight; nothing done) or
        :class:`~sriovirt.exception.BuildFailed` (every earlier
        step undone, or left journalled for reconcile when an undo
        failed: the error says which).
        """
        found = self.db.get_instance(boot.uuid)
        done = delivery.already_booted(
            self.host, boot, found, in_flight_here=True
        )
        if done is not None:
            return done
        if found is None:
            # Else the same boot is in flight here: the name is its own.
            self._check_name_free(boot.name)
        step = functools.partial(self._step, boot)
        instance = step("instance", lambda: boot_values.guest_instance(boot))
        packed = step(
            "packed virtqueue constraint",
            lambda: hardware.packed_virtqueue_request(
                boot.flavor_extra_specs, boot.image_properties
            ),
        )
        plans = step("read ports", lambda: self._plan(boot))
        # The failure is recorded before the lock is released, so a
        # delivery waiting for the lock sees it.
        with (
            self.locks.hold(instance.uuid),
            self._deliveries.failing(boot.uuid),
            _Undo() as undo,
        ):
            # Again under the lock: a delivery before this one may have
            # run meanwhile.
            done = delivery.already_booted(
                self.host, boot, self.db.get_instance(boot.uuid)
            )
            if done is not None:
                undo.pop_all()
                return done
            if self._deliveries.failed(boot.uuid):
                raise exception.BuildFailed(
                    instance=f"{boot.name!r} ({boot.uuid})",
                    step="duplicate delivery",
                    reason="an earlier delivery of this boot to this host "
                    "failed; it is not run again",
                    aftermath="nothing was done by this delivery",
                )
            delivery.check_allocated(boot, self.allocations)
            self._record_boot(boot, plans, undo)
            claim = self._claim(boot, instance, plans, undo)
            self._journal(boot, journal.Step.BIND)
            bound = self._bind(boot, instance, plans, claim, undo)
            vifs = step("VIFs", lambda: self._guest_vifs(plans, bound, claim))
            self._journal(boot, journal.Step.SPAWN)
            step("spawn", lambda: self.driver.spawn(instance, vifs, packed))
            # Registered after the spawn: a failed spawn removes what it
            # made itself, and must leave a guest it did not make alone.
            undo.on_undo("destroy guest", instance.uuid, self.driver.destroy)
            record = step("store instance", lambda: self._activate(boot))
            undo.pop_all()
        LOG.info("Booted server %s (%s)", boot.name, boot.uuid)
        return record

    def _step(self, boot: BootRequest, name: str, run: Callable[[], _T]) -> _T:
        """``run()``; any error becomes BuildFailed naming step ``name``
        (the rollback then fills in its aftermath)."""
        if self.on_step is not None:
            self.on_step(boot.name, name)
        try:
            return run()
        except (exception.BuildFailed, exception.ServerNameInUse):
            raise
        except Exception as exc:
            # INFO, not WARNING: the BuildFailed raised here is the
            # report, and its caller says it (a command in one line).
            LOG.info(
                "Boot of server %s failed at %s: %s", boot.name, name, exc
            )
            raise exception.BuildFailed(
                instance=f"{boot.name!r} ({boot.uuid})",
                step=name,
                reason=str(exc),
                aftermath=ROLLED_BACK,
            ) from exc

    def _journal(self, boot: BootRequest, step: journal.Step) -> None:
        """Record the step about to run, before its side effects."""
        self._step(
            boot,
            f"journal {step.value}",
            lambda: self.db.update_instance(boot.uuid, task_state=step.value),
        )

    def _record_boot(
        self, boot: BootRequest, plans: Sequence[PortPlan], undo: _Undo
    ) -> None:
        """The journal's first entry: the row, building, with its PCI
        requests; its undo deletes them last, unless an undo failed."""
        record = boot_values.instance_record(
            boot,
            plans,
            host=self.host,
            node=self.driver.nodename(),
            vm_state=journal.BUILDING,
            task_state=journal.Step.CLAIM.value,
        )
        requests = boot_values.pci_requests_json(boot.uuid, plans)
        self._step(
            boot,
            "record boot",
            lambda: self.db.create_instance(record, requests),
        )
        undo.callback(self._end_rollback, boot, undo)

    def _end_rollback(self, boot: BootRequest, undo: _Undo) -> None:
        """Delete the rows of a rolled-back boot, or, when an undo step
        failed, leave them journalled for reconcile to finish."""
        if undo.failed:
            undo.run(
                "journal rollback",
                boot.uuid,
                lambda uuid: self.db.update_instance(
                    uuid, task_state=journal.Step.ROLLBACK.value
                ),
            )
            return
        undo.run("delete rows", boot.uuid, self.db.delete_instance)
        if not undo.failed:
            self.locks.forget(boot.uuid)

    def _check_name_free(self, name: str) -> None:
        found = self.db.get_instance_by_name(self.host, name)
        if found is not None:
            raise exception.ServerNameInUse(
                name=name, host=self.host, uuid=found.uuid
            )

    def _plan(self, boot: BootRequest) -> tuple[PortPlan, ...]:
        """Each port and its network read into what to claim for it."""
        if len(set(boot.port_ids)) != len(boot.port_ids):
            raise exception.Invalid(
                reason=f"ports {list(boot.port_ids)} name a port twice"
            )
        return tuple(
            boot_values.port_plan(network_api.request_for(self.network, p))
            for p in boot.port_ids
        )

    def _claim(
        self,
        boot: BootRequest,
        instance: Instance,
        plans: Sequence[PortPlan],
        undo: _Undo,
    ) -> Claim:
        """Claim, then allocate, one device per PCI request."""
        requests = [p.pci_request for p in plans if p.pci_request]

        def claim() -> Claim:
            # Only a scheduled boot walks the tracked devices (for its
            # providers' PFs): a boot costs no O(devices) otherwise.
            pinned = (
                boot_values.pinned_pfs(
                    boot, plans, self.rt.node.uuid, self.rt.tracked_devices()
                )
                if boot.port_providers
                else {}
            )
            try:
                return self.rt.claim(instance.uuid, requests, pinned=pinned)
            except exception.PciRequestUnsatisfiable as exc:
                need = boot_values.wanted(plans, exc.request_id)
                raise exception.Invalid(reason=f"{need}: {exc}") from exc

        held = self._step(boot, "claim", claim)
        # Registered before the free: the undo runs it after the free.
        undo.callback(self._report)
        # The abort frees what the claim holds, allocated since or not:
        # it is the undo of the allocation below too.  Not after a failed
        # undo: a port still bound names its device in its profile, so
        # the device stays held until reconcile has unbound the port.
        undo.on_undo(
            "free devices",
            instance.uuid,
            lambda _: held.abort(),
            unless_failed=True,
        )
        self._step(boot, "allocate", lambda: self.rt.allocate(instance.uuid))
        self._report()
        return held

    def _report(self) -> None:
        """Tell Placement what changed; never fails the boot or delete
        (Placement's own error is logged, the next report catches up)."""
        if self.reporter is None:
            return
        try:
            self.reporter.report()
        except exception.SriovirtError as exc:
            LOG.warning(
                "Resource providers of %s not reported: %s", self.host, exc
            )

    def _bind(
        self,
        boot: BootRequest,
        instance: Instance,
        plans: Sequence[PortPlan],
        claim: Claim,
        undo: _Undo,
    ) -> tuple[dict[str, Any], ...]:
        """Bind every port to this host with its claimed device."""
        bound = []
        for plan in plans:
            port_id = plan.request.port_id
            binding = network_api.PortBinding(
                host=self.host,
                device_id=instance.uuid,
                pci=boot_values.pci_binding(plan, claim),
            )
            # Registered first: a bind that fails half-way may have
            # written something, and unbinding an unbound port is a no-op.
            unbind = functools.partial(
                self._unbind_own, instance_uuid=instance.uuid
            )
            undo.on_undo("unbind port", port_id, unbind)
            bind = functools.partial(self.network.bind_port, port_id, binding)
            bound.append(self._step(boot, f"bind port {port_id}", bind))
        return tuple(bound)

    def _guest_vifs(
        self,
        plans: Sequence[PortPlan],
        bound: Sequence[Mapping[str, Any]],
        claim: Claim,
    ) -> tuple[GuestVif, ...]:
        """A VIF per bound port; a macvtap one sits on its VF's netdev."""
        vifs = []
        for plan, port in zip(plans, bound, strict=True):
            req = plan.request
            network = self.network.show_network(str(req.network_id))
            netdev = None
            if req.vnic_type is VnicType.MACVTAP:
                netdev = boot_values.device_of(plan, claim).ifname
            vif = VIF.from_port(port, network)
            vifs.append(GuestVif(vif=vif, netdev=netdev))
        return tuple(vifs)

    def _activate(self, boot: BootRequest) -> InstanceRecord:
        """The boot's last act: the row active, with the guest XML."""
        return self.db.update_instance(
            boot.uuid,
            vm_state=journal.ACTIVE,
            clear_task_state=True,
            domain_xml=self.driver.guest_xml(boot.uuid),
        )

    # --- periodic ------------------------------------------------------------

    def refresh_resources(self) -> RefreshReport:
        """One periodic refresh of the host's devices, then a report to
        Placement (an outage logged: the next one catches up)."""
        report = self.rt.refresh()
        self._report()
        return report

    # --- delete --------------------------------------------------------------

    def terminate_instance(self, instance_uuid: str) -> InstanceRecord:
        """Delete the server; the row it had.

        Raises :class:`~sriovirt.exception.ServerNotFound` (nothing
        changed), :class:`~sriovirt.exception.ServerBusy` (another live
        process is booting or deleting it: nothing changed) or
        :class:`~sriovirt.exception.DeleteFailed` (journalled: run again,
        or reconcile completes it).
        """
        record = self._own(self.db.get_instance(instance_uuid), instance_uuid)
        with self.locks.try_hold(record.uuid) as held:
            if not held:
                raise exception.ServerBusy(server=record.uuid, host=self.host)
            # Read again under the lock: the holder before may have
            # deleted it.
            record = self._own(self.db.get_instance(record.uuid), record.uuid)
            self.teardown(record, journal.DELETING)
        LOG.info("Deleted server %r (%s)", record.name, record.uuid)
        return record

    def _own(
        self, record: InstanceRecord | None, asked: str
    ) -> InstanceRecord:
        if record is None or record.host != self.host:
            raise exception.ServerNotFound(server=asked, host=self.host)
        return record

    def teardown(self, record: InstanceRecord, task_state: str) -> None:
        """Remove all of ``record`` (any prefix of a boot): destroy and
        undefine the guest, unbind the ports it holds, free its devices,
        delete its rows.  The caller holds the instance's lock.

        ``task_state`` is journalled first, so that a process killed in
        here leaves the work for reconcile.  Raises
        :class:`~sriovirt.exception.DeleteFailed` naming the step; the
        rows are then kept, and running it again goes on from there.
        """
        uuid = record.uuid
        name = f"{record.name!r} ({uuid})"
        step = functools.partial(self._delete_step, name)
        if record.task_state != task_state:
            journal_it = functools.partial(
                self.db.update_instance, uuid, task_state=task_state
            )
            step(f"journal {task_state}", journal_it)
        step("destroy guest", lambda: self.driver.destroy(uuid))
        for port_id in boot_values.port_ids(record):
            unbind = functools.partial(self._unbind_own, port_id, uuid)
            step(f"unbind port {port_id}", unbind)
        step("free devices", lambda: self.rt.free(uuid))
        self._report()
        step("delete rows", lambda: self.db.delete_instance(uuid))
        self.locks.forget(uuid)

    def _delete_step(
        self, name: str, step: str, run: Callable[[], object]
    ) -> None:
        if self.on_step is not None:
            self.on_step(name, step)
        try:
            run()
        except Exception as exc:
            raise exception.DeleteFailed(
                instance=name, step=step, reason=str(exc)
            ) from exc

    def _unbind_own(self, port_id: str, instance_uuid: str) -> None:
        """Unbind the port unless another server holds it now; a port
        gone from the network service is left alone."""
        try:
            port = self.network.show_port(port_id)
        except exception.PortNotFound as exc:
            LOG.warning("Port %s not unbound: %s", port_id, exc)
            return
        device_id = port.get("device_id")
        if device_id not in ("", None, instance_uuid):
            LOG.warning(
                "Port %s not unbound: it is bound to %s now, not to %s",
                port_id,
                device_id,
                instance_uuid,
            )
            return
        self.network.unbind_port(port_id)

    def get_instance_by_name(self, name: str) -> InstanceRecord:
        """The server ``name`` of this host; ServerNotFound if none."""
        found = self.db.get_instance_by_name(self.host, name)
        if found is None:
            raise exception.ServerNotFound(server=repr(name), host=self.host)
        return found


#: :attr:`BuildFailed.aftermath` when every undo ran.
ROLLED_BACK = "every earlier step was rolled back"


class _Undo(contextlib.ExitStack):
    """The rollback of one boot: undo steps registered next to their
    actions, run in reverse on failure.  A failing undo is logged and
    the rollback goes on; :attr:`failed` names what is left, and the
    boot's error then says so instead of "rolled back"."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: list[str] = []

    def run(
        self,
        what: str,
        key: str,
        undo: Callable[[str], object],
        unless_failed: bool = False,
    ) -> None:
        if unless_failed and self.failed:
            self.failed.append(f"{what} {key}: kept until reconcile")
            return
        try:
            undo(key)
        except Exception as exc:
            LOG.error("Rollback step %s of %s failed: %s", what, key, exc)
            self.failed.append(f"{what} {key}: {exc}")

    def on_undo(
        self,
        what: str,
        key: str,
        undo: Callable[[str], object],
        *,
        unless_failed: bool = False,
    ) -> None:
        """Register an undo; ``unless_failed``: skip it (and leave it to
        reconcile) when an undo that ran before it failed."""
        self.callback(self.run, what, key, undo, unless_failed)

    def __exit__(self, *exc_info: Any) -> bool:
        suppressed = super().__exit__(*exc_info)
        error = exc_info[1]
        if self.failed and isinstance(error, exception.BuildFailed):
            raise exception.BuildFailed(
                instance=error.instance,
                step=error.step,
                reason=error.reason,
                aftermath="the rollback did not finish ("
                + "; ".join(self.failed)
                + "): the server is journalled as building and "
                "`sriovirt compute reconcile` finishes the rollback",
            ) from error
        return bool(suppressed)
