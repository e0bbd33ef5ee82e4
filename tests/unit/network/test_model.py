"""VIF.from_port: realistic Neutron bodies in, typed VIFs or VifError out."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.network import neutron_body
from sriovirt.network.model import (
    SUPPORTED_BINDINGS,
    VIF,
    VifType,
    VnicType,
)
from sriovirt.pci.address import PciAddress

PORT_ID = "6b9e1d2c-4f3a-4e8e-9a51-0c2d7f1e3a11"
NET_ID = "0f1e2d3c-0000-4000-8000-00000000abcd"
PCI_PROFILE = {
    "pci_vendor_info": "8086:10ed",
    "pci_slot": "0000:81:10.0",
    "physical_network": "physnet1",
}


def port(**overrides: Any) -> dict[str, Any]:
    """A direct/hw_veb port as real Neutron returns it after binding."""
    body: dict[str, Any] = {
        "id": PORT_ID,
        "network_id": NET_ID,
        "mac_address": "fa:16:3e:12:34:56",
        "binding:host_id": "host1",
        "binding:vnic_type": "direct",
        "binding:vif_type": "hw_veb",
        "binding:vif_details": {
            "port_filter": False,
            "connectivity": "l2",
            "vlan": "142",
            "bound_drivers": {"0": "sriovnicswitch"},
        },
        "binding:profile": copy.deepcopy(PCI_PROFILE),
        "status": "DOWN",
    }
    for name, value in overrides.items():
        key = name.replace("__", ":")
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_DROP = object()

NETWORK = {
    "id": NET_ID,
    "name": "sriov-net",
    "mtu": 1500,
    "provider:network_type": "vlan",
    "provider:physical_network": "physnet1",
    "provider:segmentation_id": 142,
}


# --- what real Neutron returns (binding results table) ---------------------

GOOD = [
    pytest.param(
        port(),
        VnicType.DIRECT,
        VifType.HW_VEB,
        142,
        id="direct-hw_veb",
    ),
    pytest.param(
        port(
            binding__vnic_type="macvtap",
            binding__vif_details={"vlan": "142"},
        ),
        VnicType.MACVTAP,
        VifType.HW_VEB,
        142,
        id="macvtap-hw_veb",
    ),
    pytest.param(
        port(
            binding__vnic_type="direct-physical",
            binding__vif_type="hostdev_physical",
            binding__vif_details={"vlan": "142"},
        ),
        VnicType.DIRECT_PHYSICAL,
        VifType.HOSTDEV_PHYSICAL,
        142,
        id="direct-physical-hostdev",
    ),
    pytest.param(
        port(
            binding__vnic_type="direct-physical",
            binding__vif_type="hostdev_physical",
            binding__vif_details={},
        ),
        VnicType.DIRECT_PHYSICAL,
        VifType.HOSTDEV_PHYSICAL,
        None,
        id="direct-physical-no-vlan",
    ),
    pytest.param(
        port(
            binding__vnic_type="normal",
            binding__vif_type="ovs",
            binding__vif_details={
                "bridge_name": "br-int",
                "datapath_type": "system",
                "ovs_hybrid_plug": False,
                "port_filter": True,
            },
            binding__profile={},
        ),
        VnicType.NORMAL,
        VifType.OVS,
        None,
        id="normal-ovs",
    ),
    pytest.param(
        port(
            binding__vif_type="802.1qbh",
            binding__vif_details={"profileid": "qbh-profile-physnet1"},
        ),
        VnicType.DIRECT,
        VifType.QBH,
        None,
        id="direct-802.1qbh",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": "0"}),
        VnicType.DIRECT,
        VifType.HW_VEB,
        None,
        id="flat-vlan-0-is-untagged",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": 4095}),
        VnicType.DIRECT,
        VifType.HW_VEB,
        4095,
        id="vlan-int-4095",
    ),
]


@pytest.mark.parametrize(("body", "vnic", "vif_type", "vlan"), GOOD)
def test_from_port_realistic(
    body: dict[str, Any],
    vnic: VnicType,
    vif_type: VifType,
    vlan: int | None,
) -> None:
    vif = VIF.from_port(body)
    assert vif.id == PORT_ID
    assert vif.vnic_type is vnic
    assert vif.vif_type is vif_type
    assert vif.vlan == vlan
    assert vif.is_pci == (vnic is not VnicType.NORMAL)
    if vif.is_pci:
        assert vif.pci_slot == PciAddress.parse("0000:81:10.0")
    else:
        assert vif.profile is None


def test_direct_hw_veb_fields() -> None:
    vif = VIF.from_port({"port": port()}, {"network": NETWORK})
    assert vif.address == "fa:16:3e:12:34:56"
    assert vif.details.vlan == 142
    assert vif.details.port_filter is False
    assert vif.details.connectivity == "l2"
    assert vif.profile is not None
    assert vif.profile.vendor_id == "8086"
    assert vif.profile.product_id == "10ed"
    assert vif.profile.pci_vendor_info == "8086:10ed"
    assert vif.profile.physical_network == "physnet1"
    assert vif.profile.trusted is False
    assert vif.host == "host1"
    assert vif.network_id == NET_ID
    assert vif.network is not None
    assert vif.network.physical_network == "physnet1"
    assert vif.network.segments[0].segmentation_id == 142
    assert vif.mtu == 1500
    assert vif.devname == "tap6b9e1d2c-4f"
    assert len(vif.devname) == 14


def test_vlan_zero_kept_in_details() -> None:
    vif = VIF.from_port(port(binding__vif_details={"vlan": "0"}))
    assert vif.details.vlan == 0
    assert vif.details.tagged_vlan is None


def test_mac_normalised_and_vnic_default() -> None:
    vif = VIF.from_port(
        port(
            mac_address=" FA:16:3E:AB:CD:EF ",
            binding__vnic_type=_DROP,
            binding__vif_type="tap",
            binding__profile=None,
            binding__vif_details=None,
        )
    )
    assert vif.address == "fa:16:3e:ab:cd:ef"
    assert vif.vnic_type is VnicType.NORMAL


def test_vif_is_frozen_and_hashable() -> None:
    vif = VIF.from_port(port())
    with pytest.raises(AttributeError):
        vif.id = "x"  # type: ignore[misc]
    assert vif == VIF.from_port(port())
    assert hash(vif) == hash(VIF.from_port(port()))


def test_multi_segment_network() -> None:
    net = neutron_body.network(
        {
            "id": NET_ID,
            "segments": [
                {
                    "provider:network_type": "vlan",
                    "provider:physical_network": "physnet1",
                    "provider:segmentation_id": 100,
                },
                {
                    "provider:network_type": "vlan",
                    "provider:physical_network": "physnet2",
                    "provider:segmentation_id": "300",
                },
            ],
        },
        PORT_ID,
    )
    assert net.physical_networks == ("physnet1", "physnet2")
    assert net.physical_network is None
    assert net.segments[1].segmentation_id == 300


# --- errors: each names the port and the field -----------------------------

BAD = [
    pytest.param(
        port(binding__vif_details={"port_filter": False}),
        "binding:vif_details.vlan is missing",
        id="hw_veb-no-vlan",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": "4096"}),
        "binding:vif_details.vlan '4096' is outside 0-4095",
        id="vlan-too-big",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": -1}),
        "binding:vif_details.vlan -1 is outside 0-4095",
        id="vlan-negative",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": "forty-two"}),
        "binding:vif_details.vlan 'forty-two' is not an integer",
        id="vlan-not-numeric",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": True}),
        "binding:vif_details.vlan True is not an integer",
        id="vlan-bool",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": "4e1"}),
        "binding:vif_details.vlan '4e1' is not an integer",
        id="vlan-float-text",
    ),
    pytest.param(
        port(binding__vif_type="802.1qbh", binding__vif_details={}),
        "binding:vif_details.profileid is missing",
        id="qbh-no-profileid",
    ),
    pytest.param(
        port(binding__profile={"physical_network": "physnet1"}),
        "binding:profile.pci_slot is missing; vnic_type 'direct'",
        id="direct-no-pci-slot",
    ),
    pytest.param(
        port(binding__vnic_type="macvtap", binding__profile=None),
        "binding:profile.pci_slot is missing; vnic_type 'macvtap'",
        id="macvtap-no-profile",
    ),
    pytest.param(
        port(
            binding__vnic_type="direct-physical",
            binding__vif_type="hostdev_physical",
            binding__profile={},
        ),
        "binding:profile.pci_slot is missing; vnic_type 'direct-physical'",
        id="direct-physical-no-pci-slot",
    ),
    pytest.param(
        port(binding__profile={"pci_slot": "81:10.0.0"}),
        "binding:profile.pci_slot '81:10.0.0' is not a PCI address",
        id="pci-slot-garbage",
    ),
    pytest.param(
        port(binding__profile={"pci_slot": 5}),
        "binding:profile.pci_slot 5 is not a PCI address",
        id="pci-slot-int",
    ),
    pytest.param(
        port(
            binding__profile={
                "pci_slot": "0000:81:10.0",
                "pci_vendor_info": "8086-10ed",
            }
        ),
        "binding:profile.pci_vendor_info '8086-10ed' is not 'vvvv:pppp'",
        id="vendor-info-bad",
    ),
    pytest.param(
        port(mac_address="fa:16:3e:12:34"),
        "mac_address 'fa:16:3e:12:34' is not a MAC address",
        id="mac-short",
    ),
    pytest.param(
        port(mac_address="fa-16-3e-12-34-56"),
        "mac_address 'fa-16-3e-12-34-56' is not a MAC address",
        id="mac-dashes",
    ),
    pytest.param(
        port(mac_address="01:00:5e:00:00:01"),
        "is a multicast address",
        id="mac-multicast",
    ),
    pytest.param(
        port(mac_address=_DROP),
        "mac_address None is missing",
        id="mac-missing",
    ),
    pytest.param(
        port(binding__vif_type="binding_failed", binding__vif_details={}),
        "binding:vif_type is 'binding_failed': Neutron did not bind the "
        "port on host 'host1'",
        id="binding-failed",
    ),
    pytest.param(
        port(binding__vif_type="unbound", binding__host_id=""),
        "binding:vif_type is 'unbound'",
        id="unbound",
    ),
    pytest.param(
        port(binding__vif_type=_DROP),
        "binding:vif_type is missing",
        id="vif-type-missing",
    ),
    pytest.param(
        port(binding__vif_type="vhostuser"),
        "binding:vif_type 'vhostuser' is not supported",
        id="vif-type-unknown",
    ),
    pytest.param(
        port(binding__vnic_type="sriov"),
        "binding:vnic_type 'sriov' is unknown",
        id="vnic-type-unknown",
    ),
    pytest.param(
        port(binding__vnic_type="normal"),
        "binding:vif_type 'hw_veb' with binding:vnic_type 'normal' is "
        "not supported",
        id="normal-hw_veb",
    ),
    pytest.param(
        port(binding__vif_type="ovs"),
        "binding:vif_type 'ovs' with binding:vnic_type 'direct'",
        id="direct-ovs",
    ),
    pytest.param(
        port(binding__vnic_type="direct-physical"),
        "vif_type 'hw_veb' needs vnic_type direct or macvtap",
        id="direct-physical-hw_veb",
    ),
    pytest.param(
        port(binding__vif_type="hostdev_physical"),
        "binding:vif_type 'hostdev_physical' with binding:vnic_type 'direct'",
        id="direct-hostdev_physical",
    ),
    pytest.param(
        port(binding__vnic_type="vdpa"),
        "binding:vnic_type 'vdpa' is not supported",
        id="vdpa-known-but-unsupported",
    ),
    pytest.param(
        port(
            binding__vnic_type="normal",
            binding__vif_type="ovs",
            binding__vif_details={},
        ),
        "binding:profile.pci_slot '0000:81:10.0' is set but vnic_type "
        "'normal' does not use a PCI device",
        id="normal-with-pci-slot",
    ),
    pytest.param(
        port(binding__vif_details="vlan=42"),
        "binding:vif_details 'vlan=42' is not an object",
        id="details-not-object",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": "42", "port_filter": "maybe"}),
        "binding:vif_details.port_filter 'maybe' is not a boolean",
        id="port-filter-garbage",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_from_port_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(exception.VifError) as info:
        VIF.from_port(body)
    text = str(info.value)
    assert text.startswith(f"Port {PORT_ID} cannot be plugged: ")
    assert message in text
    assert info.value.port_id == PORT_ID


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"id": 7}, id="int-id"),
        pytest.param({"port": {"id": ""}}, id="blank-id"),
        # Only a lone "port" key is a wrapper; beside others it is data.
        pytest.param({"port": {"id": PORT_ID}, "x": 1}, id="not-a-wrapper"),
    ],
)
def test_port_without_id(body: dict[str, Any]) -> None:
    with pytest.raises(exception.VifError, match="<unknown>"):
        VIF.from_port(body)


def test_network_mismatch() -> None:
    with pytest.raises(exception.VifError, match="network_id"):
        VIF.from_port(port(), {**NETWORK, "id": "other"})


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"mtu": "jumbo"}, "network.mtu 'jumbo' is not an integer"),
        ({"segments": "x"}, "network.segments 'x' is not a list"),
        ({"segments": [1]}, r"network.segments\[0\] 1 is not an object"),
        (
            {"provider:segmentation_id": "x"},
            "network.provider:segmentation_id 'x' is not an integer",
        ),
    ],
)
def test_network_errors(network: dict[str, Any], message: str) -> None:
    with pytest.raises(exception.VifError, match=message):
        VIF.from_port(port(), network)


def test_supported_bindings_cover_every_vif_type() -> None:
    assert set(SUPPORTED_BINDINGS) == set(VifType)


# --- properties ------------------------------------------------------------


@given(st.integers(min_value=0, max_value=4095), st.booleans())
def test_vlan_int_and_string_agree(vlan: int, as_text: bool) -> None:
    value: int | str = str(vlan) if as_text else vlan
    vif = VIF.from_port(port(binding__vif_details={"vlan": value}))
    assert vif.details.vlan == vlan
    assert vif.vlan == (vlan or None)


@given(
    st.integers(min_value=-(10**6), max_value=10**6).filter(
        lambda v: not 0 <= v <= 4095
    )
)
def test_vlan_out_of_range_always_rejected(vlan: int) -> None:
    with pytest.raises(exception.VifError, match="outside 0-4095"):
        VIF.from_port(port(binding__vif_details={"vlan": str(vlan)}))


# --- hostile values: every one a VifError naming the port and the field ----

HUGE = "9" * 5000

HOSTILE = [
    pytest.param(
        port(binding__vif_type={}),
        "binding:vif_type {} is not a string",
        id="vif_type-dict",
    ),
    pytest.param(
        port(binding__vif_type=["hw_veb"]),
        "binding:vif_type ['hw_veb'] is not a string",
        id="vif_type-list",
    ),
    pytest.param(
        port(binding__vnic_type=10**5000),
        "binding:vnic_type <an integer of 5001 digits> is not a string",
        id="vnic_type-huge-int",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": HUGE}),
        "binding:vif_details.vlan '99999",
        id="vlan-5000-digits",
    ),
    pytest.param(
        port(binding__vif_details={"vlan": 10**4999}),
        "binding:vif_details.vlan <an integer of 5000 digits> is outside",
        id="vlan-5000-digit-int",
    ),
    pytest.param(
        port(
            binding__vif_type="802.1qbh",
            binding__vif_details={"profileid": "prof\x00ile"},
        ),
        "binding:vif_details.profileid 'prof\\x00ile' contains a control "
        "character",
        id="profileid-nul",
    ),
    pytest.param(
        port(
            binding__vif_type="802.1qbh",
            binding__vif_details={"profileid": "p" * 40},
        ),
        "binding:vif_details.profileid 'pppp",
        id="profileid-too-long",
    ),
    pytest.param(
        port(
            binding__vnic_type="normal",
            binding__vif_type="bridge",
            binding__vif_details={"bridge_name": "br\x01x"},
            binding__profile={},
        ),
        "binding:vif_details.bridge_name 'br\\x01x' contains a control "
        "character",
        id="bridge-control-char",
    ),
    pytest.param(
        port(
            binding__vnic_type="normal",
            binding__vif_type="bridge",
            binding__vif_details={"bridge_name": "b" * 16},
            binding__profile={},
        ),
        "binding:vif_details.bridge_name 'bbbbbbbbbbbbbbbb' is longer than "
        "15 characters",
        id="bridge-16-chars",
    ),
    pytest.param(
        port(network_id="net\nwork"),
        "network_id 'net\\nwork' is not a UUID",
        id="network_id-newline",
    ),
]


@pytest.mark.parametrize(("body", "message"), HOSTILE)
def test_hostile_port_values(body: dict[str, Any], message: str) -> None:
    with pytest.raises(exception.VifError) as info:
        VIF.from_port(body)
    text = str(info.value)
    assert text.startswith(f"Port {PORT_ID} cannot be plugged: ")
    assert message in text
    assert "\n" not in text and len(text) < 400


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"mtu": -1}, "network.mtu -1 is outside 68-65535"),
        ({"mtu": 10**30}, "network.mtu 1000000000000000000000000000000 is"),
        ({"mtu": 67}, "network.mtu 67 is outside 68-65535"),
        ({"mtu": HUGE}, "network.mtu '99999"),
        (
            {"provider:segmentation_id": HUGE},
            "network.provider:segmentation_id '9999",
        ),
        (
            {"provider:segmentation_id": 2**32},
            "network.provider:segmentation_id 4294967296 is outside",
        ),
    ],
)
def test_hostile_network_values(network: dict[str, Any], message: str) -> None:
    with pytest.raises(exception.VifError) as info:
        VIF.from_port(port(), network)
    text = str(info.value)
    assert text.startswith(f"Port {PORT_ID} cannot be plugged: ")
    assert message in text
    assert "\n" not in text and len(text) < 400


def test_bridge_name_of_15_characters_is_accepted() -> None:
    vif = VIF.from_port(
        port(
            binding__vnic_type="normal",
            binding__vif_type="bridge",
            binding__vif_details={"bridge_name": "b" * 15},
            binding__profile={},
        )
    )
    assert vif.details.bridge_name == "b" * 15


@pytest.mark.parametrize(
    "bad_id",
    ["6b9e1d2c\x00-4f3a", "6b9e1d2c-4f3a-4e8e-9a51-0c2d7f1e3a1\n", "x y"],
)
def test_port_id_must_be_a_uuid(bad_id: str) -> None:
    with pytest.raises(exception.VifError) as info:
        VIF.from_port(port(id=bad_id))
    text = str(info.value)
    assert text.startswith("Port <unknown> cannot be plugged: port id ")
    assert repr(bad_id.strip()) in text
    assert "\n" not in text


@pytest.mark.parametrize("mtu", [68, 1500, 9000, 65535, 0])
def test_mtu_in_range_is_kept(mtu: int) -> None:
    vif = VIF.from_port(port(), {**NETWORK, "mtu": mtu})
    assert vif.mtu == mtu


@pytest.mark.parametrize(
    ("word", "expected"),
    [("y", True), ("T", True), (" on ", True), ("n", False), ("F", False)],
)
def test_port_booleans_use_the_one_vocabulary(
    word: str, expected: bool
) -> None:
    # The same words as device_spec tags and PCI requests (pci.tags).
    body = port()
    body["binding:profile"]["trusted"] = word
    body["binding:vif_details"]["port_filter"] = word
    vif = VIF.from_port(body, NETWORK)
    assert vif.profile.trusted is expected
    assert vif.details.port_filter is expected
