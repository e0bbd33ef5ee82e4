"""Real QEMU proves the packed ring: VIRTIO_F_RING_PACKED iff asked.

A TCG guest (no disk, no OS, started paused) with one virtio
``type='user'`` NIC whose ``<driver packed=...>`` comes from the flavor
and image rules of :mod:`sriovirt.virt.hardware` through the VIF
builder's packed rule.  QMP ``x-query-virtio`` finds the device and
``x-query-virtio-status`` shows the feature bits the device offers
(host-features; guest-features stay empty because no guest driver
negotiates).
"""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from sriovirt.network.model import VIF
from sriovirt.virt import hardware
from sriovirt.virt.libvirt import traits
from sriovirt.virt.libvirt import vif as vif_builder
from sriovirt.virt.libvirt.xml.common import Rom
from sriovirt.virt.libvirt.xml.interface import (
    EthernetInterface,
    UserInterface,
)
from tests.integration.conftest import Guests, qmp, ring_packed_offered

pytestmark = pytest.mark.integration

MAC = "52:54:00:12:34:56"


TAP_PORT = {
    "port": {
        "id": "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "network_id": "7d1c7f9e-0000-4000-8000-0000000000aa",
        "mac_address": MAC,
        "binding:host_id": "host1",
        "binding:vnic_type": "normal",
        "binding:vif_type": "tap",
        "binding:vif_details": {"port_filter": False},
        "binding:profile": {},
    }
}


def user_interface_xml(packed: bool | None) -> str:
    """A virtio slirp NIC carrying the VIF builder's packed decision.

    No Neutron port maps to ``type='user'``: a ``normal``/``tap`` port
    becomes ``type='ethernet'``, whose tap needs host networking.  So
    the builder renders the tap port (its packed rule: True -> 'on',
    False -> 'off', None -> no attribute) and its MAC, model and
    ``<driver>`` are moved onto a ``type='user'`` interface.
    """
    device = vif_builder.build_device(VIF.from_port(TAP_PORT), packed=packed)
    assert isinstance(device, EthernetInterface), device
    return UserInterface(
        mac=device.mac,
        model=device.model,
        driver=device.driver,
        rom=Rom(enabled=False),
    ).to_xml()


CASES = [
    pytest.param(
        {"hw:virtio_packed_ring": "true"}, {}, "on", True, id="flavor-true"
    ),
    pytest.param(
        {}, {"hw_virtio_packed_ring": "yes"}, "on", True, id="image-yes"
    ),
    pytest.param(
        {"hw:virtio_packed_ring": "false"}, {}, "off", False, id="flavor-false"
    ),
    pytest.param({}, {}, None, False, id="unset"),
]


@pytest.mark.parametrize(("specs", "props", "attr", "offered"), CASES)
def test_user_nic_offers_packed_exactly_when_asked(
    guests: Guests,
    specs: dict[str, Any],
    props: dict[str, Any],
    attr: str | None,
    offered: bool,
) -> None:
    packed = hardware.packed_virtqueue_request(specs, props)
    xml = user_interface_xml(packed)
    driver = etree.fromstring(xml).find("driver")
    assert (None if driver is None else driver.get("packed")) == attr

    dom = guests.define([xml], prefix="packed")
    guests.start_paused(dom)

    has_bit, path = ring_packed_offered(dom)
    assert has_bit is offered, f"host-features of {path}"
    # The proxy device's QOM property agrees with the feature bit.
    proxy = path.removesuffix("/virtio-backend")
    assert qmp(dom, "qom-get", path=proxy, property="packed") is offered

    live = etree.fromstring(dom.XMLDesc(0))
    live_driver = live.find("devices/interface/driver")
    assert (None if live_driver is None else live_driver.get("packed")) == attr


def test_real_host_reports_the_trait(conn: Any) -> None:
    """libvirt 9.0.0 + QEMU 7.2 pass the gate, for the right reason."""
    (decision,) = traits.explain_host_traits(
        conn.getLibVersion(), conn.getVersion(), conn.getType()
    )
    assert decision.name == traits.VIRTIO_PACKED
    assert decision.supported is True, decision.reason
    assert decision.reason.startswith(
        f"libvirt {traits.int_to_version(conn.getLibVersion())} >= 6.3.0 "
        "and QEMU "
    )
