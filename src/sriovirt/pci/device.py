"""PCI devices: as discovered, and as tracked.

:class:`HostPciDevice` is what the inventory reports for one PCI function
of the host: its identity, its SR-IOV role and its topology.  It carries no
tracking state.

:class:`PciDevice` is the tracker's mutable record of one whitelisted
function: the host facts, the matching spec's tags and the tracking
state.  Its status only moves along :data:`TRANSITIONS`; any other move
raises :class:`~sriovirt.exception.PciDeviceInvalidStatus`.  A
:class:`PciDevice` knows nothing of its relatives or of pools: the PF/VF
rules and the pool counts are the tracker's job
(:mod:`sriovirt.pci.tracker`), so this module must not grow policy that
needs more than one device.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.netdev import mac_problem

_HEX_ID = re.compile(r"(?:0x)?([0-9a-f]{1,4})")


class DevType(enum.StrEnum):
    """The SR-IOV role of a PCI function, spelled as Nova stores it."""

    PF = "type-PF"
    VF = "type-VF"
    PCI = "type-PCI"


def hex_id(value: object) -> str | None:
    """A vendor/product id as 4 lowercase hex digits, else ``None``.

    The one normaliser of PCI ids (device_spec, aliases, requests, pools
    and the inventory all use it): accepts ``"8086"``, ``"0x8086"``,
    shorter ids (``"15"`` is ``"0015"``), any case and surrounding
    spaces; anything else, an empty id included, is ``None``.
    """
    if isinstance(value, str):
        found = _HEX_ID.fullmatch(value.strip().lower())
        if found is not None:
            return found.group(1).zfill(4)
    return None


def normalize_id(value: object, *, field: str, address: object) -> str:
    """:func:`hex_id`, or :class:`~sriovirt.exception.InvalidHostDevice`."""
    normal = hex_id(value)
    if normal is not None:
        return normal
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
    #: VF only: the MAC address of its PF's netdev, and its index among
    #: the PF's VFs (``virtfnN``); what ``binding:profile`` carries as
    #: ``pf_mac_address`` and ``vf_num``.
    pf_mac_address: str | None = None
    vf_num: int | None = None

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
            normalize_id(self.product_id, field="product_id", address=address),
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
        self._check_vf_facts(address)

    def _check_vf_facts(self, address: PciAddress) -> None:
        """``pf_mac_address`` (lowercased) and ``vf_num``: a VF's only."""
        mac, vf_num = self.pf_mac_address, self.vf_num
        if self.dev_type is not DevType.VF and (
            mac is not None or vf_num is not None
        ):
            raise exception.InvalidHostDevice(
                address=address,
                reason=f"a {self.dev_type.value} has no pf_mac_address "
                f"({mac!r}) or vf_num ({vf_num!r}): a VF's only",
            )
        if mac is not None:
            lower = mac.lower() if isinstance(mac, str) else ""
            problem = mac_problem(lower)
            if problem is not None:
                raise exception.InvalidHostDevice(
                    address=address, reason=f"pf_mac_address {mac!r} {problem}"
                )
            object.__setattr__(self, "pf_mac_address", lower)
        if vf_num is not None and (
            type(vf_num) is not int or not 0 <= vf_num < 2**16
        ):
            raise exception.InvalidHostDevice(
                address=address,
                reason=f"vf_num {vf_num!r} is not an integer in 0-65535",
            )

    @property
    def vendor_info(self) -> str:
        """``vendor:product`` as Neutron's ``pci_vendor_info`` wants it."""
        return f"{self.vendor_id}:{self.product_id}"


class DeviceStatus(enum.StrEnum):
    """Tracking state of a :class:`PciDevice`, spelled as Nova stores it.

    ``unclaimable`` and ``unavailable`` are both "blocked by a relative":
    a device is ``unclaimable`` while a relative (its PF, or one of its
    VFs) is claimed, and ``unavailable`` while a relative is allocated.
    ``removed`` means gone from the host (or from the whitelist); the
    database layer deletes the row and may mark it ``deleted``.
    """

    AVAILABLE = "available"
    CLAIMED = "claimed"
    ALLOCATED = "allocated"
    REMOVED = "removed"
    DELETED = "deleted"
    UNCLAIMABLE = "unclaimable"
    UNAVAILABLE = "unavailable"


class Action(enum.StrEnum):
    """What can happen to a tracked device."""

    CLAIM = "claim"
    ALLOCATE = "allocate"
    FREE = "free"
    #: A relative became (or stayed, differently) in use.
    BLOCK = "block"
    #: No relative is in use any more.
    UNBLOCK = "unblock"
    REMOVE = "remove"
    DELETE = "delete"


_S = DeviceStatus
Moves = frozenset[tuple[DeviceStatus, DeviceStatus]]

#: Every allowed move, per action, as ``(from, to)`` pairs.  Nothing else
#: is allowed; :meth:`PciDevice.transition` enforces it.
TRANSITIONS: Final[Mapping[Action, Moves]] = {
    Action.CLAIM: frozenset({(_S.AVAILABLE, _S.CLAIMED)}),
    Action.ALLOCATE: frozenset({(_S.CLAIMED, _S.ALLOCATED)}),
    Action.FREE: frozenset(
        {(_S.CLAIMED, _S.AVAILABLE), (_S.ALLOCATED, _S.AVAILABLE)}
    ),
    Action.BLOCK: frozenset(
        {
            (_S.AVAILABLE, _S.UNCLAIMABLE),
            (_S.AVAILABLE, _S.UNAVAILABLE),
            (_S.UNCLAIMABLE, _S.UNAVAILABLE),
            (_S.UNAVAILABLE, _S.UNCLAIMABLE),
        }
    ),
    Action.UNBLOCK: frozenset(
        {(_S.UNCLAIMABLE, _S.AVAILABLE), (_S.UNAVAILABLE, _S.AVAILABLE)}
    ),
    Action.REMOVE: frozenset(
        {
            (_S.AVAILABLE, _S.REMOVED),
            (_S.UNCLAIMABLE, _S.REMOVED),
            (_S.UNAVAILABLE, _S.REMOVED),
        }
    ),
    Action.DELETE: frozenset({(_S.REMOVED, _S.DELETED)}),
}

#: States a device can be freed from / that count as "used".
IN_USE: Final = frozenset({_S.CLAIMED, _S.ALLOCATED})
#: States of a device that is present but not used.
NOT_IN_USE: Final = frozenset({_S.AVAILABLE, _S.UNCLAIMABLE, _S.UNAVAILABLE})


def _sources(action: Action) -> list[str]:
    """The statuses ``action`` can move a device from, sorted."""
    return sorted({src.value for src, _ in TRANSITIONS[action]})


def _targets(action: Action, source: DeviceStatus) -> list[DeviceStatus]:
    return [dst for src, dst in TRANSITIONS[action] if src is source]


@dataclass(slots=True, eq=False, kw_only=True)
class PciDevice:
    """One tracked PCI function: host facts, spec tags and state.

    Owned and mutated by :class:`~sriovirt.pci.tracker.PciTracker`; other
    code reads it.  Identity is the object (``eq=False``): two records of
    the same address are never tracked at the same time.
    """

    host: HostPciDevice
    physical_network: str | None = None
    #: The matching spec's tags except ``physical_network``, sorted.
    tags: tuple[tuple[str, str], ...] = ()
    status: DeviceStatus = DeviceStatus.AVAILABLE
    instance_uuid: str | None = None
    request_id: str | None = None
    #: Gone from the host or the whitelist while in use: removed when
    #: freed instead of becoming available.
    pending_removal: bool = False

    # --- host facts -------------------------------------------------------

    @property
    def address(self) -> PciAddress:
        return self.host.address

    @property
    def vendor_id(self) -> str:
        return self.host.vendor_id

    @property
    def product_id(self) -> str:
        return self.host.product_id

    @property
    def dev_type(self) -> DevType:
        return self.host.dev_type

    @property
    def parent_addr(self) -> PciAddress | None:
        return self.host.parent_addr

    @property
    def numa_node(self) -> int | None:
        return self.host.numa_node

    @property
    def ifname(self) -> str | None:
        return self.host.ifname

    @property
    def pf_mac_address(self) -> str | None:
        return self.host.pf_mac_address

    @property
    def vf_num(self) -> int | None:
        return self.host.vf_num

    @property
    def tag_dict(self) -> dict[str, str]:
        """All tags, ``physical_network`` included (a fresh dict)."""
        tags = dict(self.tags)
        if self.physical_network is not None:
            tags["physical_network"] = self.physical_network
        return tags

    @property
    def in_use(self) -> bool:
        return self.status in IN_USE

    # --- state machine ----------------------------------------------------

    def transition(
        self, action: Action, to: DeviceStatus | None = None
    ) -> DeviceStatus:
        """Move along :data:`TRANSITIONS`; return the previous status.

        ``to`` is needed only when the action allows several targets from
        the current state (``block``).
        """
        source = self.status
        targets = _targets(action, source)
        if to is not None:
            targets = [t for t in targets if t is to]
        if len(targets) != 1:
            sources = _sources(action)
            expected = " or ".join(sources)
            if to is not None and source.value in sources:
                expected += f" (and not already {to.value})"
            raise exception.PciDeviceInvalidStatus(
                address=self.address,
                status=source.value,
                action=action.value
                + (f" to {to.value}" if to is not None else ""),
                expected=expected,
            )
        self.status = targets[0]
        return source

    def claim(self, instance_uuid: str, request_id: str | None) -> None:
        self.transition(Action.CLAIM)
        self.instance_uuid = instance_uuid
        self.request_id = request_id

    def allocate(self, instance_uuid: str) -> None:
        self._check_owner(instance_uuid)
        self.transition(Action.ALLOCATE)

    def free(self, instance_uuid: str | None = None) -> None:
        if instance_uuid is not None:
            self._check_owner(instance_uuid)
        self.transition(Action.FREE)
        self.instance_uuid = None
        self.request_id = None

    def block(self, to: DeviceStatus) -> None:
        self.transition(Action.BLOCK, to)

    def unblock(self) -> None:
        self.transition(Action.UNBLOCK)

    def remove(self) -> None:
        self.transition(Action.REMOVE)

    def mark_deleted(self) -> None:
        self.transition(Action.DELETE)

    def _check_owner(self, instance_uuid: str) -> None:
        if self.instance_uuid is not None and (
            self.instance_uuid != instance_uuid
        ):
            raise exception.PciDeviceInvalidOwner(
                address=self.address,
                owner=self.instance_uuid,
                instance_uuid=instance_uuid,
            )
