"""Small elements shared by several models (addresses, aliases, ...).

Mapping only: no policy, no libvirt, no configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.virt.libvirt.xml.base import (
    XmlModel,
    attr,
    child,
)
from sriovirt.virt.libvirt.xml.convert import (
    HEX1,
    HEX2,
    HEX4,
    ON_OFF,
    STR,
    YES_NO,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Address(XmlModel):
    """``<address>``: a host PCI address (no ``type``) or a guest address.

    PCI fields are written in hex with libvirt's widths
    (``domain='0x0000' bus='0x81' slot='0x10' function='0x2'``); they are
    read as libvirt reads them (hex, octal or decimal).  Attributes of
    other address types (``controller``, ``unit``, ...) are kept as
    unknown attributes.
    """

    xml_tag = "address"

    type: str | None = attr("type", STR)
    domain: int | None = attr("domain", HEX4)
    bus: int | None = attr("bus", HEX2)
    slot: int | None = attr("slot", HEX2)
    function: int | None = attr("function", HEX1)
    multifunction: bool | None = attr("multifunction", ON_OFF)

    @classmethod
    def host_pci(
        cls, address: PciAddress | str, type: str | None = None
    ) -> Address:
        """A host PCI address as in nodedev and hostdev ``<source>``.

        ``<interface type='hostdev'>`` needs ``type='pci'`` on its source
        address (the schema says so); ``<hostdev>`` and nodedev XML do
        not carry it.
        """
        if isinstance(address, str):
            address = PciAddress.parse(address)
        return cls(
            type=type,
            domain=address.domain,
            bus=address.bus,
            slot=address.slot,
            function=address.function,
        )

    @classmethod
    def guest_pci(cls, address: PciAddress | str) -> Address:
        """A guest PCI address: ``<address type='pci' .../>``."""
        return cls.host_pci(address, type="pci")

    @property
    def pci(self) -> PciAddress:
        """The address as a :class:`PciAddress`; InvalidXml if partial."""
        if (
            self.domain is None
            or self.bus is None
            or self.slot is None
            or self.function is None
        ):
            raise exception.InvalidXml(
                what="<address>",
                reason=f"{self!r} is not a complete PCI address",
            )
        return PciAddress(self.domain, self.bus, self.slot, self.function)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias(XmlModel):
    """``<alias name='net0'/>``: the device's name inside the domain."""

    xml_tag = "alias"

    name: str = attr("name", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class PciSource(XmlModel):
    """``<source><address domain=.. bus=.. slot=.. function=../></source>``

    The host PCI function handed to the guest, as both ``<hostdev>`` and
    ``<interface type='hostdev'>`` spell it.
    """

    xml_tag = "source"

    address: Address = child(Address, required=True)

    @classmethod
    def of(
        cls, address: PciAddress | str, type: str | None = None
    ) -> PciSource:
        return cls(address=Address.host_pci(address, type))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rom(XmlModel):
    """``<rom bar='on' file='...' enabled='no'/>``: the option ROM."""

    xml_tag = "rom"

    bar: bool | None = attr("bar", ON_OFF)
    file: str | None = attr("file", STR)
    enabled: bool | None = attr("enabled", YES_NO)
