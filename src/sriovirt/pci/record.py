"""The stored form of a tracked PCI device, and the one mapping to it.

:class:`PciDeviceRecord` is the one record type between the tracker and
the database: one ``pci_devices`` row as plain strings, with
``extra_info`` a dict of strings.  :func:`to_record` turns a tracked
:class:`~sriovirt.pci.device.PciDevice` into it; :func:`stored_info`
reads ``extra_info`` back for a restart.  This module owns the reserved
``extra_info`` keys (:data:`RESERVED_INFO_KEYS`): every other key is a
tag of the matching whitelist entry, ``physical_network`` included.

This module must not validate rows (a caller decides what an unreadable
row means), talk to the database or import anything beyond ``pci/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sriovirt.pci.device import PciDevice

#: extra_info keys that are not spec tags.
IFNAME = "ifname"
PARENT_IFNAME = "parent_ifname"
PENDING_REMOVAL = "pending_removal"
RESERVED_INFO_KEYS = frozenset({IFNAME, PARENT_IFNAME, PENDING_REMOVAL})
#: The tag that is a field of its own in pools and in the tracker.
PHYSICAL_NETWORK = "physical_network"


@dataclass(frozen=True, slots=True, kw_only=True)
class PciDeviceRecord:
    """One row of ``pci_devices`` without its node and bookkeeping."""

    address: str
    vendor_id: str
    product_id: str
    dev_type: str
    status: str
    parent_addr: str | None = None
    numa_node: int | None = None
    instance_uuid: str | None = None
    request_id: str | None = None
    extra_info: dict[str, str] = field(default_factory=dict)
    #: The row's primary key when read from the database (None when
    #: built to be written); not part of the device's state.
    id: int | None = field(default=None, compare=False)
    #: Why the row could not be read in full (``extra_info`` is then
    #: empty); only :meth:`~sriovirt.db.api.Database.read_pci_devices`
    #: returns such records.
    problem: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StoredInfo:
    """What ``extra_info`` says beyond the row's columns."""

    physical_network: str | None = None
    #: The spec's other tags, sorted (as the tracker keeps them).
    tags: tuple[tuple[str, str], ...] = ()
    ifname: str | None = None
    parent_ifname: str | None = None


def to_record(dev: PciDevice) -> PciDeviceRecord:
    """The stored form of a tracked device."""
    info = dev.tag_dict
    if dev.host.ifname is not None:
        info[IFNAME] = dev.host.ifname
    if dev.host.parent_ifname is not None:
        info[PARENT_IFNAME] = dev.host.parent_ifname
    if dev.pending_removal:
        info[PENDING_REMOVAL] = "true"
    return PciDeviceRecord(
        address=str(dev.address),
        vendor_id=dev.vendor_id,
        product_id=dev.product_id,
        dev_type=dev.dev_type.value,
        status=dev.status.value,
        parent_addr=(
            str(dev.parent_addr) if dev.parent_addr is not None else None
        ),
        numa_node=dev.numa_node,
        instance_uuid=dev.instance_uuid,
        request_id=dev.request_id,
        extra_info=info,
    )


def stored_info(record: PciDeviceRecord) -> StoredInfo:
    """The pool identity and netdev names ``record`` keeps, so a device
    in use that vanished from the host keeps them until it is freed.

    ``pending_removal`` is not read back: a restart decides it afresh
    from the host.
    """
    info = dict(record.extra_info)
    ifname = info.pop(IFNAME, None)
    parent_ifname = info.pop(PARENT_IFNAME, None)
    info.pop(PENDING_REMOVAL, None)
    physnet = info.pop(PHYSICAL_NETWORK, None)
    return StoredInfo(
        physical_network=physnet,
        tags=tuple(sorted(info.items())),
        ifname=ifname,
        parent_ifname=parent_ifname,
    )
