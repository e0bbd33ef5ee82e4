"""Restart: what the stored records of a host's devices mean to the
tracker.

:func:`restore_records` walks the records, skips those not in use,
reports unreadable or contradicting ones as conflicts (never raising for
one record) and collects what :meth:`PciTracker.restore
<sriovirt.pci.tracker.PciTracker.restore>` rebuilt.  :func:`stored_host`
rebuilds the host facts of a device in use that is no longer on the
host, from its record, so it keeps its pool identity until it is freed.

This module must not change tracked devices itself (the tracker applies
each record) nor read the database: records come in as values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import (
    IN_USE,
    DeviceStatus,
    DevType,
    HostPciDevice,
    PciDevice,
)
from sriovirt.pci.record import PciDeviceRecord, StoredInfo

# Under the tracker's name, as before the split: log filters and the
# lines operators know keep working.
LOG = logging.getLogger("sriovirt.pci.tracker")

#: Applies one in-use record: the device and whether it was missing
#: from the host; raises a SriovirtError to report a conflict.
RestoreOne = Callable[[PciDeviceRecord, DeviceStatus], tuple[PciDevice, bool]]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What :meth:`PciTracker.restore` rebuilt."""

    restored: tuple[PciAddress, ...] = ()
    #: In use in the records but not on the host: kept until freed.
    missing: tuple[PciAddress, ...] = ()
    #: Records that could not be applied, one message each.
    conflicts: tuple[str, ...] = ()


def restore_records(
    records: Iterable[PciDeviceRecord], restore_one: RestoreOne
) -> RestoreResult:
    """Apply every in-use record with ``restore_one``; the result."""
    restored: list[PciAddress] = []
    missing: list[PciAddress] = []
    conflicts: list[str] = []
    for rec in records:
        try:
            status = DeviceStatus(rec.status)
        except ValueError:
            conflicts.append(f"{rec.address}: unknown status {rec.status!r}")
            continue
        if status not in IN_USE:
            continue
        try:
            dev, was_missing = restore_one(rec, status)
        except exception.SriovirtError as exc:
            LOG.warning("Cannot restore PCI device record: %s", exc)
            conflicts.append(f"{rec.address}: {exc}")
            continue
        restored.append(dev.address)
        if was_missing:
            missing.append(dev.address)
    return RestoreResult(tuple(restored), tuple(missing), tuple(conflicts))


def owner(rec: PciDeviceRecord, status: DeviceStatus) -> str:
    """The instance an in-use record names; refused when it names none."""
    if not rec.instance_uuid:
        raise exception.PciDeviceInvalidStatus(
            address=rec.address,
            status=status.value,
            action="restore",
            expected="owned by an instance",
        )
    return rec.instance_uuid


def stored_host(
    rec: PciDeviceRecord, addr: PciAddress, info: StoredInfo
) -> HostPciDevice:
    """The host facts ``rec`` keeps for a device gone from the host."""
    try:
        dev_type = DevType(rec.dev_type)
    except ValueError:
        # A record edited by hand: report it like any other bad
        # field (HostPciDevice's own wording), never crash.
        raise exception.InvalidHostDevice(
            address=addr,
            reason=f"dev_type {rec.dev_type!r} is not one of "
            f"{', '.join(t.value for t in DevType)}",
        ) from None
    return HostPciDevice(
        address=addr,
        vendor_id=rec.vendor_id,
        product_id=rec.product_id,
        dev_type=dev_type,
        parent_addr=rec.parent_addr,  # type: ignore[arg-type]
        numa_node=rec.numa_node,
        ifname=info.ifname,
        parent_ifname=info.parent_ifname,
    )
