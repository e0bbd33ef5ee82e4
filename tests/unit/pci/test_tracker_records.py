"""The stored form of a tracked device (sriovirt.pci.record)."""

from __future__ import annotations

from sriovirt.db import records
from sriovirt.pci import device as pci_device
from sriovirt.pci import record
from sriovirt.pci.address import PciAddress

INSTANCE = "6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d11"
REQUEST = "0b4c7c3e-39e7-4c1b-8f55-1a0f1a1e2f3a"


def test_tracked_device_round_trip() -> None:
    host = pci_device.HostPciDevice(
        address=PciAddress.parse("0000:81:10.1"),
        vendor_id="8086",
        product_id="1515",
        dev_type=pci_device.DevType.VF,
        parent_addr=PciAddress.parse("0000:81:00.0"),
        numa_node=1,
        ifname="enp129s16f1",
    )
    tracked = pci_device.PciDevice(
        host=host,
        physical_network="physnet1",
        tags=(("trusted", "true"),),
        status=pci_device.DeviceStatus.CLAIMED,
        instance_uuid=INSTANCE,
        request_id=REQUEST,
        pending_removal=True,
    )
    stored = record.to_record(tracked)
    assert stored.extra_info == {
        "physical_network": "physnet1",
        "trusted": "true",
        "ifname": "enp129s16f1",
        "pending_removal": "true",
    }
    assert stored.address == "0000:81:10.1"
    assert (stored.parent_addr, stored.numa_node) == ("0000:81:00.0", 1)
    assert (stored.dev_type, stored.status) == ("type-VF", "claimed")
    assert (stored.instance_uuid, stored.request_id) == (INSTANCE, REQUEST)
    info = record.stored_info(stored)
    assert (info.ifname, info.parent_ifname) == ("enp129s16f1", None)
    assert info.physical_network == "physnet1"
    assert info.tags == (("trusted", "true"),)


def test_reserved_keys_are_not_tags() -> None:
    stored = record.PciDeviceRecord(
        address="0000:81:00.0",
        vendor_id="8086",
        product_id="1572",
        dev_type="type-PF",
        status="allocated",
        extra_info={
            "ifname": "ens1f0",
            "parent_ifname": "x",
            "pending_removal": "true",
            "b": "2",
            "a": "1",
        },
    )
    info = record.stored_info(stored)
    assert info.tags == (("a", "1"), ("b", "2"))
    assert info.physical_network is None
    assert {
        "ifname",
        "parent_ifname",
        "pending_removal",
    } == record.RESERVED_INFO_KEYS


def test_the_database_records_are_the_tracker_records() -> None:
    assert records.PciDeviceRecord is record.PciDeviceRecord
