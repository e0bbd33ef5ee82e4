"""The boot flow between scheduler and compute: choose, claim, hand over.

It lives in ``compute/`` (Nova's conductor role): it drives the
scheduler (:mod:`sriovirt.scheduler`, which must not import compute)
and the hosts' compute managers.  :meth:`SchedulerManager.schedule_and_build`
runs one boot:

1. :func:`~sriovirt.scheduler.destinations.select_destinations` (request
   filters, Placement's allocation candidates, host filters, weigher):
   the chosen host and its alternates, at most ``[scheduler]
   max_attempts``;
2. for each host in turn: its candidates' allocations are claimed in
   Placement (``PUT /allocations/{instance}``), the first one Placement
   accepts wins (a 409 means another boot took it first: the host's next
   candidate, another PF, is tried);
3. the host's compute manager boots the server with each SR-IOV port's
   PF provider (``BootRequest.port_providers``: the compute claims a
   device of exactly that PF);
4. when the compute fails the boot (:class:`~sriovirt.exception.BuildFailed`,
   rolled back there), the allocation is deleted and the next host is
   tried.  When every host failed,
   :class:`~sriovirt.exception.SchedulingFailed` names every attempt;
5. when the call got no answer
   (:class:`~sriovirt.exception.ComputeUnreachable`:
   the service died, hangs, or the broker went away), the instance's
   row, read by uuid (``instances``), says whether the host acted on
   it.  No row: it never started (the unanswered message expires
   unconsumed with the call's timeout), so the allocation is freed and
   the next host tried, with the same uuid.  An ``active`` row on that
   host: the boot finished and only the answer was lost; it is the
   result (allocation kept).  Any other row: the host is in the middle
   of it or died there; it is not retried elsewhere (a second host
   would boot the same uuid), the allocation is kept, and
   :class:`~sriovirt.exception.ServerInDoubt` says that the host
   finishes it, or its reconcile rolls it back and deletes the
   allocation.  Without ``instances`` every unanswered call is in doubt.

:meth:`SchedulerManager.delete` terminates the server on its host, then
deletes its allocation.  The hosts' computes are passed in as a
registry (host name -> compute), as Placement and the database are: the
in-process managers (a dict), or
:class:`~sriovirt.compute.remote.RemoteComputes` over the message bus
when ``[DEFAULT] transport_url`` is set (one flow,
two transports; a host that cannot be reached is a failed attempt: the
next alternate is tried).  Extra host filters (the compute service
filter of the message-bus mode) come in as ``host_filters``.  This
module must not speak HTTP, SQL or RPC itself, nor pick devices.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from sriovirt import exception
from sriovirt.compute import journal
from sriovirt.compute.boot import BootRequest
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.pci.alias import PciAlias
from sriovirt.scheduler.destinations import (
    CandidatesSource,
    NodesSource,
    SchedulerSettings,
    select_destinations,
)
from sriovirt.scheduler.filters import ALL_HOST_FILTERS, HostFilter
from sriovirt.scheduler.host_state import (
    AllocationCandidate,
    HostState,
    PoolsCache,
    candidates_from_response,
    group_candidates,
)
from sriovirt.scheduler.placement_query import allocation_candidates_query
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec

LOG = logging.getLogger(__name__)


class Allocations(CandidatesSource, Protocol):
    """What claims and frees a boot's resources in Placement
    (:class:`~sriovirt.placement.allocations.AllocationClient`)."""

    def claim(
        self,
        consumer: str,
        allocations: Mapping[str, Mapping[str, int]],
        *,
        project_id: str,
        user_id: str,
    ) -> str | None: ...

    def delete(self, consumer: str) -> bool: ...


class Compute(Protocol):
    """One host's compute manager, as the scheduler drives it."""

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord: ...

    def terminate_instance(self, instance_uuid: str) -> InstanceRecord: ...


class Instances(Protocol):
    """What reads an instance's row by uuid
    (:class:`~sriovirt.db.api.Database`)."""

    def get_instance(self, uuid: str) -> InstanceRecord | None: ...


class Computes(Protocol):
    """host -> its compute, or None (a dict of in-process managers, or
    :class:`~sriovirt.compute.remote.RemoteComputes`)."""

    def get(self, host: str, /) -> Compute | None: ...


#: :attr:`BuildFailed.aftermath` of a boot refused before scheduling.
NOTHING_DONE = "nothing was claimed or allocated"


def request_spec_of(
    boot: BootRequest,
    network: network_api.NetworkAPI,
    aliases: Mapping[str, PciAlias] | None = None,
) -> RequestSpec:
    """The scheduler's request of ``boot``: its flavor and image, and
    its ports read from ``network``.  Raises
    :class:`~sriovirt.exception.BuildFailed` at step ``read ports`` or
    ``request spec`` (nothing done), as the compute names its steps."""

    def failed(step: str, exc: Exception) -> exception.BuildFailed:
        return exception.BuildFailed(
            instance=f"{boot.name!r} ({boot.uuid})",
            step=step,
            reason=str(exc),
            aftermath=NOTHING_DONE,
        )

    try:
        if len(set(boot.port_ids)) != len(boot.port_ids):
            raise exception.Invalid(
                reason=f"ports {list(boot.port_ids)} name a port twice"
            )
        ports = [network_api.request_for(network, p) for p in boot.port_ids]
    except exception.SriovirtError as exc:
        raise failed("read ports", exc) from exc
    try:
        return build_request_spec(
            vcpus=boot.vcpus,
            memory_mb=boot.memory_mb,
            extra_specs=boot.flavor_extra_specs,
            image_properties=boot.image_properties,
            ports=ports,
            aliases=aliases,
        )
    except exception.SriovirtError as exc:
        raise failed("request spec", exc) from exc


#: Project and user of the allocations when the caller names none.
DEFAULT_OWNER = "sriovirt"


class SchedulerManager:
    """Schedules boots onto the hosts of ``computes``."""

    def __init__(
        self,
        *,
        placement: Allocations,
        nodes: NodesSource,
        computes: Computes,
        settings: SchedulerSettings | None = None,
        host_filters: Sequence[HostFilter] = ALL_HOST_FILTERS,
        project_id: str = DEFAULT_OWNER,
        user_id: str = DEFAULT_OWNER,
        instances: Instances | None = None,
    ) -> None:
        self.placement = placement
        self.nodes = nodes
        #: Reads a boot's row after an unanswered call (module
        #: docstring, step 5); the database of ``nodes`` when it can.
        self.instances = instances
        self.computes = computes
        self.settings = settings or SchedulerSettings()
        self.host_filters = tuple(host_filters)
        self.project_id = project_id
        self.user_id = user_id
        self.pools_cache = PoolsCache()

    def schedule_and_build(
        self,
        boot: BootRequest,
        spec: RequestSpec,
        *,
        force_host: str | None = None,
    ) -> InstanceRecord:
        """Boot ``boot`` on the best host that takes it; its row.

        ``force_host``: that host only, the filters not run (Nova's
        forced destination); its resources are still claimed.

        Raises what the request filters raise,
        :class:`~sriovirt.exception.NoValidHost` (no host fits),
        :class:`~sriovirt.exception.SchedulingFailed` (every host tried
        failed), :class:`~sriovirt.exception.PlacementUnavailable`
        (nothing left allocated, unless the error says so),
        :class:`~sriovirt.exception.ServerNameInUse` (allocation freed)
        and :class:`~sriovirt.exception.ServerInDoubt` (a call got no
        answer after the host wrote the row: allocation kept, no other
        host tried; see the module docstring, step 5).
        """
        if force_host is not None:
            hosts = self._forced(spec, force_host)
        else:
            found = select_destinations(
                spec,
                placement=self.placement,
                nodes=self.nodes,
                settings=self.settings,
                filters=self.host_filters,
                pools_cache=self.pools_cache,
            )
            spec, hosts = found.spec, found.selection.hosts
        attempts: list[str] = []
        for host in hosts:
            record = self._try_host(boot, spec, host, attempts)
            if record is not None:
                return record
        raise exception.SchedulingFailed(
            instance=f"{boot.name!r} ({boot.uuid})",
            count=len(hosts),
            attempts="; ".join(attempts),
        )

    def _forced(self, spec: RequestSpec, host: str) -> tuple[HostState, ...]:
        """``host`` alone, as Nova's forced destination: no request
        filter (no trait added) and no host filter run, but the
        resources are still claimed in Placement from its candidates."""
        query = allocation_candidates_query(
            spec, limit=self.settings.max_placement_results
        )
        candidates = candidates_from_response(
            self.placement.allocation_candidates(query)
        )
        grouped = group_candidates(candidates)
        records = self.nodes.get_compute_nodes_by_uuids(set(grouped))
        for uuid, record in records.items():
            if record.host == host:
                return (
                    HostState(uuid, host, None, None, tuple(grouped[uuid])),
                )
        raise exception.NoValidHost(
            candidates=len(grouped),
            query=query.query_string(),
            removed=f"none of them is the forced host {host}",
        )

    def _try_host(
        self,
        boot: BootRequest,
        spec: RequestSpec,
        host: HostState,
        attempts: list[str],
    ) -> InstanceRecord | None:
        compute = self.computes.get(host.host)
        if compute is None:
            attempts.append(f"{host.host}: no compute manager for this host")
            return None
        candidate = self._claim(boot, host, attempts)
        if candidate is None:
            return None
        providers = {
            group.port_id: candidate.mappings[group.suffix][0]
            for group in spec.port_groups
            if candidate.mappings.get(group.suffix)
        }
        placed = dataclasses.replace(boot, port_providers=providers)
        try:
            record = compute.build_and_run_instance(placed)
        except exception.BuildFailed as exc:
            LOG.info("Boot of %s failed on %s: %s", boot.name, host.host, exc)
            attempts.append(f"{host.host}: {exc}")
            self._free(boot)
            return None
        except exception.ComputeUnreachable as exc:
            return self._unanswered(boot, host.host, exc, attempts)
        except BaseException:
            self._free(boot)
            raise
        LOG.info("Server %s booted on %s", boot.name, host.host)
        return record

    def _unanswered(
        self,
        boot: BootRequest,
        host: str,
        exc: exception.ComputeUnreachable,
        attempts: list[str],
    ) -> InstanceRecord | None:
        """After a boot's call to ``host`` got no answer: the row found,
        None (freed: try the next host), or ServerInDoubt (kept)."""
        try:
            record = (
                self.instances.get_instance(boot.uuid)
                if self.instances is not None
                else None
            )
            known = self.instances is not None
        except exception.SriovirtError as db_exc:
            LOG.error("Row of %s not read: %s", boot.uuid, db_exc)
            record, known = None, False
        if known and record is None:
            LOG.warning(
                "Boot of %s on %s got no answer and left no row: freeing "
                "its allocation, next host (%s)",
                boot.name,
                host,
                exc,
            )
            attempts.append(f"{host}: {exc} (no row written: not started)")
            self._free(boot)
            return None
        if (
            record is not None
            and record.host == host
            and record.vm_state == journal.ACTIVE
            and record.task_state is None
        ):
            LOG.warning(
                "Boot of %s on %s got no answer but finished there: %s",
                boot.name,
                host,
                exc,
            )
            return record
        doubt = exception.ServerInDoubt(
            method=exc.method,
            host=host if record is None else str(record.host),
            topic=exc.topic,
            server=f"{boot.name!r} ({boot.uuid})",
            vm_state="unknown" if record is None else record.vm_state,
            task_state=(
                "unknown (its row could not be read)"
                if record is None
                else str(record.task_state)
            ),
            reason=str(exc),
        )
        LOG.error("%s", doubt)
        raise doubt from exc

    def _claim(
        self, boot: BootRequest, host: HostState, attempts: list[str]
    ) -> AllocationCandidate | None:
        """The first of the host's candidates Placement lets us claim."""
        refusals: list[str] = []
        for candidate in host.candidates:
            try:
                refused = self.placement.claim(
                    boot.uuid,
                    candidate.allocations,
                    project_id=self.project_id,
                    user_id=self.user_id,
                )
            except exception.PlacementUnavailable:
                # The PUT may have landed before the answer was lost.
                self._free(boot)
                raise
            if refused is None:
                return candidate
            refusals.append(refused)
        attempts.append(
            f"{host.host}: Placement refused the claim of each of its "
            f"{len(host.candidates)} candidate(s) ({refusals[-1]})"
        )
        return None

    def _free(self, boot: BootRequest) -> None:
        """Delete the boot's allocation; an outage is logged (the
        allocation then outlives the boot: the error says so)."""
        try:
            self.placement.delete(boot.uuid)
        except exception.PlacementError as exc:
            LOG.error(
                "Allocation of %s (%s) not deleted: %s; delete it with "
                "DELETE /allocations/%s when Placement answers",
                boot.name,
                boot.uuid,
                exc,
                boot.uuid,
            )

    def delete(self, host: str, instance_uuid: str) -> InstanceRecord:
        """Terminate the server on ``host``, then delete its allocation."""
        compute = self.computes.get(host)
        if compute is None:
            raise exception.ServerNotFound(server=instance_uuid, host=host)
        record = compute.terminate_instance(instance_uuid)
        try:
            self.placement.delete(instance_uuid)
        except exception.PlacementError as exc:
            raise exception.PlacementError(
                endpoint=exc.endpoint,
                reason=f"server {instance_uuid} was deleted on {host}, but "
                f"its allocation is left ({exc.reason}): DELETE "
                f"/allocations/{instance_uuid} once Placement answers",
            ) from exc
        return record
