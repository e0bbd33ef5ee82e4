"""``<hostdev mode='subsystem' type='pci'>``: a whole PCI function.

Used for ``direct-physical`` ports (a PF handed to the guest) and PCI
aliases.  Other hostdev kinds (USB, SCSI, mdev, capabilities mode) are
not modelled: inside a domain they are kept verbatim.

Mapping only: this module must not import libvirt and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.xml.base import (
    XmlModel,
    attr,
    child,
)
from sriovirt.virt.libvirt.xml.common import Address, Alias, PciSource, Rom
from sriovirt.virt.libvirt.xml.convert import (
    STR,
    YES_NO,
)
from sriovirt.virt.libvirt.xml.document import RawXml
from sriovirt.virt.libvirt.xml.targets import TaggedUnion


@dataclass(frozen=True, slots=True, kw_only=True)
class HostdevDriver(XmlModel):
    """``<driver name='vfio'/>``: the host-side passthrough backend."""

    xml_tag = "driver"

    name: str | None = attr("name", STR)


@dataclass(frozen=True, slots=True, kw_only=True)
class PciHostdev(XmlModel):
    """``<hostdev mode='subsystem' type='pci' managed='yes'>``."""

    xml_tag = "hostdev"
    xml_fixed = (("mode", "subsystem"), ("type", "pci"))
    xml_order = ("driver", "source", "alias", "rom", "address")

    managed: bool | None = attr("managed", YES_NO)
    source: PciSource = child(PciSource, required=True)
    driver: HostdevDriver | None = child(HostdevDriver)
    alias: Alias | None = child(Alias)
    rom: Rom | None = child(Rom)
    address: Address | None = child(Address)

    @classmethod
    def of(
        cls, address: PciAddress | str, *, managed: bool | None = True
    ) -> PciHostdev:
        """The hostdev for one host PCI function."""
        return cls(managed=managed, source=PciSource.of(address))

    @property
    def host_address(self) -> PciAddress:
        return self.source.address.pci


# Inside a domain: PCI subsystem hostdevs are modelled, others kept raw.
HOSTDEV = TaggedUnion("hostdev", "type", (PciHostdev,), fallback=RawXml)
