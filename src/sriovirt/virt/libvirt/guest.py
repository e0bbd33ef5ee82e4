"""Values -> the whole guest ``<domain>``: what sriovirt defines.

:func:`build_domain` turns an :class:`~sriovirt.virt.driver.Instance`
(name, uuid, memory, vCPUs), its bound ports and the instance's packed
virtqueue choice into a typed
:class:`~sriovirt.virt.libvirt.xml.domain.Domain`; each port's device is
decided by :mod:`sriovirt.virt.libvirt.vif`, in the order the ports were
given (the order decides the guest's NIC names and PCI slots).  Host
facts (domain type, architecture, machine, emulator, NIC tuning) come in
as a :class:`GuestConfig` value.

This module decides only the guest's shape: it must not read
configuration, call libvirt or do I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sriovirt import exception
from sriovirt.virt.driver import GuestVif, Instance
from sriovirt.virt.libvirt import vif as vif_builder
from sriovirt.virt.libvirt.xml.domain import Domain, minimal_domain

#: ``getType()`` of a libvirt connection -> ``<domain type>``.  A QEMU
#: host runs TCG guests (``qemu``) until a ``virt_type`` option asks for
#: KVM.
DOMAIN_TYPES = {"TEST": "test", "QEMU": "qemu"}


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestConfig:
    """The host's side of a guest definition.

    None for ``machine`` or ``emulator`` lets libvirt choose the host's
    default for ``arch``.
    """

    domain_type: str = "test"
    arch: str = "x86_64"
    machine: str | None = None
    emulator: str | None = None
    vif: vif_builder.VifConfig = field(default_factory=vif_builder.VifConfig)

    @classmethod
    def for_hypervisor(
        cls, hv_type: str, vif: vif_builder.VifConfig | None = None
    ) -> GuestConfig:
        """The config for a connection whose ``getType()`` is ``hv_type``."""
        domain_type = DOMAIN_TYPES.get(hv_type)
        if domain_type is None:
            raise exception.Invalid(
                reason=f"hypervisor type {hv_type!r} reported by libvirt "
                f"has no guest domain type here; wanted one of "
                f"{sorted(DOMAIN_TYPES)}"
            )
        return cls(domain_type=domain_type, vif=vif or vif_builder.VifConfig())


def build_domain(
    instance: Instance,
    vifs: Sequence[GuestVif],
    packed: bool | None,
    config: GuestConfig,
) -> Domain:
    """The guest definition of ``instance`` with one device per port."""
    _check_unique_ports(instance, vifs)
    devices = [
        vif_builder.build_device(v.vif, packed, v.netdev, config.vif)
        for v in vifs
    ]
    return minimal_domain(
        devices,
        type=config.domain_type,
        name=instance.name,
        uuid=instance.uuid,
        memory_mib=instance.memory_mb,
        vcpus=instance.vcpus,
        arch=config.arch,
        machine=config.machine,
        emulator=config.emulator,
    )


def domain_xml(
    instance: Instance,
    vifs: Sequence[GuestVif],
    packed: bool | None,
    config: GuestConfig,
) -> str:
    """:func:`build_domain` as the XML text libvirt defines."""
    return build_domain(instance, vifs, packed, config).to_xml()


def _check_unique_ports(instance: Instance, vifs: Sequence[GuestVif]) -> None:
    # One port plugged twice would be two NICs with one MAC (and, for an
    # SR-IOV port, one VF given twice): refuse it before libvirt does
    # something half-way.
    seen: set[str] = set()
    for v in vifs:
        if v.vif.id in seen:
            raise exception.VifError(
                port_id=v.vif.id,
                reason=f"the port is given twice for instance "
                f"{instance.name!r} ({instance.uuid}); a port plugs once",
            )
        seen.add(v.vif.id)
