"""Tracked PCI devices: the state machine, table-driven."""

from __future__ import annotations

import itertools

import pytest

from sriovirt import exception
from sriovirt.pci.device import (
    IN_USE,
    NOT_IN_USE,
    TRANSITIONS,
    Action,
    DeviceStatus,
    DevType,
    HostPciDevice,
    PciDevice,
    hex_id,
    normalize_id,
)

S = DeviceStatus
INSTANCE = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"

#: The whole table, spelled out independently of the module's table.
EXPECTED = {
    (Action.CLAIM, S.AVAILABLE): S.CLAIMED,
    (Action.ALLOCATE, S.CLAIMED): S.ALLOCATED,
    (Action.FREE, S.CLAIMED): S.AVAILABLE,
    (Action.FREE, S.ALLOCATED): S.AVAILABLE,
    (Action.UNBLOCK, S.UNCLAIMABLE): S.AVAILABLE,
    (Action.UNBLOCK, S.UNAVAILABLE): S.AVAILABLE,
    (Action.REMOVE, S.AVAILABLE): S.REMOVED,
    (Action.REMOVE, S.UNCLAIMABLE): S.REMOVED,
    (Action.REMOVE, S.UNAVAILABLE): S.REMOVED,
    (Action.DELETE, S.REMOVED): S.DELETED,
}
BLOCKS = {
    (S.AVAILABLE, S.UNCLAIMABLE),
    (S.AVAILABLE, S.UNAVAILABLE),
    (S.UNCLAIMABLE, S.UNAVAILABLE),
    (S.UNAVAILABLE, S.UNCLAIMABLE),
}


def vf(status: DeviceStatus = S.AVAILABLE, **kw: object) -> PciDevice:
    host = HostPciDevice(
        address="0000:81:10.1",
        vendor_id="8086",
        product_id="154c",
        dev_type=DevType.VF,
        parent_addr="0000:81:00.0",
        numa_node=1,
    )
    return PciDevice(
        host=host, physical_network="physnet1", status=status, **kw
    )  # type: ignore[arg-type]


def test_status_values_follow_nova() -> None:
    assert {s.value for s in S} == {
        "available",
        "claimed",
        "allocated",
        "removed",
        "deleted",
        "unclaimable",
        "unavailable",
    }
    assert {S.CLAIMED, S.ALLOCATED} == IN_USE
    assert {S.AVAILABLE, S.UNCLAIMABLE, S.UNAVAILABLE} == NOT_IN_USE


def test_table_is_exactly_the_expected_one() -> None:
    table = {
        (action, src): dst
        for action, moves in TRANSITIONS.items()
        if action is not Action.BLOCK
        for src, dst in moves
    }
    assert table == EXPECTED
    assert set(TRANSITIONS[Action.BLOCK]) == BLOCKS


@pytest.mark.parametrize(
    ("action", "source"),
    [(a, s) for a, s in itertools.product(Action, S) if a is not Action.BLOCK],
    ids=str,
)
def test_every_non_block_transition(action: Action, source: S) -> None:
    dev = vf(source)
    target = EXPECTED.get((action, source))
    if target is None:
        with pytest.raises(exception.PciDeviceInvalidStatus) as err:
            dev.transition(action)
        text = str(err.value)
        assert "0000:81:10.1" in text
        assert f"is {source.value};" in text
        assert action.value in text
        for src in {s for (a, s) in EXPECTED if a is action}:
            assert src.value in text
        assert dev.status is source
    else:
        assert dev.transition(action) is source
        assert dev.status is target


@pytest.mark.parametrize(
    ("source", "target"), list(itertools.product(S, S)), ids=str
)
def test_every_block_transition(source: S, target: S) -> None:
    dev = vf(source)
    if (source, target) in BLOCKS:
        dev.block(target)
        assert dev.status is target
    else:
        with pytest.raises(exception.PciDeviceInvalidStatus) as err:
            dev.block(target)
        assert f"block to {target.value}" in str(err.value)
        assert dev.status is source


def test_claim_allocate_free_set_and_clear_owner() -> None:
    dev = vf()
    dev.claim(INSTANCE, "req-1")
    assert (dev.status, dev.instance_uuid, dev.request_id) == (
        S.CLAIMED,
        INSTANCE,
        "req-1",
    )
    assert dev.in_use
    dev.allocate(INSTANCE)
    assert dev.status is S.ALLOCATED
    dev.free(INSTANCE)
    assert (dev.status, dev.instance_uuid, dev.request_id) == (
        S.AVAILABLE,
        None,
        None,
    )


def test_wrong_owner_is_refused() -> None:
    dev = vf()
    dev.claim(INSTANCE, None)
    with pytest.raises(exception.PciDeviceInvalidOwner) as err:
        dev.allocate(OTHER)
    assert INSTANCE in str(err.value)
    assert OTHER in str(err.value)
    with pytest.raises(exception.PciDeviceInvalidOwner):
        dev.free(OTHER)
    assert dev.status is S.CLAIMED


def test_claim_of_claimed_device_names_everything() -> None:
    dev = vf(S.CLAIMED)
    with pytest.raises(exception.PciDeviceInvalidStatus) as err:
        dev.claim(OTHER, None)
    assert str(err.value) == (
        "PCI device 0000:81:10.1 is claimed; claim needs it to be available"
    )


def test_free_message_lists_both_sources() -> None:
    with pytest.raises(exception.PciDeviceInvalidStatus) as err:
        vf().free()
    assert "needs it to be allocated or claimed" in str(err.value)


def test_facts_and_tags() -> None:
    dev = vf(tags=(("trusted", "true"),))
    assert dev.vendor_id == "8086"
    assert dev.product_id == "154c"
    assert dev.dev_type is DevType.VF
    assert str(dev.parent_addr) == "0000:81:00.0"
    assert dev.numa_node == 1
    assert dev.tag_dict == {"trusted": "true", "physical_network": "physnet1"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [("8086", "8086"), ("0x10ED", "10ed"), (" 15b3 ", "15b3"), ("15", "0015")],
)
def test_ids_are_normalised(given: str, expected: str) -> None:
    assert normalize_id(given, field="vendor_id", address="x") == expected


@pytest.mark.parametrize("bad", ["", " ", "0x", "80g6", "18086", 8086, None])
def test_bad_ids_are_refused(bad: object) -> None:
    with pytest.raises(exception.InvalidHostDevice) as err:
        normalize_id(bad, field="vendor_id", address="0000:81:00.0")
    assert f"vendor_id {bad!r} is not a 4-digit hex id" in str(err.value)
    assert "0000:81:00.0" in str(err.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0X8086", "8086"), ("f", "000f"), ("0x", None), ("*", None), (1, None)],
)
def test_one_hex_id_normaliser(given: object, expected: str | None) -> None:
    # device_spec, aliases, requests and pool JSON read ids through it.
    assert hex_id(given) == expected


def test_vf_facts_are_a_vfs_only_and_checked() -> None:
    vf = HostPciDevice(
        address="0000:81:10.2",
        vendor_id="8086",
        product_id="154c",
        dev_type=DevType.VF,
        parent_addr="0000:81:00.0",
        pf_mac_address="52:54:00:AB:CD:EF",
        vf_num=1,
    )
    assert (vf.pf_mac_address, vf.vf_num) == ("52:54:00:ab:cd:ef", 1)
    assert PciDevice(host=vf).vf_num == 1
    base = {"address": "0000:81:00.0", "vendor_id": "8086"}
    with pytest.raises(exception.InvalidHostDevice, match="a VF's only"):
        HostPciDevice(**base, product_id="1572", dev_type=DevType.PF, vf_num=0)
    vf_base = {
        **base,
        "product_id": "154c",
        "dev_type": DevType.VF,
        "parent_addr": "0000:81:00.0",
    }
    for bad, match in (
        ({"pf_mac_address": "52:54:00"}, "pf_mac_address '52:54:00'"),
        ({"vf_num": -1}, "vf_num -1"),
        ({"vf_num": True}, "vf_num True"),
    ):
        with pytest.raises(exception.InvalidHostDevice, match=match):
            HostPciDevice(**vf_base, **bad)  # type: ignore[arg-type]
