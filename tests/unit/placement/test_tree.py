"""The provider tree computed from the tracker's devices (no Placement)."""

from __future__ import annotations

import pytest

from sriovirt.pci.device import DeviceStatus, DevType, HostPciDevice, PciDevice
from sriovirt.placement import tree as pt

ROOT_UUID = "6f7f3592-b874-4d2a-b789-a3e81d8f3bed"
PF = "0000:81:00.0"


def _root(traits: dict[str, bool] | None = None) -> pt.Provider:
    return pt.root_provider(
        node_uuid=ROOT_UUID,
        host="host-a",
        vcpus=8,
        memory_mb=32768,
        disk_gb=100,
        traits=traits or {},
    )


def _pf(
    address: str = PF,
    physnet: str | None = "physnet1",
    status: DeviceStatus = DeviceStatus.AVAILABLE,
) -> PciDevice:
    return PciDevice(
        host=HostPciDevice(
            address=address,
            vendor_id="8086",
            product_id="10fb",
            dev_type=DevType.PF,
        ),
        physical_network=physnet,
        status=status,
    )


def _vf(
    function: int,
    parent: str = PF,
    physnet: str | None = "physnet1",
    status: DeviceStatus = DeviceStatus.AVAILABLE,
) -> PciDevice:
    bus = parent.split(":")[1]
    return PciDevice(
        host=HostPciDevice(
            address=f"0000:{bus}:10.{function}",
            vendor_id="8086",
            product_id="10ed",
            dev_type=DevType.VF,
            parent_addr=parent,
        ),
        physical_network=physnet,
        status=status,
    )


def test_root_has_host_inventories_and_only_reported_traits() -> None:
    root = _root(
        {"COMPUTE_NET_VIRTIO_PACKED": True, "HW_CPU_X86_AVX512F": False}
    )
    tree = pt.compute_tree(root, [])
    assert tree.providers == (root,)
    assert root.uuid == ROOT_UUID and root.name == "host-a"
    assert root.parent is None
    assert {rc: i.total for rc, i in root.inventories.items()} == {
        "VCPU": 8,
        "MEMORY_MB": 32768,
        "DISK_GB": 100,
    }
    assert root.inventories["VCPU"].max_unit == 8
    assert root.traits == {"COMPUTE_NET_VIRTIO_PACKED"}


def test_one_child_per_pf_with_vfs_and_the_pf_itself() -> None:
    devices = [_pf(), _vf(0), _vf(2), _vf(4)]
    tree = pt.compute_tree(_root(), devices)
    assert len(tree.providers) == 2
    child = tree.providers[1]
    assert child.parent == ROOT_UUID
    assert child.name == f"host-a_{PF}"
    assert child.uuid == pt.child_uuid(ROOT_UUID, PF)
    assert child.inventories == {
        "SRIOV_NET_VF": pt.Inventory(total=3),
        pt.PF_RESOURCE_CLASS: pt.Inventory(total=1),
    }
    assert child.traits == {
        "CUSTOM_PHYSNET_PHYSNET1",
        "CUSTOM_VNIC_TYPE_DIRECT",
        "CUSTOM_VNIC_TYPE_MACVTAP",
        "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
    }


def test_vfs_without_their_pf_serve_no_direct_physical() -> None:
    tree = pt.compute_tree(_root(), [_vf(0), _vf(2)])
    child = tree.providers[1]
    assert set(child.inventories) == {"SRIOV_NET_VF"}
    assert "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL" not in child.traits


def test_pf_alone_serves_only_direct_physical() -> None:
    child = pt.compute_tree(_root(), [_pf()]).providers[1]
    assert set(child.inventories) == {pt.PF_RESOURCE_CLASS}
    assert child.traits == {
        "CUSTOM_PHYSNET_PHYSNET1",
        "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
    }


def test_a_used_vf_reserves_the_pf_not_itself() -> None:
    devices = [
        _pf(status=DeviceStatus.UNAVAILABLE),
        _vf(0, status=DeviceStatus.ALLOCATED),
        _vf(2),
    ]
    child = pt.compute_tree(_root(), devices).providers[1]
    # The VF's own use is its allocation's: not reserved twice.
    assert child.inventories["SRIOV_NET_VF"].reserved == 0
    assert child.inventories[pt.PF_RESOURCE_CLASS].reserved == 1


def test_a_claimed_pf_reserves_every_vf() -> None:
    devices = [
        _pf(status=DeviceStatus.CLAIMED),
        _vf(0, status=DeviceStatus.UNCLAIMABLE),
        _vf(2, status=DeviceStatus.UNCLAIMABLE),
    ]
    child = pt.compute_tree(_root(), devices).providers[1]
    assert child.inventories["SRIOV_NET_VF"] == pt.Inventory(
        total=2, reserved=2
    )
    assert child.inventories[pt.PF_RESOURCE_CLASS].reserved == 0


def test_pf_without_physical_network_gets_no_provider() -> None:
    tree = pt.compute_tree(_root(), [_pf(physnet=None), _vf(0, physnet=None)])
    assert len(tree.providers) == 1
    assert tree.skipped == (f"PF {PF}: no physical_network on its devices",)


def test_pf_with_two_physical_networks_is_skipped_with_the_reason() -> None:
    tree = pt.compute_tree(
        _root(), [_vf(0, physnet="physnet1"), _vf(2, physnet="physnet2")]
    )
    assert len(tree.providers) == 1
    assert "physnet1, physnet2" in tree.skipped[0]


def test_children_sorted_by_pf_and_uuids_stable() -> None:
    other = "0000:82:00.0"
    devices = [_vf(0, parent=other, physnet="physnet-2"), _vf(0), _pf()]
    tree = pt.compute_tree(_root(), devices)
    assert [p.name for p in tree.providers] == [
        "host-a",
        f"host-a_{PF}",
        f"host-a_{other}",
    ]
    assert "CUSTOM_PHYSNET_PHYSNET_2" in tree.providers[2].traits
    again = pt.compute_tree(_root(), devices)
    assert [p.uuid for p in again.providers] == [
        p.uuid for p in tree.providers
    ]
    assert len({p.uuid for p in tree.providers}) == 3


def test_inventory_refuses_reserved_over_total() -> None:
    with pytest.raises(ValueError, match="reserved 3 must be within"):
        pt.Inventory(total=2, reserved=3)


def test_inventory_json_round_trip() -> None:
    inv = pt.Inventory(total=4, reserved=1)
    assert pt.Inventory.from_json(inv.to_json()) == inv
