"""PciDevice, pools, compute node and PCI requests: versions and forms."""

from __future__ import annotations

import json

import pytest

from sriovirt import exception
from sriovirt.db.records import ComputeNodeRecord, PciDeviceRecord
from sriovirt.objects.compute_node import ComputeNode
from sriovirt.objects.instance_pci_requests import (
    InstancePCIRequest,
    InstancePCIRequests,
)
from sriovirt.objects.pci_device import PciDevice, PciDeviceList
from sriovirt.objects.pci_device_pool import PciDevicePoolList
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats

INSTANCE = "6f1b6bd2-6b0d-4d0a-9a36-2a9b0f0b7d11"
REQUEST = "0b4c7c3e-39e7-4c1b-8f55-1a0f1a1e2f3a"

RECORD = PciDeviceRecord(
    address="0000:81:10.1",
    vendor_id="8086",
    product_id="1515",
    dev_type="type-VF",
    status="allocated",
    parent_addr="0000:81:00.0",
    numa_node=1,
    instance_uuid=INSTANCE,
    request_id=REQUEST,
    extra_info={"physical_network": "physnet1", "ifname": "enp129s16f1"},
)

POOLS = [
    {
        "vendor_id": "8086",
        "product_id": "1515",
        "numa_node": 1,
        "count": 7,
        "tags": {"dev_type": "type-VF", "physical_network": "physnet1"},
    },
    {
        "vendor_id": "8086",
        "product_id": "1528",
        "numa_node": None,
        "count": 1,
        "tags": {"dev_type": "type-PF", "physical_network": "physnet2"},
    },
]


def _primitive_data(obj: PciDevice, version: str) -> dict[str, object]:
    prim = obj.obj_to_primitive(target_version=version)
    data: dict[str, object] = prim["sriovirt_object.data"]
    assert prim["sriovirt_object.version"] == version
    assert prim["sriovirt_object.namespace"] == "sriovirt"
    return data


# --- PciDevice --------------------------------------------------------------


def test_pci_device_record_round_trip() -> None:
    obj = PciDevice.from_record(RECORD, compute_node_id=3)
    assert obj.compute_node_id == 3
    assert obj.request_id == REQUEST
    assert not obj.obj_what_changed()
    assert obj.to_record() == RECORD


def test_make_compatible_drops_request_id_for_1_0() -> None:
    obj = PciDevice.from_record(RECORD)
    assert "request_id" not in _primitive_data(obj, "1.0")
    assert _primitive_data(obj, "1.1")["request_id"] == REQUEST


def test_make_compatible_keeps_other_fields_for_1_0() -> None:
    obj = PciDevice.from_record(RECORD)
    old = _primitive_data(obj, "1.0")
    new = _primitive_data(obj, "1.1")
    del new["request_id"]
    assert old == new


def test_a_1_0_primitive_loads_without_request_id() -> None:
    prim = PciDevice.from_record(RECORD).obj_to_primitive("1.0")
    loaded = PciDevice.obj_from_primitive(prim)
    assert not loaded.obj_attr_is_set("request_id")
    assert loaded.to_record().request_id is None


def test_device_list_backports_children_to_1_1() -> None:
    devices = PciDeviceList.from_records([RECORD])
    prim = devices.obj_to_primitive(target_version="1.0")
    child = prim["sriovirt_object.data"]["objects"][0]
    assert child["sriovirt_object.version"] == "1.1"
    assert child["sriovirt_object.data"]["request_id"] == REQUEST
    assert devices.to_records() == [RECORD]


def test_pci_device_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        PciDevice.from_record(
            PciDeviceRecord(
                address="0000:81:10.1",
                vendor_id="8086",
                product_id="1515",
                dev_type="type-VF",
                status="borrowed",
            )
        )


# --- pools ------------------------------------------------------------------


def test_pool_list_reads_and_writes_the_pci_stats_format() -> None:
    pools = PciDevicePoolList.from_json(json.dumps(POOLS))
    assert [p.count for p in pools] == [7, 1]
    assert pools[0].tags["physical_network"] == "physnet1"
    assert pools[1].numa_node is None
    assert json.loads(pools.to_json()) == POOLS


@pytest.mark.parametrize("text", [None, "", "[]"])
def test_no_pools(text: str | None) -> None:
    assert PciDevicePoolList.from_json(text).to_list() == []


_POOL = (
    '"vendor_id": "8086", "product_id": "1515", "numa_node": 0, '
    '"count": 1, "tags": {"dev_type": "type-VF"}'
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "not JSON"),
        ('{"count": 1}', "expected a JSON list of pools"),
        ("[1]", "pool #0: 1 is not a JSON object"),
        (
            '[{"vendor_id": "8086", "product_id": "1515"}]',
            "missing count, numa_node, tags",
        ),
        ("[{" + _POOL.replace('"count": 1', '"count": -1') + "}]", "count -1"),
        (
            "[{"
            + _POOL.replace('"type-VF"', '"type-VF", "trusted": true')
            + "}]",
            "tags",
        ),
        ("[{" + _POOL + ', "colour": "red"}]', "unknown key(s) colour"),
        # Rules of the one parser the objects used not to apply:
        (
            "[{" + _POOL.replace('{"dev_type": "type-VF"}', "{}") + "}]",
            "tags has no dev_type",
        ),
        ("[{" + _POOL + "}, {" + _POOL + "}]", "duplicate pool"),
    ],
)
def test_bad_pci_stats(value: str, message: str) -> None:
    # One parser (PciStats.from_json) reads the stored pools everywhere:
    # its error and its wording.
    with pytest.raises(
        exception.InvalidPciStats, match=r"compute_nodes\.pci_stats"
    ) as info:
        PciDevicePoolList.from_json(value)
    assert message in str(info.value)


def test_pool_list_reads_what_pci_stats_reads() -> None:
    # Ids normalised and empty pools dropped, as PciStats does.
    text = json.dumps(
        [
            {**POOLS[0], "vendor_id": "0x8086"},
            {**POOLS[1], "count": 0},
        ]
    )
    pools = PciDevicePoolList.from_json(text)
    assert pools.to_list() == [POOLS[0]]
    assert pools.to_json() == PciStats.from_json(text).to_json()


# --- compute node ------------------------------------------------------------


def test_compute_node_record_round_trip() -> None:
    record = ComputeNodeRecord(
        id=4,
        uuid="9a1d7a50-1c9b-4d5f-a7a5-0f6c8a3f4b21",
        host="compute-1",
        hypervisor_hostname="compute-1.example",
        pci_stats=json.dumps(POOLS),
    )
    node = ComputeNode.from_record(record)
    assert node.pci_device_pools is not None
    assert len(node.pci_device_pools) == 2
    back = node.to_record()
    assert back.pci_stats is not None
    assert json.loads(back.pci_stats) == POOLS
    assert back.id == 4 and back.host == "compute-1"


def test_compute_node_without_pools() -> None:
    node = ComputeNode.from_record(
        ComputeNodeRecord(
            id=1,
            uuid="9a1d7a50-1c9b-4d5f-a7a5-0f6c8a3f4b21",
            host="h",
            hypervisor_hostname="h",
        )
    )
    assert node.pci_device_pools is None
    assert node.to_record().pci_stats is None


# --- PCI requests -----------------------------------------------------------


def test_instance_pci_requests_json_round_trip() -> None:
    requests = InstancePCIRequests(
        instance_uuid=INSTANCE,
        requests=[
            InstancePCIRequest(
                count=1,
                spec=[{"physical_network": "physnet1", "dev_type": None}],
                alias_name=None,
                request_id=REQUEST,
                requester_id="port-1",
                numa_policy=None,
            )
        ],
    )
    text = requests.to_json()
    loaded = InstancePCIRequests.from_json(INSTANCE, text)
    assert loaded.to_json() == text
    assert loaded.requests[0].requester_id == "port-1"


def test_instance_pci_requests_empty_and_bad() -> None:
    assert InstancePCIRequests.from_json(INSTANCE, None).requests == []
    with pytest.raises(exception.Invalid, match=INSTANCE):
        InstancePCIRequests.from_json(INSTANCE, '{"count": 1}')
    with pytest.raises(exception.Invalid, match="unknown keys"):
        InstancePCIRequests.from_json(INSTANCE, '[{"cuont": 1}]')


def test_pci_request_bridge_round_trip() -> None:
    request = PciRequest(
        count=2,
        spec=[{"physical_network": "physnet1", "dev_type": "type-VF"}],
        request_id=REQUEST,
        requester_id="port-1",
    )
    obj = InstancePCIRequest.from_pci_request(request)
    assert obj.request_id == REQUEST and obj.count == 2
    stored = InstancePCIRequests(instance_uuid=INSTANCE, requests=[obj])
    loaded = InstancePCIRequests.from_json(INSTANCE, stored.to_json())
    back = loaded.requests[0].to_pci_request()
    assert back.spec == request.spec
    assert (back.request_id, back.requester_id, back.count) == (
        REQUEST,
        "port-1",
        2,
    )


def test_pools_read_and_write_exactly_pci_stats_json() -> None:
    # The pure PciStats and the stored objects agree on the format, in
    # both directions, to the character.
    stats_text = PciStats.from_json(json.dumps(POOLS)).to_json()
    pools = PciDevicePoolList.from_json(stats_text)
    assert pools.to_json() == stats_text
    assert PciStats.from_json(pools.to_json()).to_json() == stats_text
