"""The compute driver interface the compute service talks to.

A driver answers questions about its host (PCI functions, versions) and
runs guests.  Implementations translate these calls to one hypervisor API
(:mod:`sriovirt.virt.libvirt.driver`); the compute manager and resource
tracker use only this interface, so they can run against a fake in tests.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from sriovirt.pci.device import HostPciDevice


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

    # -- what the commands show (not abstract: a driver without them
    # -- still serves the compute service) ---------------------------------

    def host_versions(self) -> HostVersions:
        """The hypervisor library's and the hypervisor's versions."""
        raise NotImplementedError(
            f"{type(self).__name__} does not report host versions"
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
class TraitExplanation:
    """Whether the host reports trait ``name``, and why (one sentence)."""

    name: str
    supported: bool
    reason: str
