"""The network API's values: PortRequest, PortBinding, unbinding."""

from __future__ import annotations

from typing import Any

import pytest

from sriovirt import exception
from sriovirt.network import api
from sriovirt.network.values import VnicType
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType

PORT_ID = "6b9e1d2c-4f3a-4e8e-9a51-0c2d7f1e3a11"
NET_ID = "0f1e2d3c-0000-4000-8000-00000000abcd"
VLAN_NET = {
    "id": NET_ID,
    "provider:network_type": "vlan",
    "provider:physical_network": "physnet1",
    "provider:segmentation_id": 142,
}
VXLAN_NET = {
    "id": NET_ID,
    "provider:network_type": "vxlan",
    "provider:physical_network": None,
    "provider:segmentation_id": 7,
}


def port(vnic: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": PORT_ID,
        "network_id": NET_ID,
        "mac_address": "fa:16:3e:00:00:01",
        **extra,
    }
    if vnic is not None:
        body["binding:vnic_type"] = vnic
    return body


@pytest.mark.parametrize(
    ("vnic", "dev_type"),
    [
        ("direct", DevType.VF),
        ("macvtap", DevType.VF),
        ("direct-physical", DevType.PF),
    ],
)
def test_pci_vnic_types_ask_for_a_device_on_the_physnet(
    vnic: str, dev_type: DevType
) -> None:
    request = api.port_request(port(vnic), {"network": VLAN_NET})
    assert request == api.PortRequest(
        port_id=PORT_ID,
        network_id=NET_ID,
        vnic_type=VnicType(vnic),
        physical_network="physnet1",
        dev_type=dev_type,
    )
    assert request.needs_pci


@pytest.mark.parametrize("vnic", [None, "normal"])
def test_normal_port_needs_no_device(vnic: str | None) -> None:
    request = api.port_request({"port": port(vnic)}, VXLAN_NET)
    assert request.vnic_type is VnicType.NORMAL
    assert request.dev_type is None and not request.needs_pci
    assert request.physical_network is None


def test_multi_segment_takes_the_first_segment_with_a_physnet() -> None:
    net = {
        "id": NET_ID,
        "segments": [
            {"provider:network_type": "vxlan", "provider:segmentation_id": 9},
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet2",
                "provider:segmentation_id": 200,
            },
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 100,
            },
        ],
    }
    assert api.port_request(port("direct"), net).physical_network == (
        "physnet2"
    )


@pytest.mark.parametrize("vnic", ["direct", "macvtap", "direct-physical"])
def test_sriov_port_on_a_network_without_physnet_is_refused(
    vnic: str,
) -> None:
    with pytest.raises(exception.VifError) as err:
        api.port_request(port(vnic), VXLAN_NET)
    message = str(err.value)
    assert PORT_ID in message and NET_ID in message
    assert "provider:physical_network" in message and vnic in message


@pytest.mark.parametrize("vnic", ["baremetal", "vdpa", "bogus", 3])
def test_unsupported_vnic_type_is_refused(vnic: Any) -> None:
    with pytest.raises(exception.VifError, match="binding:vnic_type"):
        api.port_request(port(vnic), VLAN_NET)


@pytest.mark.parametrize(
    ("mac", "reason"),
    [
        ("fa:16:3e:zz:00:01", "is not a MAC address"),
        ("01:00:5e:00:00:01", "is a multicast address"),
        (None, "is missing or not a string"),
    ],
)
def test_port_the_guest_cannot_use_is_refused_before_any_claim(
    mac: str | None, reason: str
) -> None:
    # A boot reads its ports into requests before it claims: a MAC the
    # guest NIC cannot take must stop it there, not after a VF was
    # claimed and the port bound (which concurrent boots would see).
    with pytest.raises(exception.VifError) as err:
        api.port_request(port("direct", mac_address=mac), VLAN_NET)
    message = str(err.value)
    assert PORT_ID in message and f"mac_address {mac!r} {reason}" in message


@pytest.mark.parametrize(
    ("segment", "reason"),
    [
        ({"provider:segmentation_id": 0}, "0 is outside 1-4094"),
        ({"provider:segmentation_id": 4095}, "4095 is outside 1-4094"),
        ({"provider:segmentation_id": "5000"}, "'5000' is outside 1-4094"),
        ({"provider:segmentation_id": None}, "is missing; a vlan segment"),
    ],
)
def test_vlan_network_without_a_usable_vlan_id_is_refused(
    segment: dict[str, Any], reason: str
) -> None:
    # Bound by the static backend, 0 or no id became an untagged port
    # and 4095 a reserved tag; 5000 failed only after the claim.
    with pytest.raises(exception.VifError) as err:
        api.port_request(port("direct"), {**VLAN_NET, **segment})
    message = str(err.value)
    assert PORT_ID in message
    assert f"network.provider:segmentation_id {reason}" in message


def test_vlan_ids_of_other_segment_types_are_not_vlans() -> None:
    net = {
        "id": NET_ID,
        "segments": [
            {"provider:network_type": "vxlan", "provider:segmentation_id": 0},
            {
                "provider:network_type": "flat",
                "provider:physical_network": "physnet1",
            },
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet2",
                "provider:segmentation_id": 4094,
            },
        ],
    }
    assert api.port_request(port("direct"), net).physical_network == (
        "physnet1"
    )
    with pytest.raises(exception.VifError, match=r"segments\[2\]"):
        net["segments"][2]["provider:segmentation_id"] = 4095
        api.port_request(port("direct"), net)


def test_port_another_server_holds_is_refused() -> None:
    held = port(
        "direct",
        device_id="00000000-0000-4000-8000-0000000000aa",
        device_owner="compute:nova",
        **{"binding:host_id": "host1"},
    )
    with pytest.raises(exception.VifError) as err:
        api.port_request(held, VLAN_NET)
    message = str(err.value)
    assert PORT_ID in message and "it is in use" in message
    assert "device_id '00000000-0000-4000-8000-0000000000aa'" in message
    assert "'compute:nova'" in message and "'host1'" in message
    assert api.in_use(held, "00000000-0000-4000-8000-0000000000aa") is None


def test_port_of_another_network_is_refused() -> None:
    other = {**VLAN_NET, "id": "0f1e2d3c-0000-4000-8000-00000000ffff"}
    with pytest.raises(exception.VifError, match="does not match"):
        api.port_request(port("direct"), other)


def vf_binding(**extra: Any) -> api.PortBinding:
    fields: dict[str, Any] = {
        "address": PciAddress.parse("0000:81:10.2"),
        "vendor_id": "8086",
        "product_id": "10ed",
        "physical_network": "physnet1",
        "pf_mac_address": "52:54:00:00:00:01",
        "vf_num": 1,
        **extra,
    }
    return api.PortBinding(
        host="host1", device_id="inst-1", pci=api.PciBinding(**fields)
    )


def test_binding_writes_the_profile_nova_writes_and_keeps_the_rest() -> None:
    before = port("direct", **{"binding:profile": {"trusted": "true"}})
    assert vf_binding().fields(before) == {
        "binding:host_id": "host1",
        "device_id": "inst-1",
        "device_owner": "compute:nova",
        "binding:profile": {
            "trusted": "true",
            "pci_vendor_info": "8086:10ed",
            "pci_slot": "0000:81:10.2",
            "physical_network": "physnet1",
            "pf_mac_address": "52:54:00:00:00:01",
            "vf_num": 1,
        },
    }


def test_pf_binding_has_no_vf_keys() -> None:
    pf = vf_binding(
        address=PciAddress.parse("0000:82:00.0"),
        pf_mac_address=None,
        vf_num=None,
    )
    profile = pf.fields(port("direct-physical"))["binding:profile"]
    assert set(profile) == {"pci_vendor_info", "pci_slot", "physical_network"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vendor_id", "8086x"),
        ("product_id", "10ED"),
        ("pf_mac_address", "52:54:00:00:00"),
        ("vf_num", -1),
    ],
)
def test_bad_pci_binding_is_refused(field: str, value: Any) -> None:
    with pytest.raises(exception.Invalid, match=f"0000:81:10.2.*{field}"):
        vf_binding(**{field: value})


def test_unbinding_removes_exactly_the_keys_binding_added() -> None:
    foreign = {"trusted": "true", "capabilities": ["switchdev"]}
    before = port("direct", **{"binding:profile": dict(foreign)})
    bound = {**before, **vf_binding().fields(before)}
    assert api.unbound_fields(bound) == {
        "binding:host_id": "",
        "device_id": "",
        "device_owner": "",
        "binding:profile": foreign,
    }


@pytest.mark.parametrize("profile", [None, "", {}])
def test_unbinding_an_empty_profile(profile: Any) -> None:
    body = port("direct", **{"binding:profile": profile})
    assert api.unbound_fields(body)["binding:profile"] == {}
