"""Claims: PCI devices held for one boot, released if the boot fails.

:meth:`~sriovirt.compute.resource_tracker.ResourceTracker.claim` returns
a :class:`Claim`, a context manager::

    with tracker.claim(instance_uuid, requests) as claim:
        ...  # bind ports, build the guest; an exception aborts
    tracker.allocate(instance_uuid)

Leaving the ``with`` block by an exception aborts the claim: exactly the
devices it claimed are freed (and the free is stored) and the exception
goes on.  Leaving it normally keeps the claim; the caller then
allocates.  :meth:`Claim.abort` may also be called directly (an undo
registered in an ``ExitStack``); aborting twice frees nothing more, and
an abort never frees a device another claim holds.

This module holds the claim's values and its lifetime only: it must not
pick devices or touch the database (the resource tracker does both).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, PciDevice
from sriovirt.pci.request import PciRequest

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimedDevice:
    """One device a claim holds, as it was when claimed."""

    address: PciAddress
    dev_type: DevType
    vendor_id: str
    product_id: str
    physical_network: str | None
    parent_addr: PciAddress | None
    #: The :class:`~sriovirt.pci.request.PciRequest` it serves.
    request_id: str | None
    #: A VF's PF MAC and index (``binding:profile`` keys), else None.
    pf_mac_address: str | None = None
    vf_num: int | None = None
    #: Its host netdev when claimed (a macvtap guest NIC sits on it).
    ifname: str | None = None

    @classmethod
    def of(cls, dev: PciDevice) -> ClaimedDevice:
        return cls(
            address=dev.address,
            dev_type=dev.dev_type,
            vendor_id=dev.vendor_id,
            product_id=dev.product_id,
            physical_network=dev.physical_network,
            parent_addr=dev.parent_addr,
            request_id=dev.request_id,
            pf_mac_address=dev.pf_mac_address,
            vf_num=dev.vf_num,
            ifname=dev.ifname,
        )


class ClaimOwner(Protocol):
    """What a claim needs of the tracker that made it."""

    def abort_claim(self, claim: Claim) -> None: ...


class Claim:
    """The devices claimed for one instance's PCI requests."""

    def __init__(
        self,
        owner: ClaimOwner,
        instance_uuid: str,
        requests: tuple[PciRequest, ...],
        devices: tuple[ClaimedDevice, ...],
    ) -> None:
        self._owner = owner
        self.instance_uuid = instance_uuid
        self.requests = requests
        self.devices = devices
        self._aborted = False

    @property
    def aborted(self) -> bool:
        return self._aborted

    def by_request(self, request_id: str) -> tuple[ClaimedDevice, ...]:
        """The devices claimed for the request ``request_id``."""
        return tuple(d for d in self.devices if d.request_id == request_id)

    def abort(self) -> None:
        """Free exactly the devices of this claim (stored); idempotent.

        Devices this instance allocated since are freed too: an abort
        undoes the claim whatever came after it.
        """
        if self._aborted:
            return
        self._owner.abort_claim(self)
        self._aborted = True

    def __enter__(self) -> Claim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            return
        LOG.info(
            "Aborting the PCI claim of instance %s: %s",
            self.instance_uuid,
            exc,
        )
        self.abort()

    def __repr__(self) -> str:
        addresses = ", ".join(str(d.address) for d in self.devices)
        state = " aborted" if self._aborted else ""
        return f"<Claim {self.instance_uuid}{state}: [{addresses}]>"
