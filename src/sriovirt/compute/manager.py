"""The compute manager: boot and delete servers on this host.

:class:`ComputeManager` is the facade a Nova-like service drives
(design section 3).  A boot (:meth:`ComputeManager.build_and_run_instance`)
is, in order: the name is free on this host -> the packed virtqueue
choice of the flavor and image -> each port and its network read into a
:class:`~sriovirt.network.values.PortRequest` -> one
:class:`~sriovirt.pci.request.PciRequest` per SR-IOV port -> claim ->
allocate -> bind every port -> VIFs from the bound ports -> spawn
(define + start) -> the instance's rows.  Each step registers its undo
next to it in one :class:`contextlib.ExitStack`, so a failure at any
step undoes every earlier one (devices freed, ports unbound, guest
destroyed, rows deleted) and raises
:class:`~sriovirt.exception.BuildFailed` naming the step.

A delete (:meth:`ComputeManager.terminate_instance`) destroys and
undefines the guest (already gone is fine), unbinds the ports, frees the
devices and deletes the rows, in that order; it stops at the first step
that fails and keeps the rows, so it can be run again.

Its collaborators (driver, resource tracker, network API, database, host
name) are passed in.  This module must not read configuration, talk to
libvirt or Neutron other than through those collaborators, or pick
devices (the resource tracker does).  It keeps no boot journal: a
process killed in the middle of a boot is not recovered here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sriovirt import exception
from sriovirt.compute import boot as boot_values
from sriovirt.compute.boot import BootRequest, PortPlan
from sriovirt.compute.claims import Claim
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api as db_api
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.network.model import VIF
from sriovirt.network.values import UNBOUND_VIF_TYPES, VnicType
from sriovirt.virt import hardware
from sriovirt.virt.driver import ComputeDriver, GuestVif, Instance

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

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
    ) -> None:
        self.driver = driver
        self.rt = resource_tracker
        self.network = network
        self.db = database
        self.host = host

    # --- boot ----------------------------------------------------------------

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord:
        """Boot ``boot`` on this host, all or nothing; its stored row.

        Raises :class:`~sriovirt.exception.ServerNameInUse` (nothing
        done) or :class:`~sriovirt.exception.BuildFailed` (every earlier
        step undone).
        """
        self._check_name_free(boot.name)
        step = functools.partial(_step, boot)
        instance = step("instance", lambda: boot_values.guest_instance(boot))
        packed = step(
            "packed virtqueue constraint",
            lambda: hardware.packed_virtqueue_request(
                boot.flavor_extra_specs, boot.image_properties
            ),
        )
        plans = step("read ports", lambda: self._plan(boot))
        with contextlib.ExitStack() as undo:
            claim = self._claim(boot, instance, plans, undo)
            bound = self._bind(boot, instance, plans, claim, undo)
            vifs = step("VIFs", lambda: self._guest_vifs(plans, bound, claim))
            step("spawn", lambda: self.driver.spawn(instance, vifs, packed))
            # Registered after the spawn: a failed spawn removes what it
            # made itself, and must leave a guest it did not make alone.
            _on_undo(undo, "destroy guest", instance.uuid, self.driver.destroy)
            record = step("store instance", lambda: self._store(boot, plans))
            _on_undo(undo, "delete rows", boot.uuid, self.db.delete_instance)
            undo.pop_all()
        LOG.info("Booted server %s (%s)", boot.name, boot.uuid)
        return record

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
        undo: contextlib.ExitStack,
    ) -> Claim:
        """Claim, then allocate, one device per PCI request."""
        requests = [p.pci_request for p in plans if p.pci_request]

        def claim() -> Claim:
            try:
                return self.rt.claim(instance.uuid, requests)
            except exception.PciRequestUnsatisfiable as exc:
                need = boot_values.wanted(plans, exc.request_id)
                raise exception.Invalid(reason=f"{need}: {exc}") from exc

        held = _step(boot, "claim", claim)
        # The abort frees what the claim holds, allocated since or not:
        # it is the undo of the allocation below too.
        _on_undo(undo, "free devices", instance.uuid, lambda _: held.abort())
        _step(boot, "allocate", lambda: self.rt.allocate(instance.uuid))
        return held

    def _bind(
        self,
        boot: BootRequest,
        instance: Instance,
        plans: Sequence[PortPlan],
        claim: Claim,
        undo: contextlib.ExitStack,
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
            _on_undo(undo, "unbind port", port_id, self.network.unbind_port)
            bind = functools.partial(self._bind_one, port_id, binding)
            bound.append(_step(boot, f"bind port {port_id}", bind))
        return tuple(bound)

    def _bind_one(
        self, port_id: str, binding: network_api.PortBinding
    ) -> dict[str, Any]:
        port = self.network.bind_port(port_id, binding)
        vif_type = port.get("binding:vif_type")
        if vif_type in UNBOUND_VIF_TYPES:
            raise exception.VifError(
                port_id=port_id,
                reason=f"binding:vif_type is {vif_type!r} after binding to "
                f"host {binding.host} (binding:profile "
                f"{port.get('binding:profile')!r})",
            )
        return port

    def _guest_vifs(
        self,
        plans: Sequence[PortPlan],
        bound: Sequence[Mapping[str, Any]],
        claim: Claim,
    ) -> tuple[GuestVif, ...]:
        """A VIF per bound port; a macvtap one sits on its VF's netdev."""
        ifnames = {d.address: d.ifname for d in self.rt.tracker.devices}
        vifs = []
        for plan, port in zip(plans, bound, strict=True):
            req = plan.request
            network = self.network.show_network(str(req.network_id))
            netdev = None
            if req.vnic_type is VnicType.MACVTAP:
                netdev = ifnames.get(
                    boot_values.device_of(plan, claim).address
                )
            vif = VIF.from_port(port, network)
            vifs.append(GuestVif(vif=vif, netdev=netdev))
        return tuple(vifs)

    def _store(
        self, boot: BootRequest, plans: Sequence[PortPlan]
    ) -> InstanceRecord:
        """The instance row (with the guest XML) and its PCI requests."""
        record = boot_values.instance_record(
            boot,
            host=self.host,
            node=self.driver.nodename(),
            domain_xml=self.driver.guest_xml(boot.uuid),
        )
        return self.db.create_instance(
            record, boot_values.pci_requests_json(boot.uuid, plans)
        )

    # --- delete --------------------------------------------------------------

    def terminate_instance(self, instance_uuid: str) -> InstanceRecord:
        """Delete the server; the row it had.

        Raises :class:`~sriovirt.exception.ServerNotFound` (nothing
        changed) or :class:`~sriovirt.exception.DeleteFailed`.
        """
        record = self.db.get_instance(instance_uuid)
        if record is None or record.host != self.host:
            raise exception.ServerNotFound(
                server=instance_uuid, host=self.host
            )
        uuid = record.uuid
        name = f"{record.name!r} ({uuid})"
        _delete_step(name, "destroy guest", lambda: self.driver.destroy(uuid))
        for port_id in boot_values.port_ids(record):
            unbind = functools.partial(self._unbind_own, port_id, uuid)
            _delete_step(name, f"unbind port {port_id}", unbind)
        _delete_step(name, "free devices", lambda: self.rt.free(uuid))
        _delete_step(
            name, "delete rows", lambda: self.db.delete_instance(uuid)
        )
        LOG.info("Deleted server %s", name)
        return record

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


def _step(boot: BootRequest, step: str, run: Callable[[], _T]) -> _T:
    """``run()``; any error becomes BuildFailed naming ``step``."""
    try:
        return run()
    except exception.BuildFailed:
        raise
    except Exception as exc:
        # INFO, not WARNING: the BuildFailed raised here is the report,
        # and its caller says it (a command in one line on stderr).
        LOG.info("Boot of server %s failed at %s: %s", boot.name, step, exc)
        raise exception.BuildFailed(
            instance=f"{boot.name!r} ({boot.uuid})",
            step=step,
            reason=str(exc),
        ) from exc


def _on_undo(
    undo: contextlib.ExitStack,
    what: str,
    key: str,
    run: Callable[[str], object],
) -> None:
    """Register one rollback step; when it runs, a failure is logged and
    the rollback goes on (the boot's own error is the one reported)."""

    def rollback() -> None:
        try:
            run(key)
        except Exception as exc:
            LOG.error("Rollback step %s of %s failed: %s", what, key, exc)

    undo.callback(rollback)


def _delete_step(name: str, step: str, run: Callable[[], object]) -> None:
    try:
        run()
    except Exception as exc:
        raise exception.DeleteFailed(
            instance=name, step=step, reason=str(exc)
        ) from exc
