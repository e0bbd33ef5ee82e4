"""``<domain>``: just enough of a guest to define and start it.

Devices are one ordered tuple (``Devices.items``) so that a parsed domain
keeps the device order libvirt gave it (the order decides aliases such
as ``net0`` and guest PCI slots); devices without a model here are kept
verbatim as :class:`~sriovirt.virt.libvirt.xml.document.RawXml`.
:func:`minimal_domain` wraps given devices in the smallest guest that
libvirt accepts (used by schema tests and the integration tier).

Mapping only: this module must not import libvirt and decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sriovirt.virt.libvirt.xml.base import (
    XmlModel,
    attr,
    child,
    child_text,
    children,
    text,
)
from sriovirt.virt.libvirt.xml.convert import (
    STR,
    UINT,
)
from sriovirt.virt.libvirt.xml.document import RawXml
from sriovirt.virt.libvirt.xml.hostdev import HOSTDEV, PciHostdev
from sriovirt.virt.libvirt.xml.interface import (
    INTERFACE,
    INTERFACE_TYPES,
    Interface,
)
from sriovirt.virt.libvirt.xml.targets import Choice


@dataclass(frozen=True, slots=True, kw_only=True)
class Memory(XmlModel):
    """``<memory unit='MiB'>128</memory>``."""

    xml_tag = "memory"

    unit: str | None = attr("unit", STR)
    value: int = text(UINT, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Vcpu(XmlModel):
    """``<vcpu placement='static'>1</vcpu>``."""

    xml_tag = "vcpu"

    placement: str | None = attr("placement", STR)
    value: int = text(UINT, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class OsType(XmlModel):
    """``<type arch='x86_64' machine='pc'>hvm</type>``."""

    xml_tag = "type"

    arch: str | None = attr("arch", STR)
    machine: str | None = attr("machine", STR)
    value: str = text(STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Os(XmlModel):
    """``<os>``; boot order, loader and the rest are kept as unknown."""

    xml_tag = "os"

    type: OsType = child(OsType, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Emulator(XmlModel):
    """``<emulator>/usr/bin/qemu-system-x86_64</emulator>``."""

    xml_tag = "emulator"

    path: str = text(STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoModel(XmlModel):
    xml_tag = "model"

    type: str = attr("type", STR, required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Video(XmlModel):
    """``<video><model type='none'/></video>``."""

    xml_tag = "video"

    model: VideoModel | None = child(VideoModel)


@dataclass(frozen=True, slots=True, kw_only=True)
class Memballoon(XmlModel):
    """``<memballoon model='none'/>``."""

    xml_tag = "memballoon"

    model: str = attr("model", STR, required=True)


Device = Interface | PciHostdev | Emulator | Video | Memballoon | RawXml

DEVICE = Choice(INTERFACE, HOSTDEV, Emulator, Video, Memballoon, other=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Devices(XmlModel):
    """``<devices>``: every device, in document order."""

    xml_tag = "devices"

    items: tuple[Device, ...] = children(DEVICE)

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        return tuple(d for d in self.items if isinstance(d, INTERFACE_TYPES))

    @property
    def hostdevs(self) -> tuple[PciHostdev, ...]:
        return tuple(d for d in self.items if isinstance(d, PciHostdev))

    @property
    def emulator(self) -> str | None:
        for d in self.items:
            if isinstance(d, Emulator):
                return d.path
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Domain(XmlModel):
    """``<domain type='qemu'>``: a guest definition."""

    xml_tag = "domain"

    type: str = attr("type", STR, required=True)
    name: str = child_text("name", STR, required=True)
    uuid: str | None = child_text("uuid", STR)
    memory: Memory | None = child(Memory)
    vcpu: Vcpu | None = child(Vcpu)
    os: Os | None = child(Os)
    devices: Devices | None = child(Devices)


def minimal_domain(
    devices: Iterable[Device],
    *,
    type: str = "test",
    name: str = "sriovirt-guest",
    uuid: str | None = None,
    memory_mib: int = 128,
    vcpus: int = 1,
    arch: str = "x86_64",
    machine: str | None = None,
    emulator: str | None = None,
) -> Domain:
    """The smallest guest libvirt defines, around ``devices``.

    No disk and no OS: enough to define, start paused and inspect.
    ``<video><model type='none'/>`` and ``<memballoon model='none'/>``
    keep libvirt from adding devices of its own; graphics are left out
    (``<graphics type='none'/>`` is not valid libvirt XML).
    """
    items: list[Device] = []
    if emulator is not None:
        items.append(Emulator(path=emulator))
    items.extend(devices)
    items.append(Video(model=VideoModel(type="none")))
    items.append(Memballoon(model="none"))
    return Domain(
        type=type,
        name=name,
        uuid=uuid,
        memory=Memory(unit="MiB", value=memory_mib),
        vcpu=Vcpu(value=vcpus),
        os=Os(type=OsType(arch=arch, machine=machine, value="hvm")),
        devices=Devices(items=tuple(items)),
    )
