"""A boot delivered twice or late: what the compute manager answers.

A message bus may deliver a boot twice (a send retried after a lost
confirm) or late (after its caller gave up on this host), so a boot is
idempotent by instance uuid.  :func:`already_booted` decides from the
uuid's row: this host already booted it (its row is the answer), the
same boot is in flight here (wait for its lock and ask again), or the
uuid belongs to something else
(:class:`~sriovirt.exception.InstanceUuidInUse`).  :class:`Deliveries`
remembers the boots that failed here, so a later delivery does not run
them again.  :func:`check_allocated` refuses a scheduled boot whose
Placement allocation no longer holds this host's providers.

This module must not write anything, take locks of its own beyond its
in-memory record, nor boot: the manager does, and calls these in order.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Protocol

from sriovirt import exception
from sriovirt.compute import boot as boot_values
from sriovirt.compute import journal
from sriovirt.compute.boot import BootRequest
from sriovirt.db.records import InstanceRecord

LOG = logging.getLogger(__name__)


class AllocationsReader(Protocol):
    """What reads a consumer's Placement allocations
    (:class:`~sriovirt.placement.allocations.AllocationClient`)."""

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]: ...


def already_booted(
    host: str,
    boot: BootRequest,
    found: InstanceRecord | None,
    *,
    in_flight_here: bool = False,
) -> InstanceRecord | None:
    """The row of ``boot`` when this host already booted it (same
    name and ports, active, nothing in flight); None when the uuid
    has no row, or (``in_flight_here``) when it is the same boot in
    flight on this host (the caller then waits for its lock and
    asks again); InstanceUuidInUse for any other row.  ``found``:
    the row of the boot's uuid, read by the caller."""
    if found is None:
        return None
    same = (
        found.host == host
        and found.name == boot.name
        and boot_values.port_ids(found) == list(boot.port_ids)
    )
    if same and in_flight_here and found.vm_state == journal.BUILDING:
        return None
    if same and found.vm_state == journal.ACTIVE and found.task_state is None:
        LOG.info(
            "Server %s (%s) is already booted on %s: duplicate boot "
            "request answered with its row",
            boot.name,
            boot.uuid,
            host,
        )
        return found
    state = found.vm_state + (
        f", task {found.task_state}" if found.task_state else ""
    )
    raise exception.InstanceUuidInUse(
        name=boot.name,
        host=host,
        uuid=boot.uuid,
        other=found.name,
        other_host=str(found.host),
        state=state,
    )


def check_allocated(
    boot: BootRequest, allocations: AllocationsReader | None
) -> None:
    """A scheduled boot runs only while the scheduler's allocation
    of it holds this host's providers: a boot delivered after its
    caller gave up on this host (the allocation freed, or claimed
    on another host for the same uuid) is refused, nothing done."""
    if not boot.port_providers or allocations is None:
        return
    wanted = set(boot.port_providers.values())
    try:
        held = set(allocations.allocations(boot.uuid))
    except exception.SriovirtError as exc:
        reason = f"its Placement allocation could not be read: {exc}"
    else:
        if wanted <= held:
            return
        reason = (
            f"Placement holds no allocation of it on this host's "
            f"providers {sorted(wanted)} (it holds {sorted(held)}): "
            "its scheduler gave up on this host, so this delivery "
            "came too late"
        )
    LOG.info("Boot of server %s refused: %s", boot.name, reason)
    raise exception.BuildFailed(
        instance=f"{boot.name!r} ({boot.uuid})",
        step="check allocation",
        reason=reason,
        aftermath="nothing was done",
    )


#: How many boot deliveries a manager remembers.
DELIVERIES_KEPT = 10_000


class Deliveries:
    """The instance uuids of the boots that failed on one manager after
    taking their lock (the latest :data:`DELIVERIES_KEPT`), shared by
    its threads: a message bus may deliver a boot twice (a send retried
    after a lost confirm), and the second delivery must not run a boot
    the first one failed and rolled back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: collections.OrderedDict[str, None] = (
            collections.OrderedDict()
        )

    def failed(self, uuid: str) -> bool:
        with self._lock:
            return uuid in self._failed

    @contextlib.contextmanager
    def failing(self, uuid: str) -> Iterator[None]:
        """Record ``uuid`` as failed when the block raises."""
        try:
            yield
        except BaseException:
            with self._lock:
                self._failed[uuid] = None
                self._failed.move_to_end(uuid)
                while len(self._failed) > DELIVERIES_KEPT:
                    self._failed.popitem(last=False)
            raise
