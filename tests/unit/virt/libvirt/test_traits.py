"""The COMPUTE_NET_VIRTIO_PACKED version gate, boundaries on both sides."""

from __future__ import annotations

import os_traits
import pytest

from sriovirt.virt.libvirt import traits
from tests import prereq

TRAIT = os_traits.COMPUTE_NET_VIRTIO_PACKED


def v(major: int, minor: int, micro: int) -> int:
    return major * 1_000_000 + minor * 1_000 + micro


# libvirt, QEMU, expected
GATE = [
    pytest.param(v(6, 3, 0), v(4, 2, 0), True, id="both-at-minimum"),
    pytest.param(v(6, 2, 999), v(4, 2, 0), False, id="libvirt-6.2.999"),
    pytest.param(v(6, 3, 0), v(4, 1, 999), False, id="qemu-4.1.999"),
    pytest.param(v(6, 2, 999), v(4, 1, 999), False, id="both-below"),
    pytest.param(v(6, 3, 1), v(4, 2, 1), True, id="both-just-above"),
    pytest.param(v(5, 999, 999), v(9, 0, 0), False, id="old-libvirt"),
    pytest.param(v(9, 0, 0), v(3, 999, 999), False, id="old-qemu"),
    pytest.param(v(9, 0, 0), v(7, 2, 22), True, id="debian-12"),
    pytest.param(0, 0, False, id="zero"),
]


@pytest.mark.parametrize(("lib", "hv", "want"), GATE)
def test_virtio_packed_traits(lib: int, hv: int, want: bool) -> None:
    assert traits.virtio_packed_traits(lib, hv) == {TRAIT: want}
    assert traits.host_traits(lib, hv, "QEMU") == {TRAIT: want}


REASONS = [
    (
        v(9, 0, 0),
        v(7, 2, 22),
        "QEMU",
        True,
        "libvirt 9.0.0 >= 6.3.0 and QEMU 7.2.22 >= 4.2.0",
    ),
    (
        v(6, 3, 0),
        v(4, 2, 0),
        "QEMU",
        True,
        "libvirt 6.3.0 >= 6.3.0 and QEMU 4.2.0 >= 4.2.0",
    ),
    (v(9, 0, 0), v(4, 1, 0), "QEMU", False, "QEMU 4.1.0 < 4.2.0"),
    (v(6, 2, 999), v(7, 2, 0), "QEMU", False, "libvirt 6.2.999 < 6.3.0"),
    (
        v(6, 2, 0),
        v(4, 1, 999),
        "QEMU",
        False,
        "libvirt 6.2.0 < 6.3.0 and QEMU 4.1.999 < 4.2.0",
    ),
    (v(9, 0, 0), 2, "TEST", False, "hypervisor test is not QEMU"),
    (v(9, 0, 0), 2, "Test", False, "hypervisor test is not QEMU"),
    (
        v(6, 0, 0),
        2,
        "Test",
        False,
        "libvirt 6.0.0 < 6.3.0 and hypervisor test is not QEMU",
    ),
    (
        v(9, 0, 0),
        v(7, 2, 22),
        "qemu",
        True,
        "libvirt 9.0.0 >= 6.3.0 and QEMU 7.2.22 >= 4.2.0",
    ),
]


@pytest.mark.parametrize(("lib", "hv", "hv_type", "want", "reason"), REASONS)
def test_explain(
    lib: int, hv: int, hv_type: str, want: bool, reason: str
) -> None:
    (decision,) = traits.explain_host_traits(lib, hv, hv_type)
    assert decision == traits.TraitDecision(TRAIT, want, reason)
    assert traits.host_traits(lib, hv, hv_type) == {TRAIT: want}


def test_test_driver_is_not_qemu() -> None:
    # The libvirt test driver: libvirt 9.0.0, hypervisor version 2, type
    # "TEST" (virConnectGetType).  By version alone it fails (0.0.2 <
    # 4.2.0), and the type check gives the real reason.
    assert traits.host_traits(v(9, 0, 0), 2, "TEST") == {TRAIT: False}
    assert traits.virtio_packed_traits(v(9, 0, 0), 2) == {TRAIT: False}
    # Even a test driver claiming a QEMU-like version gets False.
    assert traits.host_traits(v(9, 0, 0), v(7, 2, 0), "TEST") == {TRAIT: False}


def test_trait_name_comes_from_os_traits() -> None:
    assert traits.VIRTIO_PACKED == TRAIT
    assert os_traits.is_custom(TRAIT) is False


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6003000, "6.3.0"),
        (4001999, "4.1.999"),
        (7002022, "7.2.22"),
        (2, "0.0.2"),
    ],
)
def test_version_round_trip(value: int, text: str) -> None:
    assert traits.int_to_version(value) == text
    major, minor, micro = (int(p) for p in text.split("."))
    assert traits.version_to_int((major, minor, micro)) == value


@pytest.mark.parametrize("bad", [-1, True, "6003000", 6.3])
def test_bad_version_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="not a libvirt version integer"):
        traits.virtio_packed_traits(bad, 4002000)  # type: ignore[arg-type]


def test_real_test_driver() -> None:
    libvirt = prereq.import_or_missing("libvirt")
    conn = libvirt.open("test:///default")
    try:
        (decision,) = traits.explain_host_traits(
            conn.getLibVersion(), conn.getVersion(), conn.getType()
        )
    finally:
        conn.close()
    assert decision.supported is False
    assert decision.reason == "hypervisor test is not QEMU"
