"""Real QEMU proves the packed ring: VIRTIO_F_RING_PACKED iff asked.

A TCG guest (no disk, no OS, started paused) with one NIC exactly as the
VIF builder renders it for a bound Neutron port: ``vif_type`` ``tap``
(``<interface type='ethernet'>``, libvirt creates the tap) or ``bridge``
(``<interface type='bridge'>`` on a private Linux bridge made for the
test).  The packed request comes from the flavor and image rules of
:mod:`sriovirt.virt.hardware` -- flavor only, image only, both -- and
reaches the device through the builder's packed rule.  QMP
``x-query-virtio`` finds the device and ``x-query-virtio-status`` shows
the feature bits it offers (host-features; guest-features stay empty
because no guest driver negotiates).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from sriovirt.network.model import VIF
from sriovirt.virt import hardware
from sriovirt.virt.libvirt import traits
from sriovirt.virt.libvirt import vif as vif_builder
from sriovirt.virt.libvirt.version import int_to_version
from sriovirt.virt.libvirt.xml.interface import (
    BridgeInterface,
    EthernetInterface,
)
from tests.fixtures.libvirtd import LibvirtDaemon
from tests.integration.conftest import Guests, qmp, ring_packed_offered

pytestmark = pytest.mark.integration

MAC = "fa:16:3e:12:34:56"
NETWORK_ID = "7d1c7f9e-0000-4000-8000-0000000000aa"


def bound_port(vif_type: str, details: dict[str, Any]) -> dict[str, Any]:
    """A ``normal`` port as Neutron returns it after binding.

    A fresh id each time: the builder names the tap after it, and a tap
    left by one test must not collide with the next.
    """
    return {
        "port": {
            "id": str(uuid.uuid4()),
            "network_id": NETWORK_ID,
            "mac_address": MAC,
            "binding:host_id": "host1",
            "binding:vnic_type": "normal",
            "binding:vif_type": vif_type,
            "binding:vif_details": {"port_filter": False, **details},
            "binding:profile": {},
        }
    }


def _ip(*argv: str) -> str:
    return subprocess.run(
        ["ip", *argv], check=False, capture_output=True, text=True
    ).stdout


@pytest.fixture
def bridge(
    libvirtd_daemon: LibvirtDaemon,  # needs root, like it
) -> Iterator[str]:
    """A private Linux bridge, up; deleted afterwards."""
    name = f"svb{uuid.uuid4().hex[:8]}"  # <= 15 characters
    subprocess.run(
        ["ip", "link", "add", name, "type", "bridge"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            ["ip", "link", "set", name, "up"], check=True, capture_output=True
        )
        yield name
    finally:
        subprocess.run(
            ["ip", "link", "del", name], check=False, capture_output=True
        )


CASES = [
    pytest.param(
        ({"hw:virtio_packed_ring": "true"}, {}, "on", True), id="flavor-true"
    ),
    pytest.param(
        ({}, {"hw_virtio_packed_ring": "yes"}, "on", True), id="image-yes"
    ),
    pytest.param(
        ({"hw:virtio_packed_ring": "false"}, {}, "off", False),
        id="flavor-false",
    ),
    pytest.param(
        ({}, {"hw_virtio_packed_ring": "false"}, "off", False),
        id="image-false",
    ),
    pytest.param(
        (
            {"hw:virtio_packed_ring": "true"},
            {"hw_virtio_packed_ring": "true"},
            "on",
            True,
        ),
        id="both-true",
    ),
    pytest.param(
        (
            {"hw:virtio_packed_ring": "false"},
            {"hw_virtio_packed_ring": "no"},
            "off",
            False,
        ),
        id="both-false",
    ),
    pytest.param(({}, {}, None, False), id="unset"),
]


def _driver_packed(interface: Any) -> str | None:
    driver = interface.find("driver")
    return None if driver is None else driver.get("packed")


Case = tuple[dict[str, Any], dict[str, Any], str | None, bool]


def _prove(guests: Guests, vif: VIF, case: Case) -> etree._Element:
    """Render, define, start paused and read the offered features.

    ``case``: flavor extra specs, image properties, the ``packed``
    attribute wanted in the XML and whether the device must offer
    VIRTIO_F_RING_PACKED.
    """
    specs, props, attr, offered = case
    packed = hardware.packed_virtqueue_request(specs, props)
    xml = vif_builder.interface_xml(vif, packed=packed)
    assert _driver_packed(etree.fromstring(xml)) == attr

    dom = guests.define([xml], prefix="packed")
    guests.start_paused(dom)

    has_bit, path = ring_packed_offered(dom)
    assert has_bit is offered, f"host-features of {path}"
    # The proxy device's QOM property agrees with the feature bit.
    proxy = path.removesuffix("/virtio-backend")
    assert qmp(dom, "qom-get", path=proxy, property="packed") is offered

    live = etree.fromstring(dom.XMLDesc(0))
    (iface,) = live.findall("devices/interface")
    assert _driver_packed(iface) == attr
    target = iface.find("target")
    assert target is not None and target.get("dev") == vif.devname
    return iface


@pytest.mark.parametrize("case", CASES)
def test_tap_nic_offers_packed_exactly_when_asked(
    guests: Guests, case: Case
) -> None:
    vif = VIF.from_port(bound_port("tap", {}))
    assert isinstance(vif_builder.build_device(vif), EthernetInterface)
    iface = _prove(guests, vif, case)
    assert iface.get("type") == "ethernet"
    # libvirt created the tap the builder named, on the host.
    assert f"{vif.devname}:" in _ip("-o", "link", "show", vif.devname)


@pytest.mark.parametrize("case", CASES)
def test_bridge_nic_offers_packed_exactly_when_asked(
    guests: Guests, bridge: str, case: Case
) -> None:
    vif = VIF.from_port(bound_port("bridge", {"bridge_name": bridge}))
    assert isinstance(vif_builder.build_device(vif), BridgeInterface)
    iface = _prove(guests, vif, case)
    assert iface.get("type") == "bridge"
    source = iface.find("source")
    assert source is not None and source.get("bridge") == bridge
    # The tap is enslaved to the test's bridge.
    assert f"master {bridge} " in _ip("-o", "link", "show", vif.devname)


def test_real_host_reports_the_trait(conn: Any) -> None:
    """libvirt 9.0.0 + QEMU 7.2 pass the gate, for the right reason."""
    (decision,) = traits.explain_host_traits(
        conn.getLibVersion(), conn.getVersion(), conn.getType()
    )
    assert decision.name == traits.VIRTIO_PACKED
    assert decision.supported is True, decision.reason
    assert decision.reason.startswith(
        f"libvirt {int_to_version(conn.getLibVersion())} >= 6.3.0 and QEMU "
    )
