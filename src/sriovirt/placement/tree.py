"""One compute node's provider tree, as values: what Placement should hold.

:func:`compute_tree` turns the resource tracker's state (the compute
node record, the driver's host resources and traits, the tracked PCI
devices) into a :class:`ProviderTree`:

* the root provider (uuid = compute node uuid, name = host) with
  ``VCPU``, ``MEMORY_MB`` and ``DISK_GB`` and the driver's traits;
* one child provider per PF that has tracked devices with a physical
  network, named ``<host>_<PF address>``, with ``SRIOV_NET_VF`` (its
  tracked VFs) and :data:`PF_RESOURCE_CLASS` (1, when the PF itself is
  tracked), trait ``CUSTOM_PHYSNET_<NAME>`` and the vnic-type traits
  the devices can serve.

PF/VF exclusivity (see ``doc/source/placement.rst``): allocations are
the scheduler's; ``reserved`` holds only what a *relative* makes
unusable.  A VF in use reserves the PF's one unit; the PF in use
reserves every VF.  A device's own use is its allocation's business,
never counted twice.

This module is pure: it must not talk to Placement, read configuration
or touch the database.
"""

from __future__ import annotations

import logging
import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import os_resource_classes as orc
import os_traits

from sriovirt.pci.device import IN_USE, DevType, PciDevice

LOG = logging.getLogger(__name__)

#: The resource class of a whole PF (vnic type ``direct-physical``):
#: Placement has no standard one.
PF_RESOURCE_CLASS = "CUSTOM_SRIOV_NET_PF"

#: Where child provider UUIDs come from: uuid5(root uuid, PF address),
#: so a restart (or another process) computes the same UUID.
_CHILD_NAMESPACE = uuid_lib.UUID("8f3c6a2e-5d1b-4c7a-9e0f-2b6d4a8c1e57")


def physnet_trait(physical_network: str) -> str:
    """``physnet1`` -> ``CUSTOM_PHYSNET_PHYSNET1`` (os-traits' rule)."""
    return str(os_traits.normalize_name(f"PHYSNET_{physical_network}"))


def vnic_type_trait(vnic_type: str) -> str:
    """``direct-physical`` -> ``CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL``."""
    return str(os_traits.normalize_name(f"VNIC_TYPE_{vnic_type}"))


@dataclass(frozen=True, slots=True, order=True)
class Inventory:
    """One resource class's inventory, in Placement's fields."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 0
    step_size: int = 1
    allocation_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.max_unit == 0:
            object.__setattr__(self, "max_unit", max(self.total, 1))
        if not 0 <= self.reserved <= self.total:
            raise ValueError(
                f"reserved {self.reserved} must be within 0..total "
                f"{self.total}"
            )

    def to_json(self) -> dict[str, int | float]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> Inventory:
        def num(name: str) -> int:
            value = body[name]
            assert isinstance(value, int)
            return value

        ratio = body["allocation_ratio"]
        assert isinstance(ratio, int | float)
        return cls(
            total=num("total"),
            reserved=num("reserved"),
            min_unit=num("min_unit"),
            max_unit=num("max_unit"),
            step_size=num("step_size"),
            allocation_ratio=float(ratio),
        )


@dataclass(frozen=True, slots=True)
class Provider:
    """One resource provider as it should be (``parent`` None: root)."""

    uuid: str
    name: str
    parent: str | None
    inventories: Mapping[str, Inventory] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProviderTree:
    """A root provider and its children, parents before children."""

    providers: tuple[Provider, ...]
    #: Why a PF got no provider (one line each).
    skipped: tuple[str, ...] = ()

    @property
    def root(self) -> Provider:
        return self.providers[0]

    def by_uuid(self) -> dict[str, Provider]:
        return {p.uuid: p for p in self.providers}


def child_uuid(root_uuid: str, pf_address: str) -> str:
    """The UUID the child provider of ``pf_address`` gets under a root."""
    return str(uuid_lib.uuid5(_CHILD_NAMESPACE, f"{root_uuid}/{pf_address}"))


def root_provider(
    *,
    node_uuid: str,
    host: str,
    vcpus: int,
    memory_mb: int,
    disk_gb: int,
    traits: Mapping[str, bool],
) -> Provider:
    inventories = {
        rc: Inventory(total=amount)
        for rc, amount in (
            (orc.VCPU, vcpus),
            (orc.MEMORY_MB, memory_mb),
            (orc.DISK_GB, disk_gb),
        )
        if amount > 0
    }
    return Provider(
        uuid=node_uuid,
        name=host,
        parent=None,
        inventories=inventories,
        traits=frozenset(name for name, on in traits.items() if on),
    )


@dataclass
class _PfGroup:
    pf: PciDevice | None = None
    vfs: list[PciDevice] = field(default_factory=list)

    def devices(self) -> list[PciDevice]:
        return ([self.pf] if self.pf is not None else []) + self.vfs


def _groups(devices: Iterable[PciDevice]) -> dict[str, _PfGroup]:
    groups: dict[str, _PfGroup] = {}
    for dev in devices:
        if dev.dev_type is DevType.PF:
            groups.setdefault(str(dev.address), _PfGroup()).pf = dev
        elif dev.dev_type is DevType.VF and dev.parent_addr is not None:
            groups.setdefault(str(dev.parent_addr), _PfGroup()).vfs.append(dev)
    return groups


def pf_provider(
    root: Provider, pf_address: str, group: _PfGroup
) -> Provider | str:
    """The child provider of one PF, or why it has none."""
    physnets = {
        d.physical_network
        for d in group.devices()
        if d.physical_network is not None
    }
    if not physnets:
        return f"PF {pf_address}: no physical_network on its devices"
    if len(physnets) > 1:
        return (
            f"PF {pf_address}: its devices are tagged with more than one "
            f"physical_network ({', '.join(sorted(physnets))}); one "
            "provider can carry only one"
        )
    (physnet,) = physnets
    vfs = [v for v in group.vfs if v.physical_network == physnet]
    pf = group.pf if group.pf and group.pf.physical_network else None
    vf_used = any(v.status in IN_USE for v in vfs)
    pf_used = pf is not None and pf.status in IN_USE
    inventories: dict[str, Inventory] = {}
    traits = {physnet_trait(physnet)}
    if vfs:
        inventories[orc.SRIOV_NET_VF] = Inventory(
            total=len(vfs), reserved=len(vfs) if pf_used else 0
        )
        traits.add(vnic_type_trait("direct"))
        traits.add(vnic_type_trait("macvtap"))
    if pf is not None:
        inventories[PF_RESOURCE_CLASS] = Inventory(
            total=1, reserved=1 if vf_used else 0
        )
        traits.add(vnic_type_trait("direct-physical"))
    return Provider(
        uuid=child_uuid(root.uuid, pf_address),
        name=f"{root.name}_{pf_address}",
        parent=root.uuid,
        inventories=inventories,
        traits=frozenset(traits),
    )


def compute_tree(root: Provider, devices: Iterable[PciDevice]) -> ProviderTree:
    """The whole tree: ``root`` and one child per PF with a physnet."""
    children: list[Provider] = []
    skipped: list[str] = []
    for address, group in sorted(_groups(devices).items()):
        child = pf_provider(root, address, group)
        if isinstance(child, str):
            skipped.append(child)
        else:
            children.append(child)
    for line in skipped:
        LOG.debug("No Placement provider: %s", line)
    return ProviderTree((root, *children), tuple(skipped))
