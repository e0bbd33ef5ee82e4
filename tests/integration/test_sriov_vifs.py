"""Real libvirtd + QEMU accept what the VIF builder renders for SR-IOV.

The NIC XML comes from :func:`sriovirt.virt.libvirt.vif.interface_xml`
applied to :meth:`VIF.from_port` of port bodies shaped like real
Neutron's binding results (``vlan`` as a string, the PCI profile Nova
writes).  This machine has no SR-IOV and no VFIO, so:

* macvtap runs on a veth pair standing in for the VF netdev, and
* hostdev interfaces are only *defined* (libvirt's real post-parse
  validation runs); their start must fail because VFIO is missing.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from lxml import etree

from sriovirt.network.model import VIF
from sriovirt.virt.libvirt import vif as vif_builder
from tests.integration.conftest import Guests, link_mac, ring_packed_offered

pytestmark = pytest.mark.integration

PCI_PROFILE = {
    "pci_vendor_info": "8086:10ed",
    "pci_slot": "0000:81:10.2",
    "physical_network": "physnet1",
}


def bound_port(
    vnic_type: str, vif_type: str, vlan: str | None, mac: str
) -> dict[str, Any]:
    details: dict[str, Any] = {"port_filter": False, "connectivity": "l2"}
    if vlan is not None:
        details["vlan"] = vlan
    return {
        "port": {
            "id": "a3c4e2f0-5d7b-4c1e-9f00-1234567890ab",
            "network_id": "7d1c7f9e-0000-4000-8000-0000000000aa",
            "mac_address": mac,
            "binding:host_id": "host1",
            "binding:vnic_type": vnic_type,
            "binding:vif_type": vif_type,
            "binding:vif_details": details,
            "binding:profile": dict(PCI_PROFILE),
            "status": "DOWN",
        }
    }


def _link_details(name: str) -> str:
    return subprocess.run(
        ["ip", "-d", "link", "show", name],
        check=False,
        capture_output=True,
        text=True,
    ).stdout


def test_macvtap_passthrough_on_veth(
    guests: Guests, veth_pair: tuple[str, str]
) -> None:
    lower, _peer = veth_pair
    mac = "fa:16:3e:5a:0b:01"
    # Flat network: Neutron reports vlan '0' (untagged).  A VLAN on a
    # macvtap port is programmed on the VF, not in the XML, and a veth
    # is not a VF.
    vif = VIF.from_port(bound_port("macvtap", "hw_veb", "0", mac))
    xml = vif_builder.interface_xml(vif, packed=True, netdev=lower)
    before = link_mac(lower)
    assert before != mac

    dom = guests.define([xml], prefix="macvtap")
    guests.start_paused(dom)

    # domiflist: interface type, source, model, MAC and the macvtap.
    live = etree.fromstring(dom.XMLDesc(0))
    (iface,) = live.findall("devices/interface")
    assert iface.get("type") == "direct"
    source = iface.find("source")
    assert source is not None
    assert source.get("dev") == lower
    assert source.get("mode") == "passthrough"
    assert iface.find("mac").get("address") == mac  # type: ignore[union-attr]
    assert iface.find("model").get("type") == "virtio"  # type: ignore[union-attr]
    target = iface.find("target")
    assert target is not None
    tap = target.get("dev")
    assert tap is not None and tap.startswith("macvtap")
    link = _link_details(tap)
    assert f"{tap}@{lower}" in link
    # iproute2 spells libvirt's 'passthrough' mode "passthru".
    assert "macvtap mode passthru " in link

    # passthrough mode moves the guest MAC onto the lower device.
    assert link_mac(lower) == mac
    # and the packed request reached the device.
    assert ring_packed_offered(dom)[0] is True

    dom.destroy()
    assert link_mac(lower) == before, "MAC not restored after destroy"
    assert _link_details(tap) == "", f"{tap} left behind"


VFIO_MISSING = "host doesn't support VFIO PCI passthrough"
PASSTHROUGH_MISSING = "host doesn't support passthrough of host PCI devices"

HOSTDEV_CASES = [
    pytest.param("direct", "hw_veb", "142", "interface", id="direct-hw_veb"),
    pytest.param(
        "direct-physical",
        "hostdev_physical",
        "142",
        "hostdev",
        id="direct-physical",
    ),
]


@pytest.mark.parametrize(("vnic", "vif_type", "vlan", "tag"), HOSTDEV_CASES)
def test_hostdev_defines_but_needs_vfio(
    guests: Guests, vnic: str, vif_type: str, vlan: str, tag: str
) -> None:
    """A VF/PF passed through defines; start fails for lack of VFIO.

    This machine's kernel has no CONFIG_VFIO (no /dev/vfio), and VFIO is
    the only PCI passthrough backend of libvirt 9's QEMU driver, so the
    start is refused with VIR_ERR_CONFIG_UNSUPPORTED.  The wording
    depends on the XML: with ``<driver name='vfio'/>`` it is "host
    doesn't support VFIO PCI passthrough"; with the default backend
    (resolved to VFIO only when VFIO exists) it is "host doesn't support
    passthrough of host PCI devices".  Define still runs libvirt's real
    post-parse checks, including "packed driver option is only
    supported for virtio devices": the builder is asked for packed and
    must not emit it.
    """
    import libvirt

    vif = VIF.from_port(bound_port(vnic, vif_type, vlan, "fa:16:3e:5a:0b:02"))
    xml = vif_builder.interface_xml(vif, packed=True)
    element = etree.fromstring(xml)
    assert element.tag == tag
    assert "packed" not in xml

    dom = guests.define([xml], prefix="hostdev")
    defined = etree.fromstring(dom.XMLDesc(0))
    address = defined.find(f"devices/{tag}/source/address")
    assert address is not None
    assert (
        address.get("bus"),
        address.get("slot"),
        address.get("function"),
    ) == (
        "0x81",
        "0x10",
        "0x2",
    )
    if vif_type == "hw_veb":
        vlan_tag = defined.find("devices/interface/vlan/tag")
        assert vlan_tag is not None and vlan_tag.get("id") == "142"

    with pytest.raises(libvirt.libvirtError) as info:
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    assert info.value.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    vfio_backend = defined.find(f"devices/{tag}/driver[@name='vfio']")
    expected = (
        VFIO_MISSING if vfio_backend is not None else PASSTHROUGH_MISSING
    )
    assert expected in str(info.value)
