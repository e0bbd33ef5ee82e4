"""Host capabilities -> compute traits, each with the reason why.

The libvirt driver reports traits to Placement on the compute node's
root provider.  This module decides them from plain values (version
integers as libvirt gives them, ``major * 1_000_000 + minor * 1_000 +
micro``, and the hypervisor type from ``virConnectGetType``), so the
rule is testable without a hypervisor and ``sriovirt traits`` can print
the same reasons the driver used.

``COMPUTE_NET_VIRTIO_PACKED`` is reported only when libvirt >= 6.3.0
**and** QEMU >= 4.2.0, the first versions that accept
``<driver packed='on'/>`` and pass it to the device.  The hypervisor
must actually be QEMU: the libvirt test driver (``test:///``) reports
hypervisor version 2 and type ``Test``; it *accepts* ``packed='on'`` at
define, but nothing runs a virtqueue there, so it gets False with the
reason "hypervisor test is not QEMU" (see ``doc/source/packed_ring.rst``).

This module must not import libvirt or read configuration: the driver
reads the versions through ``host.py`` and passes them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import os_traits

from sriovirt.virt.libvirt.version import int_to_version

#: The trait name, from os-traits (never spelled out here).
VIRTIO_PACKED = os_traits.COMPUTE_NET_VIRTIO_PACKED

MIN_LIBVIRT_VIRTIO_PACKED = (6, 3, 0)
MIN_QEMU_VIRTIO_PACKED = (4, 2, 0)

#: ``virConnectGetType`` of the QEMU driver (also for KVM guests).
QEMU_HV_TYPE = "QEMU"


def version_to_int(version: tuple[int, int, int]) -> int:
    """``(6, 3, 0)`` -> ``6003000``, libvirt's encoding."""
    major, minor, micro = version
    return major * 1_000_000 + minor * 1_000 + micro


def _version_text(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True, slots=True)
class TraitDecision:
    """Whether the host has ``name``, and why (one human sentence)."""

    name: str
    supported: bool
    reason: str


def _check(name: str, have: int, need: tuple[int, int, int]) -> str | None:
    """None when ``have`` >= ``need``, else the failing comparison."""
    if have >= version_to_int(need):
        return None
    return f"{name} {int_to_version(have)} < {_version_text(need)}"


def virtio_packed_decision(
    lib_version: int, hv_version: int, hv_type: str = QEMU_HV_TYPE
) -> TraitDecision:
    """The ``COMPUTE_NET_VIRTIO_PACKED`` decision with its reason."""
    _check_version("lib_version", lib_version)
    _check_version("hv_version", hv_version)
    # The QEMU version means nothing for another hypervisor: say that
    # instead of comparing it.
    hypervisor = (
        _check("QEMU", hv_version, MIN_QEMU_VIRTIO_PACKED)
        if _is_qemu(hv_type)
        else f"hypervisor {hv_type.lower()} is not QEMU"
    )
    failures = [
        failure
        for failure in (
            _check("libvirt", lib_version, MIN_LIBVIRT_VIRTIO_PACKED),
            hypervisor,
        )
        if failure is not None
    ]
    if failures:
        return TraitDecision(VIRTIO_PACKED, False, " and ".join(failures))
    return TraitDecision(
        VIRTIO_PACKED,
        True,
        f"libvirt {int_to_version(lib_version)} >= "
        f"{_version_text(MIN_LIBVIRT_VIRTIO_PACKED)} and QEMU "
        f"{int_to_version(hv_version)} >= "
        f"{_version_text(MIN_QEMU_VIRTIO_PACKED)}",
    )


def explain_host_traits(
    lib_version: int, hv_version: int, hv_type: str
) -> tuple[TraitDecision, ...]:
    """Every trait this module decides, with its reason, sorted by name.

    ``hv_type`` is ``virConnectGetType()``: ``"QEMU"`` for the QEMU
    driver, ``"Test"`` for the test driver.
    """
    return (virtio_packed_decision(lib_version, hv_version, hv_type),)


def host_traits(
    lib_version: int, hv_version: int, hv_type: str
) -> dict[str, bool]:
    """``{trait: supported}`` for the host, as the driver reports it."""
    return {
        decision.name: decision.supported
        for decision in explain_host_traits(lib_version, hv_version, hv_type)
    }


def virtio_packed_traits(lib_version: int, hv_version: int) -> dict[str, bool]:
    """``{"COMPUTE_NET_VIRTIO_PACKED": bool}`` by the version rule alone.

    Assumes the hypervisor is QEMU; a driver that knows its hypervisor
    type should call :func:`host_traits` instead.
    """
    decision = virtio_packed_decision(lib_version, hv_version)
    return {decision.name: decision.supported}


def _is_qemu(hv_type: str) -> bool:
    return hv_type.strip().upper() == QEMU_HV_TYPE


def _check_version(name: str, value: int) -> None:
    # bool is an int; a True version is a caller bug, not version 0.0.1.
    if type(value) is not int or value < 0:
        raise ValueError(
            f"{name} {value!r} is not a libvirt version integer "
            "(major * 1000000 + minor * 1000 + micro)"
        )
