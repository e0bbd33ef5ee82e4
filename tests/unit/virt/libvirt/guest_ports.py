"""Bound ports and instances shared by the guest and spawn tests."""

from __future__ import annotations

from typing import Any

from sriovirt.network.model import VIF
from sriovirt.virt.driver import GuestVif, Instance

NET_ID = "9b1f2d3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
NETWORK = {"network": {"id": NET_ID, "mtu": 1450}}
VF_SLOT = "0000:81:10.2"
PF_SLOT = "0000:82:00.0"


def port(
    port_id: str,
    mac: str,
    vif_type: str,
    vnic_type: str,
    *,
    details: dict[str, Any] | None = None,
    slot: str | None = None,
) -> VIF:
    profile = {}
    if slot is not None:
        profile = {
            "pci_slot": slot,
            "pci_vendor_info": "8086:10ed",
            "physical_network": "physnet1",
        }
    body = {
        "id": port_id,
        "network_id": NET_ID,
        "mac_address": mac,
        "binding:vnic_type": vnic_type,
        "binding:vif_type": vif_type,
        "binding:vif_details": details or {},
        "binding:profile": profile,
        "binding:host_id": "compute-1",
    }
    return VIF.from_port({"port": body}, NETWORK)


def every_kind() -> list[GuestVif]:
    """One port of each kind the test driver can define: a VLAN VF, a
    macvtap VF, a whole PF, an OVS port and a tap port."""
    return [
        GuestVif(
            vif=port(
                "a1000000-0000-4000-8000-000000000001",
                "fa:16:3e:00:00:01",
                "hw_veb",
                "direct",
                details={"vlan": "42"},
                slot=VF_SLOT,
            )
        ),
        GuestVif(
            vif=port(
                "a2000000-0000-4000-8000-000000000002",
                "fa:16:3e:00:00:02",
                "hw_veb",
                "macvtap",
                details={"vlan": "43"},
                slot="0000:81:10.4",
            ),
            netdev="ens1f0v2",
        ),
        GuestVif(
            vif=port(
                "a3000000-0000-4000-8000-000000000003",
                "fa:16:3e:00:00:03",
                "hostdev_physical",
                "direct-physical",
                slot=PF_SLOT,
            )
        ),
        GuestVif(
            vif=port(
                "a4000000-0000-4000-8000-000000000004",
                "fa:16:3e:00:00:04",
                "ovs",
                "normal",
                details={"bridge_name": "br-int"},
            )
        ),
        GuestVif(
            vif=port(
                "a5000000-0000-4000-8000-000000000005",
                "fa:16:3e:00:00:05",
                "tap",
                "normal",
            )
        ),
    ]


def instance(
    name: str = "vm-1",
    uuid: str = "4dea22b3-1d52-4f3e-9516-782e98ab3fa0",
) -> Instance:
    return Instance(name=name, uuid=uuid, memory_mb=256, vcpus=2)
