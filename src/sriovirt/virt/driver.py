"""The compute driver interface the compute service talks to.

A driver answers questions about its host (PCI functions, versions) and
runs guests.  Implementations translate these calls to one hypervisor API
(:mod:`sriovirt.virt.libvirt.driver`); the compute manager and resource
tracker use only this interface, so they can run against a fake in tests.

The values a guest is made of (:class:`Instance`, :class:`GuestVif`) and
what a driver reports about guests (:class:`InstanceState`,
:class:`GuestSummary`) are declared here, typed and frozen.  This module
must not talk to a hypervisor, read configuration or render XML.
"""

from __future__ import annotations

import abc
import enum
import uuid as uuid_lib
from collections.abc import Sequence
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.network.model import VIF
from sriovirt.pci.device import HostPciDevice


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """What a guest is, as the hypervisor needs it.

    ``uuid`` is kept in its canonical lowercase form: libvirt reports
    domains that way, and the same guest must compare equal.
    """

    name: str
    uuid: str
    memory_mb: int
    vcpus: int

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise exception.Invalid(
                reason=f"instance name {self.name!r} must be non-empty, "
                "without leading or trailing blanks"
            )
        try:
            canonical = str(uuid_lib.UUID(self.uuid))
        except (ValueError, AttributeError, TypeError):
            raise exception.Invalid(
                reason=f"uuid {self.uuid!r} of instance {self.name!r} is "
                "not a UUID"
            ) from None
        object.__setattr__(self, "uuid", canonical)
        for field, value in (
            ("memory_mb", self.memory_mb),
            ("vcpus", self.vcpus),
        ):
            if type(value) is not int or value < 1:
                raise exception.Invalid(
                    reason=f"{field} {value!r} of instance {self.name!r} "
                    "must be a positive integer"
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestVif:
    """One bound port to plug into a guest.

    ``netdev`` is the host netdev of the port's VF; only ``macvtap``
    ports need it (the guest NIC sits on that netdev).
    """

    vif: VIF
    netdev: str | None = None


class InstanceState(enum.StrEnum):
    """A guest's state as the hypervisor reports it."""

    RUNNING = "running"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    SHUTTING_DOWN = "shutting down"
    SHUT_OFF = "shut off"
    CRASHED = "crashed"
    UNKNOWN = "unknown"
    #: The hypervisor has no guest of that UUID.
    MISSING = "missing"


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestSummary:
    """A guest the hypervisor has: ``persistent`` when it is defined
    (survives a stop), False for a transient guest."""

    uuid: str
    name: str
    state: InstanceState
    persistent: bool


@dataclass(frozen=True, slots=True)
class PciInventory:
    """The host's PCI functions, and what could not be understood."""

    devices: Sequence[HostPciDevice]
    skipped: Sequence[str] = ()


class ComputeDriver(abc.ABC):
    """What the compute service needs from a hypervisor."""

    @abc.abstractmethod
    def nodename(self) -> str:
        """The hypervisor hostname this driver manages."""

    @abc.abstractmethod
    def pci_inventory(self) -> PciInventory:
        """Every PCI function of the host, as discovered now."""

    @abc.abstractmethod
    def traits(self) -> dict[str, bool]:
        """``{trait name: reported}`` for the host's root provider."""

    # -- guests -------------------------------------------------------------

    @abc.abstractmethod
    def spawn(
        self,
        instance: Instance,
        vifs: Sequence[GuestVif],
        packed: bool | None,
    ) -> None:
        """Define and start ``instance`` with one NIC per ``vifs`` item.

        ``packed`` is the instance's packed virtqueue choice (None: not
        asked).  On failure nothing of the guest is left behind; an
        existing definition of the same UUID or name is never replaced.
        """

    @abc.abstractmethod
    def destroy(self, instance_uuid: str) -> bool:
        """Stop and forget the guest; False when it was already gone."""

    @abc.abstractmethod
    def guest_xml(self, instance_uuid: str) -> str:
        """The guest's definition as the hypervisor holds it (what
        defining it again takes); no such guest is the driver's error."""

    @abc.abstractmethod
    def list_instances(self) -> tuple[GuestSummary, ...]:
        """Every guest the hypervisor has, sorted by name."""

    @abc.abstractmethod
    def instance_state(self, instance_uuid: str) -> InstanceState:
        """The guest's state; ``MISSING`` when there is no such guest."""

    @abc.abstractmethod
    def resume_guest(self, instance_uuid: str, domain_xml: str) -> bool:
        """Bring a guest that should run back to running: define it from
        ``domain_xml`` when the hypervisor has forgotten it, start it
        when it is shut off.  False when it was running already; a guest
        in another state (paused, crashed) is the driver's error."""

    # -- what the commands show (not abstract: a driver without them
    # -- still serves the compute service) ---------------------------------

    def host_versions(self) -> HostVersions:
        """The hypervisor library's and the hypervisor's versions."""
        raise NotImplementedError(
            f"{type(self).__name__} does not report host versions"
        )

    def host_resources(self) -> HostResources:
        """The host's capacity for guests (the root provider's
        inventories)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not report host resources"
        )

    def explain_traits(self) -> Sequence[TraitExplanation]:
        """Every trait the driver decides, with the reason for each."""
        raise NotImplementedError(
            f"{type(self).__name__} does not explain its traits"
        )


@dataclass(frozen=True, slots=True)
class HostVersions:
    """Versions as operators read them (``"9.0.0"``), with the
    hypervisor's type (``"QEMU"``, ``"TEST"``)."""

    library: str
    hypervisor_type: str
    hypervisor: str


@dataclass(frozen=True, slots=True)
class HostResources:
    """What the host can give guests: logical CPUs, memory in MiB and
    disk in GiB (whole units, as Placement counts them)."""

    vcpus: int
    memory_mb: int
    disk_gb: int

    def __post_init__(self) -> None:
        for name in ("vcpus", "memory_mb", "disk_gb"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise exception.Invalid(
                    reason=f"host {name} {value!r} must be an integer >= 0"
                )


@dataclass(frozen=True, slots=True)
class TraitExplanation:
    """Whether the host reports trait ``name``, and why (one sentence)."""

    name: str
    supported: bool
    reason: str
