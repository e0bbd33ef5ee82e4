"""Integration tier: a real libvirtd + QEMU (TCG), started per session.

Fixtures: the private daemon (:mod:`tests.fixtures.libvirtd`), a
connection, a ``guest`` factory that wraps device XML in the minimal TCG
domain of the real-libvirt note, defines it with
``VIR_DOMAIN_DEFINE_VALIDATE`` and always destroys and undefines it, a
``veth_pair`` (the stand-in for a VF netdev) and a QMP helper.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.fixtures.libvirtd import (  # noqa: F401 - pytest fixtures
    LibvirtDaemon,
    libvirtd_daemon,
    libvirtd_uri,
)

EMULATOR = "/usr/bin/qemu-system-x86_64"


def domain_xml(name: str, devices: Sequence[str]) -> str:
    """The note's minimal TCG guest around ``devices`` (XML strings).

    The device strings are inserted verbatim: the test checks exactly
    what the VIF builder emitted.
    """
    root = etree.fromstring(
        "<domain type='qemu'>"
        f"<name>{name}</name>"
        "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
        f"<devices><emulator>{EMULATOR}</emulator>"
        "<video><model type='none'/></video>"
        "<memballoon model='none'/></devices></domain>"
    )
    devs = root.find("devices")
    assert devs is not None
    for position, device in enumerate(devices, start=1):
        devs.insert(position, etree.fromstring(device))
    return etree.tostring(root, encoding="unicode")


@pytest.fixture(scope="session")
def conn(libvirtd_uri: str) -> Iterator[Any]:  # noqa: F811
    import libvirt

    connection = libvirt.open(libvirtd_uri)
    yield connection
    with contextlib.suppress(libvirt.libvirtError):
        connection.close()


@dataclass
class Guests:
    """Defines guests and remembers them for cleanup."""

    conn: Any
    daemon: LibvirtDaemon
    defined: list[Any]

    def define(self, devices: Sequence[str], prefix: str = "it") -> Any:
        import libvirt

        name = f"sriovirt-{prefix}-{uuid.uuid4().hex[:8]}"
        xml = domain_xml(name, devices)
        try:
            dom = self.conn.defineXMLFlags(
                xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE
            )
        except libvirt.libvirtError as exc:
            pytest.fail(f"define failed: {exc}\n{xml}", pytrace=False)
        self.defined.append(dom)
        return dom

    def start_paused(self, dom: Any) -> None:
        import libvirt

        try:
            dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
        except libvirt.libvirtError as exc:
            pytest.fail(
                f"start of {dom.name()} failed: {exc}\n"
                f"--- QEMU log ---\n{self.daemon.qemu_log(dom.name())}\n"
                f"--- libvirtd.log ---\n{self.daemon.daemon_log()}",
                pytrace=False,
            )

    def cleanup(self) -> None:
        import libvirt

        for dom in reversed(self.defined):
            with contextlib.suppress(libvirt.libvirtError):
                if dom.isActive():
                    dom.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                dom.undefine()


@pytest.fixture
def guests(
    conn: Any,
    libvirtd_daemon: LibvirtDaemon,  # noqa: F811
) -> Iterator[Guests]:
    registry = Guests(conn=conn, daemon=libvirtd_daemon, defined=[])
    try:
        yield registry
    finally:
        registry.cleanup()


def qmp(dom: Any, execute: str, **arguments: Any) -> Any:
    """Run one QMP command on a running domain; return ``return``."""
    import libvirt_qemu

    command: dict[str, Any] = {"execute": execute}
    if arguments:
        command["arguments"] = arguments
    reply = json.loads(
        libvirt_qemu.qemuMonitorCommand(dom, json.dumps(command), 0)
    )
    assert "return" in reply, reply
    return reply["return"]


def ring_packed_offered(dom: Any) -> tuple[bool, str]:
    """Whether the (only) virtio-net device offers VIRTIO_F_RING_PACKED.

    Returns the answer and the QOM path used.  The path comes from
    ``x-query-virtio`` (never hard-coded); the bit is read from
    ``host-features``: no guest driver runs, so guest-features is empty.
    """
    nets = [d for d in qmp(dom, "x-query-virtio") if d["name"] == "virtio-net"]
    assert len(nets) == 1, nets
    path = nets[0]["path"]
    status = qmp(dom, "x-query-virtio-status", path=path)
    transports = status["host-features"]["transports"]
    return (
        any(t.startswith("VIRTIO_F_RING_PACKED") for t in transports),
        path,
    )


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


def link_mac(name: str) -> str:
    return Path(f"/sys/class/net/{name}/address").read_text().strip()


@pytest.fixture
def veth_pair(
    libvirtd_daemon: LibvirtDaemon,  # noqa: F811 - needs root, like it
) -> Iterator[tuple[str, str]]:
    """A fresh veth pair, both ends up; deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    left, right = f"svv{tag}a", f"svv{tag}b"  # <= 15 characters
    _ip("link", "add", left, "type", "veth", "peer", "name", right)
    try:
        _ip("link", "set", left, "up")
        _ip("link", "set", right, "up")
        yield left, right
    finally:
        # Deleting one end removes the pair.
        subprocess.run(
            ["ip", "link", "del", left], check=False, capture_output=True
        )


GuestFactory = Callable[[Sequence[str]], Any]
