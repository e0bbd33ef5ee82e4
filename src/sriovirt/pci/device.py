"""Host PCI devices as discovered: the input of the whitelist and tracker.

:class:`HostPciDevice` is what the inventory reports for one PCI function
of the host: its identity, its SR-IOV role and its topology.  It carries no
tracking state (see :mod:`sriovirt.pci.tracker` for that).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.pci.address import PciAddress

_HEX_ID = re.compile(r"[0-9a-f]{4}")


class DevType(enum.StrEnum):
    """The SR-IOV role of a PCI function, spelled as Nova stores it."""

    PF = "type-PF"
    VF = "type-VF"
    PCI = "type-PCI"


def normalize_id(value: object, *, field: str, address: object) -> str:
    """Return a vendor/product id as 4 lowercase hex digits.

    Accepts ``"8086"``, ``"0x8086"`` and any case; anything else is an
    :class:`~sriovirt.exception.InvalidHostDevice`.
    """
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0x").zfill(4)
        if _HEX_ID.fullmatch(text):
            return text
    raise exception.InvalidHostDevice(
        address=address,
        reason=f"{field} {value!r} is not a 4-digit hex id",
    )


def _as_address(value: PciAddress | str, field: str) -> PciAddress:
    if isinstance(value, PciAddress):
        return value
    if isinstance(value, str):
        return PciAddress.parse(value)
    raise exception.InvalidHostDevice(
        address=value, reason=f"{field} must be a PCI address"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HostPciDevice:
    """One PCI function of the host, as the inventory sees it."""

    address: PciAddress
    vendor_id: str
    product_id: str
    dev_type: DevType
    parent_addr: PciAddress | None = None
    numa_node: int | None = None
    ifname: str | None = None
    parent_ifname: str | None = None

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ once, at creation.
        address = _as_address(self.address, "address")
        object.__setattr__(self, "address", address)
        object.__setattr__(
            self,
            "vendor_id",
            normalize_id(self.vendor_id, field="vendor_id", address=address),
        )
        object.__setattr__(
            self,
            "product_id",
            normalize_id(
                self.product_id, field="product_id", address=address
            ),
        )
        try:
            object.__setattr__(self, "dev_type", DevType(self.dev_type))
        except ValueError:
            raise exception.InvalidHostDevice(
                address=address,
                reason=f"dev_type {self.dev_type!r} is not one of "
                f"{', '.join(t.value for t in DevType)}",
            ) from None
        if self.parent_addr is not None:
            object.__setattr__(
                self,
                "parent_addr",
                _as_address(self.parent_addr, "parent_addr"),
            )
        if self.dev_type is DevType.VF and self.parent_addr is None:
            raise exception.InvalidHostDevice(
                address=address, reason="a VF needs parent_addr (its PF)"
            )
        if self.numa_node is not None and (
            type(self.numa_node) is not int or self.numa_node < 0
        ):
            raise exception.InvalidHostDevice(
                address=address,
                reason=f"numa_node {self.numa_node!r} is not a "
                "non-negative integer",
            )

    @property
    def vendor_info(self) -> str:
        """``vendor:product`` as Neutron's ``pci_vendor_info`` wants it."""
        return f"{self.vendor_id}:{self.product_id}"
