"""The static backend's binding rules, as Neutron's ML2 answers them."""

from __future__ import annotations

from typing import Any

import pytest

from sriovirt import exception
from sriovirt.network import binding
from sriovirt.network.api import PciBinding, PortBinding
from sriovirt.network.model import VIF, VifType, VnicType
from sriovirt.pci.address import PciAddress

PORT_ID = "6b9e1d2c-4f3a-4e8e-9a51-0c2d7f1e3a11"
NET_ID = "0f1e2d3c-0000-4000-8000-00000000abcd"


def port(vnic: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": PORT_ID,
        "network_id": NET_ID,
        "mac_address": "fa:16:3e:12:34:56",
    }
    if vnic is not None:
        body["binding:vnic_type"] = vnic
    return body


def network(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": NET_ID,
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet1",
        "provider:segmentation_id": 142,
    }
    body.update(extra)
    return body


def pci(physnet: str | None = "physnet1") -> PortBinding:
    return PortBinding(
        host="host1",
        device_id="inst-1",
        pci=PciBinding(
            address=PciAddress.parse("0000:81:10.2"),
            vendor_id="8086",
            product_id="10ed",
            physical_network=physnet,
        ),
    )


NO_PCI = PortBinding(host="host1", device_id="inst-1")
SRIOV_DETAILS = {"port_filter": False, "connectivity": "l2", "vlan": "142"}


@pytest.mark.parametrize(
    ("vnic", "net", "expected"),
    [
        ("direct", network(), ("hw_veb", SRIOV_DETAILS)),
        ("macvtap", network(), ("hw_veb", SRIOV_DETAILS)),
        (
            "direct-physical",
            network(),
            ("hostdev_physical", SRIOV_DETAILS),
        ),
        (
            "direct",
            network(**{"sriovirt:profileid": "qbh-profile-physnet1"}),
            ("802.1qbh", {"profileid": "qbh-profile-physnet1"}),
        ),
        (
            "macvtap",
            network(**{"sriovirt:profileid": "prof"}),
            ("802.1qbh", {"profileid": "prof"}),
        ),
        (
            "direct",
            network(
                **{
                    "provider:network_type": "flat",
                    "provider:segmentation_id": None,
                }
            ),
            ("hw_veb", {**SRIOV_DETAILS, "vlan": "0"}),
        ),
    ],
)
def test_sriov_vnic_types_bind_like_the_sriov_driver(
    vnic: str, net: dict[str, Any], expected: tuple[str, dict[str, Any]]
) -> None:
    result = binding.bind(port(vnic), net, pci())
    assert (result.vif_type, dict(result.vif_details)) == expected
    assert not result.failed


def test_multi_segment_binds_the_segment_of_the_devices_physnet() -> None:
    net = {
        "id": NET_ID,
        "segments": [
            {"provider:network_type": "vxlan", "provider:segmentation_id": 9},
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 100,
            },
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet2",
                "provider:segmentation_id": 200,
            },
        ],
    }
    assert (
        binding.bind(port("direct"), net, pci("physnet2")).vif_details["vlan"]
        == "200"
    )
    assert (
        binding.bind(port("direct"), net, pci("physnet1")).vif_details["vlan"]
        == "100"
    )


@pytest.mark.parametrize(
    ("vnic", "net", "how"),
    [
        ("direct", network(), pci("physnet2")),  # not the device's physnet
        ("direct", network(), pci(None)),  # device without physnet
        ("macvtap", network(), NO_PCI),  # no PCI profile at all
        ("direct-physical", network(), pci("physnet9")),
        (
            "direct",
            network(**{"provider:network_type": "vxlan"}),
            pci(),
        ),  # sriovnicswitch binds vlan and flat only
        ("baremetal", network(), pci()),  # no driver for it here
        (["direct"], network(), pci()),  # not even a string
    ],
)
def test_binding_failed(
    vnic: str, net: dict[str, Any], how: PortBinding
) -> None:
    result = binding.bind(port(vnic), net, how)
    assert result.failed
    assert result.fields() == {
        "binding:vif_type": "binding_failed",
        "binding:vif_details": {},
    }


@pytest.mark.parametrize(
    ("net", "vif_type", "details"),
    [
        ({}, "tap", {"port_filter": False}),
        (
            {"sriovirt:vif_type": "ovs"},
            "ovs",
            {
                "connectivity": "l2",
                "port_filter": True,
                "ovs_hybrid_plug": False,
                "datapath_type": "system",
                "bridge_name": "br-int",
            },
        ),
        (
            {"sriovirt:vif_type": "bridge"},
            "bridge",
            {"port_filter": True, "bridge_name": "brq0f1e2d3c-00"},
        ),
        (
            {
                "sriovirt:vif_type": "ovs",
                "sriovirt:vif_details": {"bridge_name": "br-x"},
            },
            "ovs",
            {"bridge_name": "br-x"},
        ),
    ],
)
@pytest.mark.parametrize("vnic", [None, "normal"])
def test_normal_port_gets_the_networks_vif_type(
    vnic: str | None,
    net: dict[str, Any],
    vif_type: str,
    details: dict[str, Any],
) -> None:
    body = {"id": NET_ID, "provider:network_type": "vxlan", **net}
    result = binding.bind(port(vnic), body, NO_PCI)
    assert (result.vif_type, dict(result.vif_details)) == (vif_type, details)


@pytest.mark.parametrize(
    ("vnic", "extra", "field"),
    [
        ("normal", {"sriovirt:vif_type": "hw_veb"}, "sriovirt:vif_type"),
        ("normal", {"sriovirt:vif_type": {}}, "sriovirt:vif_type"),
        ("normal", {"sriovirt:vif_details": []}, "sriovirt:vif_details"),
        ("direct", {"sriovirt:profileid": 7}, "sriovirt:profileid"),
        ("direct", {"provider:segmentation_id": "x"}, "segmentation_id"),
    ],
)
def test_malformed_network_document_is_a_one_line_error(
    vnic: str, extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(exception.VifError) as err:
        binding.bind(port(vnic), network(**extra), pci())
    message = str(err.value)
    assert PORT_ID in message and field in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("vnic", "net", "vif_type", "vlan", "pci_needed"),
    [
        ("direct", network(), VifType.HW_VEB, 142, True),
        ("macvtap", network(), VifType.HW_VEB, 142, True),
        ("direct-physical", network(), VifType.HOSTDEV_PHYSICAL, 142, True),
        (
            "direct",
            network(**{"sriovirt:profileid": "p1"}),
            VifType.QBH,
            None,
            True,
        ),
        ("normal", network(), VifType.TAP, None, False),
    ],
)
def test_result_is_a_port_vif_from_port_accepts(
    vnic: str,
    net: dict[str, Any],
    vif_type: VifType,
    vlan: int | None,
    pci_needed: bool,
) -> None:
    how = pci() if pci_needed else NO_PCI
    result = binding.bind(port(vnic), net, how)
    bound = {**port(vnic), **how.fields(port(vnic)), **result.fields()}
    vif = VIF.from_port(bound, net)
    assert vif.vif_type is vif_type
    assert vif.vnic_type is VnicType(vnic)
    assert vif.vlan == vlan
    if pci_needed:
        assert str(vif.pci_slot) == "0000:81:10.2"
    else:
        assert vif.pci_slot is None
