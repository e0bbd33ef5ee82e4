"""vif.py: one golden file per VIF kind x packed, plus the rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from sriovirt import exception
from sriovirt.network.model import VIF
from sriovirt.virt.libvirt import vif as vif_mod
from sriovirt.virt.libvirt.vif import VifConfig, build_device, interface_xml
from sriovirt.virt.libvirt.xml.hostdev import PciHostdev
from sriovirt.virt.libvirt.xml.interface import (
    BridgeInterface,
    DirectInterface,
    EthernetInterface,
    HostdevInterface,
)
from tests.unit.virt.libvirt.xml.goldens import (
    as_domain_xml,
    check_golden,
    schema_errors,
)

PORT_ID = "3e0a1c5e-8f7b-4f6e-9d2a-0123456789ab"
NET_ID = "9b1f2d3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d"


def _port(
    vif_type: str,
    vnic_type: str,
    details: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "port": {
            "id": PORT_ID,
            "network_id": NET_ID,
            "mac_address": "FA:16:3E:12:34:56",
            "binding:vnic_type": vnic_type,
            "binding:vif_type": vif_type,
            "binding:vif_details": details or {},
            "binding:profile": profile or {},
            "binding:host_id": "compute-1",
        }
    }


VF = {
    "pci_slot": "0000:81:10.2",
    "pci_vendor_info": "8086:10ed",
    "physical_network": "physnet1",
}
PF = {
    "pci_slot": "0000:82:00.0",
    "pci_vendor_info": "8086:10fb",
    "physical_network": "physnet1",
}
NETWORK = {"network": {"id": NET_ID, "mtu": 1450}}

# name -> (port, netdev, expected device class)
CASES: dict[str, tuple[dict[str, Any], str | None, type]] = {
    "hw_veb-direct": (
        _port("hw_veb", "direct", {"vlan": "42"}, VF),
        None,
        HostdevInterface,
    ),
    "hw_veb-direct-flat": (
        _port("hw_veb", "direct", {"vlan": "0"}, VF),
        None,
        HostdevInterface,
    ),
    "hw_veb-macvtap": (
        _port("hw_veb", "macvtap", {"vlan": "42"}, VF),
        "ens1f0v1",
        DirectInterface,
    ),
    "802.1qbh-direct": (
        _port("802.1qbh", "direct", {"profileid": "prof-1"}, VF),
        None,
        HostdevInterface,
    ),
    "802.1qbh-macvtap": (
        _port("802.1qbh", "macvtap", {"profileid": "prof-1"}, VF),
        "ens1f0v1",
        DirectInterface,
    ),
    "hostdev_physical-direct-physical": (
        _port("hostdev_physical", "direct-physical", {}, PF),
        None,
        PciHostdev,
    ),
    "ovs-normal": (
        _port("ovs", "normal", {"bridge_name": "br-int"}),
        None,
        BridgeInterface,
    ),
    "ovs-hybrid-normal": (
        _port("ovs", "normal", {"ovs_hybrid_plug": True}),
        None,
        BridgeInterface,
    ),
    "bridge-normal": (_port("bridge", "normal"), None, BridgeInterface),
    "tap-normal": (_port("tap", "normal"), None, EthernetInterface),
}
PACKED = {"on": True, "off": False, "unset": None}
VIRTIO_CASES = {
    "hw_veb-macvtap",
    "802.1qbh-macvtap",
    "ovs-normal",
    "ovs-hybrid-normal",
    "bridge-normal",
    "tap-normal",
}


def _vif(name: str) -> tuple[VIF, str | None]:
    port, netdev, _cls = CASES[name]
    return VIF.from_port(port, NETWORK), netdev


@pytest.mark.parametrize("packed", list(PACKED))
@pytest.mark.parametrize("name", list(CASES))
def test_golden(name: str, packed: str) -> None:
    vif, netdev = _vif(name)
    xml = interface_xml(vif, packed=PACKED[packed], netdev=netdev)
    check_golden(f"vif/{name}-packed-{packed}.xml", xml)
    device = build_device(vif, PACKED[packed], netdev)
    assert isinstance(device, CASES[name][2])
    assert device.to_xml() == xml
    root = etree.fromstring(xml)
    written = root.find("driver")
    value = None if written is None else written.get("packed")
    if name in VIRTIO_CASES:
        assert value == {"on": "on", "off": "off", "unset": None}[packed]
    else:
        # Never on hostdev interfaces or <hostdev>.
        assert value is None
        assert "packed" not in xml


def test_hw_veb_direct_exact_xml() -> None:
    vif, _ = _vif("hw_veb-direct")
    assert interface_xml(vif, packed=True) == (
        '<interface type="hostdev" managed="yes">\n'
        '  <mac address="fa:16:3e:12:34:56"/>\n'
        "  <source>\n"
        '    <address type="pci" domain="0x0000" bus="0x81" slot="0x10" '
        'function="0x2"/>\n'
        "  </source>\n"
        "  <vlan>\n"
        '    <tag id="42"/>\n'
        "  </vlan>\n"
        "</interface>\n"
    )


def test_flat_network_writes_no_vlan() -> None:
    vif, _ = _vif("hw_veb-direct-flat")
    assert "<vlan" not in interface_xml(vif)


def test_macvtap_exact_xml() -> None:
    vif, netdev = _vif("hw_veb-macvtap")
    assert interface_xml(vif, packed=True, netdev=netdev) == (
        '<interface type="direct">\n'
        '  <mac address="fa:16:3e:12:34:56"/>\n'
        '  <source dev="ens1f0v1" mode="passthrough"/>\n'
        "  <vlan>\n"
        '    <tag id="42"/>\n'
        "  </vlan>\n"
        '  <model type="virtio"/>\n'
        '  <driver packed="on"/>\n'
        "</interface>\n"
    )


def test_qbh_has_profile_and_no_vlan() -> None:
    vif, _ = _vif("802.1qbh-direct")
    root = etree.fromstring(interface_xml(vif))
    vp = root.find("virtualport")
    assert vp is not None and vp.get("type") == "802.1Qbh"
    assert vp.find("parameters").get("profileid") == "prof-1"  # type: ignore[union-attr]
    assert root.find("vlan") is None


def test_hostdev_physical_exact_xml() -> None:
    vif, _ = _vif("hostdev_physical-direct-physical")
    assert interface_xml(vif, packed=True) == (
        '<hostdev mode="subsystem" type="pci" managed="yes">\n'
        "  <source>\n"
        '    <address domain="0x0000" bus="0x82" slot="0x00" '
        'function="0x0"/>\n'
        "  </source>\n"
        "</hostdev>\n"
    )


def test_macvtap_without_netdev_names_the_port() -> None:
    vif, _ = _vif("hw_veb-macvtap")
    with pytest.raises(exception.VifError) as err:
        interface_xml(vif)
    assert PORT_ID in str(err.value)
    assert "netdev" in str(err.value)


@pytest.mark.parametrize(
    "netdev",
    [
        "",
        "a/b",
        "eth0'/><x",
        "way-too-long-name0",
        "a" * 16,
        "a b",
        "..",
        "eth\x000",
        "eth0\x01",
        "\u00ebth0",
    ],
)
def test_macvtap_rejects_bad_netdev(netdev: str) -> None:
    vif, _ = _vif("hw_veb-macvtap")
    with pytest.raises(exception.VifError) as info:
        interface_xml(vif, netdev=netdev)
    text = str(info.value)
    assert text.startswith(f"Port {PORT_ID} cannot be plugged: netdev ")
    assert repr(netdev) in text and "\n" not in text


def test_macvtap_accepts_a_15_character_netdev() -> None:
    vif, _ = _vif("hw_veb-macvtap")
    root = etree.fromstring(interface_xml(vif, netdev="a" * 15))
    assert root.find("source").get("dev") == "a" * 15  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "profileid",
    ["p'/><evil/>", '"><hostdev/>', "</parameters>", "a&b<c"],
)
def test_hostile_profileid_is_data(profileid: str) -> None:
    port = _port("802.1qbh", "direct", {"profileid": profileid}, VF)
    xml = interface_xml(VIF.from_port(port))
    root = etree.fromstring(xml)
    assert [el.tag for el in root.iter()] == [
        "interface",
        "mac",
        "source",
        "address",
        "virtualport",
        "parameters",
    ]
    assert (
        root.find("virtualport/parameters").get(  # type: ignore[union-attr]
            "profileid"
        )
        == profileid
    )


@pytest.mark.parametrize("name", ["br'/><hd/>", "br\x00", "br-\u00e9"])
def test_hostile_bridge_name_is_refused(name: str) -> None:
    # Quoting alone is not enough: libvirt's schema and Linux refuse
    # such a bridge, so the port is refused where it can be named.
    with pytest.raises(exception.VifError) as info:
        VIF.from_port(_port("bridge", "normal", {"bridge_name": name}))
    assert f"binding:vif_details.bridge_name {name!r}" in str(info.value)
    assert PORT_ID in str(info.value)


def test_config_values_on_virtio_only() -> None:
    cfg = VifConfig(queues=4, rx_queue_size=1024, tx_queue_size=512)
    vif, _ = _vif("tap-normal")
    xml = interface_xml(vif, packed=True, config=cfg)
    drv = etree.fromstring(xml).find("driver")
    assert drv is not None
    assert dict(drv.attrib) == {
        "queues": "4",
        "rx_queue_size": "1024",
        "tx_queue_size": "512",
        "packed": "on",
    }
    check_golden("vif/tap-normal-config.xml", xml)
    # e1000: no packed, no queues: libvirt would refuse them.
    xml = interface_xml(
        vif, packed=True, config=VifConfig(model="e1000", queues=4)
    )
    assert "<driver" not in xml
    assert '<model type="e1000"/>' in xml
    # Hostdev interfaces ignore the config entirely.
    sriov, _ = _vif("hw_veb-direct")
    assert "<driver" not in interface_xml(sriov, True, None, cfg)


def test_ovs_uses_openvswitch_virtualport_and_mtu() -> None:
    vif, _ = _vif("ovs-normal")
    root = etree.fromstring(interface_xml(vif))
    assert root.get("type") == "bridge"
    assert root.find("source").get("bridge") == "br-int"  # type: ignore[union-attr]
    vp = root.find("virtualport")
    assert vp is not None and vp.get("type") == "openvswitch"
    assert vp.find("parameters").get("interfaceid") == PORT_ID  # type: ignore[union-attr]
    assert root.find("mtu").get("size") == "1450"  # type: ignore[union-attr]
    assert root.find("target").get("dev") == "tap3e0a1c5e-8f"  # type: ignore[union-attr]


def test_hybrid_ovs_plugs_into_qbr() -> None:
    vif, _ = _vif("ovs-hybrid-normal")
    root = etree.fromstring(interface_xml(vif))
    assert root.find("source").get("bridge") == "qbr3e0a1c5e-8f"  # type: ignore[union-attr]
    assert root.find("virtualport") is None


def test_linuxbridge_name_from_network() -> None:
    vif, _ = _vif("bridge-normal")
    root = etree.fromstring(interface_xml(vif))
    assert root.find("source").get("bridge") == "brq9b1f2d3c-4e"  # type: ignore[union-attr]


def test_missing_values_name_the_port() -> None:
    vif, _ = _vif("hw_veb-direct")
    no_slot = vif.__class__(
        id=vif.id,
        address=vif.address,
        vnic_type=vif.vnic_type,
        vif_type=vif.vif_type,
        details=vif.details,
        profile=None,
    )
    with pytest.raises(exception.VifError, match=f"{PORT_ID}.*pci_slot"):
        interface_xml(no_slot)
    bridge, _ = _vif("bridge-normal")
    orphan = bridge.__class__(
        id=bridge.id,
        address=bridge.address,
        vnic_type=bridge.vnic_type,
        vif_type=bridge.vif_type,
        details=bridge.details,
    )
    with pytest.raises(exception.VifError, match="bridge_name"):
        interface_xml(orphan)


def test_dispatch_table_covers_every_supported_binding() -> None:
    from sriovirt.network.model import SUPPORTED_BINDINGS

    pairs = {
        (vif_type, vnic)
        for vif_type, vnics in SUPPORTED_BINDINGS.items()
        for vnic in vnics
    }
    assert pairs == set(vif_mod.BUILDERS)


# --- property: any JSON value in any field gives a VIF or a VifError -------

# Values a hostile or broken Neutron could send: every JSON type, huge
# numbers, control characters, and near-valid text that reaches deeper
# checks.
_NEAR_VALID = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "4095",
        "4096",
        "1500",
        "67",
        "9" * 5000,
        "true",
        "no",
        "direct",
        "macvtap",
        "normal",
        "hw_veb",
        "802.1qbh",
        "bridge",
        "ovs",
        "tap",
        "binding_failed",
        PORT_ID,
        NET_ID,
        "0000:81:10.2",
        "8086:10ed",
        "fa:16:3e:12:34:56",
        "br-x",
        "b" * 15,
        "b" * 16,
        "p" * 39,
        "p" * 40,
        "a\x00b",
        "a\nb",
        "\ud800",
        "br'/><hd/>",
        "\u00e9",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    # Built, not listed: hypothesis cannot repr a 5000-digit constant.
    | st.sampled_from([30, 5000]).map(lambda n: 10**n)
    | st.sampled_from([30, 5000]).map(lambda n: -(10**n))
    | st.floats()
    | st.text(max_size=20)
    | _NEAR_VALID
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_PORT_FIELDS = [
    ("id",),
    ("network_id",),
    ("mac_address",),
    ("binding:vnic_type",),
    ("binding:vif_type",),
    ("binding:host_id",),
    ("binding:vif_details",),
    ("binding:profile",),
    *(
        ("binding:vif_details", key)
        for key in (
            "vlan",
            "profileid",
            "bridge_name",
            "port_filter",
            "ovs_hybrid_plug",
            "datapath_type",
            "connectivity",
        )
    ),
    *(
        ("binding:profile", key)
        for key in (
            "pci_slot",
            "pci_vendor_info",
            "physical_network",
            "trusted",
        )
    ),
]
_NETWORK_FIELDS = [
    ("id",),
    ("name",),
    ("mtu",),
    ("segments",),
    ("provider:network_type",),
    ("provider:physical_network",),
    ("provider:segmentation_id",),
]


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        inner = body.get(key)
        if not isinstance(inner, dict):
            inner = body[key] = {}
        body = inner
    body[path[-1]] = value


@given(
    case=st.sampled_from(sorted(CASES)),
    changes=st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from(_PORT_FIELDS),
            st.sampled_from(_NETWORK_FIELDS),
            _JSON,
        ),
        min_size=1,
        max_size=3,
    ),
    packed=st.sampled_from([True, False, None]),
)
def test_any_port_value_gives_a_vif_or_a_vif_error(
    case: str,
    changes: list[tuple[bool, tuple[str, ...], tuple[str, ...], Any]],
    packed: bool | None,
) -> None:
    template, netdev, _cls = CASES[case]
    port = copy.deepcopy(template["port"])
    network = copy.deepcopy(NETWORK["network"])
    for in_port, port_field, network_field, value in changes:
        if in_port:
            _set(port, port_field, value)
        else:
            _set(network, network_field, value)
    try:
        vif = VIF.from_port(port, network)
        xml = interface_xml(vif, packed=packed, netdev=netdev or "ens1f0v2")
    except exception.VifError as exc:
        text = str(exc)
        assert text.startswith("Port ")
        assert "\n" not in text and len(text) < 500
        return
    errors = schema_errors(as_domain_xml(xml))
    assert errors is None, f"{xml}\n{errors}"
