"""The PCI tracker: sync, claims, PF/VF rules, restore."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import (
    IN_USE,
    DeviceStatus,
    DevType,
    HostPciDevice,
    PciDevice,
)
from sriovirt.pci.pool import PoolKey
from sriovirt.pci.record import PciDeviceRecord
from sriovirt.pci.request import PciRequest
from sriovirt.pci.tracker import PciTracker, SyncResult
from sriovirt.pci.whitelist import Whitelist

S = DeviceStatus
A = "aaaaaaaa-0000-0000-0000-000000000000"
B = "bbbbbbbb-0000-0000-0000-000000000000"
N_VFS = 4


def pf_addr(n: int) -> PciAddress:
    return PciAddress(0, 0x10 + n, 0, 0)


def vf_addr(n: int, i: int) -> PciAddress:
    return PciAddress(0, 0x10 + n, 2, i)


def host(
    n_pfs: int = 2, n_vfs: int = N_VFS, numa: int | None = 0
) -> list[HostPciDevice]:
    devs = []
    for n in range(n_pfs):
        devs.append(
            HostPciDevice(
                address=pf_addr(n),
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=numa,
                ifname=f"ens{n}",
            )
        )
        devs.extend(
            HostPciDevice(
                address=vf_addr(n, i),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=pf_addr(n),
                numa_node=numa,
                ifname=f"ens{n}v{i}",
                parent_ifname=f"ens{n}",
            )
            for i in range(n_vfs)
        )
    devs.append(
        HostPciDevice(
            address="0000:05:00.0",
            vendor_id="10de",
            product_id="1eb8",
            dev_type=DevType.PCI,
            numa_node=1,
        )
    )
    return devs


def whitelist(n_pfs: int = 2, **extra: object) -> Whitelist:
    values = [
        json.dumps(
            {
                "address": str(pf_addr(n)),
                "physical_network": f"physnet{n}",
                **extra,
            }
        )
        for n in range(n_pfs)
    ]
    values.append(json.dumps({"vendor_id": "10de", "product_id": "1eb8"}))
    return Whitelist.from_config(values)


def vf_req(physnet: str = "physnet0", count: int = 1) -> PciRequest:
    return PciRequest(count=count, spec=[{"physical_network": physnet}])


def pf_req(physnet: str = "physnet0") -> PciRequest:
    return PciRequest(
        spec=[{"physical_network": physnet, "dev_type": "type-PF"}]
    )


def check_invariants(tracker: PciTracker) -> None:
    """Recompute everything from scratch and compare."""
    devs = {d.address: d for d in tracker.devices}
    counts: dict[PoolKey, int] = {}
    for d in devs.values():
        assert d.status not in (S.REMOVED, S.DELETED)
        if d.status is S.AVAILABLE:
            k = tracker.pool_key(d.address)
            counts[k] = counts.get(k, 0) + 1
        if d.in_use:
            assert d.instance_uuid is not None
            assert d in tracker.devices_of(d.instance_uuid)
        else:
            assert d.instance_uuid is None
            assert not d.pending_removal
    assert {p.key: p.count for p in tracker.stats.pools} == counts
    for d in devs.values():
        if d.dev_type is DevType.VF and d.parent_addr in devs:
            pf = devs[d.parent_addr]
            vfs = [v for v in devs.values() if v.parent_addr == pf.address]
            if pf.in_use:
                assert not any(v.in_use for v in vfs)
                expect = (
                    S.UNAVAILABLE
                    if pf.status is S.ALLOCATED
                    else S.UNCLAIMABLE
                )
                assert all(v.status is expect for v in vfs)
            elif any(v.status is S.ALLOCATED for v in vfs):
                assert pf.status is S.UNAVAILABLE
            elif any(v.status is S.CLAIMED for v in vfs):
                assert pf.status is S.UNCLAIMABLE
            else:
                assert pf.status is S.AVAILABLE
            if not pf.in_use and not d.in_use:
                assert d.status is S.AVAILABLE
    owners: dict[PciAddress, str] = {}
    for inst in tracker.instances:
        for d in tracker.devices_of(inst):
            assert d.address not in owners  # never two instances
            owners[d.address] = inst
            assert d.instance_uuid == inst and d.status in IN_USE


def synced(devices: Iterable[HostPciDevice] | None = None) -> PciTracker:
    tracker = PciTracker(whitelist())
    tracker.sync(host() if devices is None else devices)
    return tracker


# --- sync -------------------------------------------------------------------


def test_first_sync_adds_every_whitelisted_device() -> None:
    tracker = PciTracker(whitelist())
    result = tracker.sync(
        [
            *host(),
            HostPciDevice(
                address="0000:06:00.0",
                vendor_id="1234",
                product_id="5678",
                dev_type="type-PCI",
            ),
        ]
    )
    assert len(result.added) == 2 + 2 * N_VFS + 1
    assert result.changed
    assert all(d.status is S.AVAILABLE for d in tracker.devices)
    assert tracker.get(vf_addr(1, 0)).physical_network == "physnet1"
    pools = {
        (p.key.dev_type, p.key.physical_network): p.count
        for p in tracker.stats.pools
    }
    assert pools == {
        (DevType.PF, "physnet0"): 1,
        (DevType.PF, "physnet1"): 1,
        (DevType.VF, "physnet0"): N_VFS,
        (DevType.VF, "physnet1"): N_VFS,
        (DevType.PCI, None): 1,
    }
    check_invariants(tracker)


def test_steady_state_sync_reports_nothing() -> None:
    tracker = synced()
    assert tracker.sync(host()) == SyncResult()
    assert not tracker.sync(host()).changed


def test_sync_updates_changed_devices_and_pools() -> None:
    tracker = synced()
    changed = host(numa=1)
    result = tracker.sync(changed)
    assert len(result.updated) == 2 + 2 * N_VFS
    assert not result.added and not result.removed
    assert {p.key.numa_node for p in tracker.stats.pools} == {1}
    check_invariants(tracker)


def test_whitelist_change_updates_tags_and_removes_free_devices() -> None:
    tracker = synced()
    tracker.set_whitelist(whitelist(n_pfs=1, trusted="yes"))
    result = tracker.sync(host())
    assert set(result.removed) == {pf_addr(1)} | {
        vf_addr(1, i) for i in range(N_VFS)
    }
    assert tracker.get(vf_addr(0, 0)).tags == (("trusted", "true"),)
    assert all(
        p.key.physical_network != "physnet1" for p in tracker.stats.pools
    )
    check_invariants(tracker)


def test_vanished_device_in_use_is_kept_until_freed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = synced()
    (dev,) = tracker.claim(A, [vf_req()])
    tracker.allocate(A)
    gone = [d for d in host() if d.address != dev.address]
    with caplog.at_level(logging.WARNING):
        result = tracker.sync(gone)
    assert result.kept_in_use == (dev.address,)
    assert str(dev.address) in caplog.text and A in caplog.text
    assert dev.pending_removal and dev.status is S.ALLOCATED
    assert tracker.get(dev.parent_addr or pf_addr(0)).status is S.UNAVAILABLE
    assert not tracker.sync(gone).changed  # reported once
    check_invariants(tracker)
    tracker.free(A)
    with pytest.raises(exception.PciDeviceNotFound):
        tracker.get(dev.address)
    assert dev.status is S.REMOVED
    assert tracker.get(pf_addr(0)).status is S.AVAILABLE
    check_invariants(tracker)


def test_vanished_device_that_comes_back_is_unmarked() -> None:
    tracker = synced()
    (dev,) = tracker.claim(A, [vf_req()])
    tracker.sync([d for d in host() if d.address != dev.address])
    result = tracker.sync(host())
    assert result.updated == (dev.address,)
    assert not dev.pending_removal
    tracker.free(A)
    assert tracker.get(dev.address).status is S.AVAILABLE


def test_removed_free_devices_leave_the_pools() -> None:
    tracker = synced()
    result = tracker.sync([d for d in host() if d.parent_addr != pf_addr(1)])
    assert len(result.removed) == N_VFS
    assert tracker.get(pf_addr(1)).status is S.AVAILABLE
    check_invariants(tracker)


# --- claims and PF/VF rules ------------------------------------------------


def test_claim_sets_owner_and_request() -> None:
    tracker = synced()
    req = vf_req(count=2)
    devs = tracker.claim(A, [req])
    assert len(devs) == 2
    assert all(
        (d.status, d.instance_uuid, d.request_id)
        == (S.CLAIMED, A, req.request_id)
        for d in devs
    )
    assert tracker.stats.support([vf_req(count=N_VFS - 2)])
    assert not tracker.stats.support([vf_req(count=N_VFS - 1)])
    check_invariants(tracker)


@pytest.mark.parametrize(
    ("step", "pf_status"),
    [("claim", S.UNCLAIMABLE), ("allocate", S.UNAVAILABLE)],
)
def test_used_vf_blocks_its_pf(step: str, pf_status: S) -> None:
    tracker = synced()
    (_vf,) = tracker.claim(A, [vf_req()])
    if step == "allocate":
        tracker.allocate(A)
    assert tracker.get(pf_addr(0)).status is pf_status
    assert tracker.get(pf_addr(1)).status is S.AVAILABLE
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        tracker.claim(B, [pf_req()])
    assert err.value.stage == "count"
    check_invariants(tracker)


@pytest.mark.parametrize(
    ("step", "vf_status"),
    [("claim", S.UNCLAIMABLE), ("allocate", S.UNAVAILABLE)],
)
def test_used_pf_blocks_its_vfs(step: str, vf_status: S) -> None:
    tracker = synced()
    (pf,) = tracker.claim(A, [pf_req()])
    assert pf.address == pf_addr(0)
    if step == "allocate":
        tracker.allocate(A)
    assert all(
        tracker.get(vf_addr(0, i)).status is vf_status for i in range(N_VFS)
    )
    with pytest.raises(exception.PciRequestUnsatisfiable):
        tracker.claim(B, [vf_req()])
    tracker.free(A)
    assert all(
        tracker.get(vf_addr(0, i)).status is S.AVAILABLE for i in range(N_VFS)
    )
    check_invariants(tracker)


def test_pf_freed_only_when_all_sibling_vfs_are_free() -> None:
    tracker = synced()
    tracker.claim(A, [vf_req()])
    tracker.allocate(A)
    tracker.claim(B, [vf_req()])
    pf = tracker.get(pf_addr(0))
    assert pf.status is S.UNAVAILABLE
    tracker.free(A)
    assert pf.status is S.UNCLAIMABLE  # B's claimed VF still blocks it
    tracker.free(B)
    assert pf.status is S.AVAILABLE
    check_invariants(tracker)


def test_claim_is_all_or_nothing() -> None:
    tracker = synced()
    before = tracker.stats
    statuses = {d.address: d.status for d in tracker.devices}
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        tracker.claim(
            A, [vf_req(count=2), pf_req("physnet1"), vf_req("physnet9")]
        )
    assert err.value.stage == "spec"
    assert "physnet9" in str(err.value)
    assert tracker.stats == before
    assert {d.address: d.status for d in tracker.devices} == statuses
    assert tracker.devices_of(A) == []
    check_invariants(tracker)


def test_joint_claim_of_pf_and_its_vfs_replans() -> None:
    # physnet0 has 1 PF + N VFs; claiming the PF blocks every VF, so a
    # VF request in the same claim must fail (nothing else on physnet0).
    tracker = synced()
    with pytest.raises(exception.PciRequestUnsatisfiable):
        tracker.claim(A, [pf_req(), vf_req()])
    check_invariants(tracker)
    devs = tracker.claim(A, [pf_req("physnet1"), vf_req()])
    assert [d.dev_type for d in devs] == [DevType.PF, DevType.VF]
    check_invariants(tracker)


def test_pool_shrinking_during_one_request_is_replanned() -> None:
    # One request, two alternatives (a PF or a VF of physnet0), count 2.
    # Whatever the plan takes first blocks its relatives; the claim must
    # still end with two devices that respect the PF/VF rules.
    tracker = synced()
    req = PciRequest(
        count=2,
        spec=[
            {"physical_network": "physnet0", "dev_type": "type-PF"},
            {"physical_network": "physnet0"},
        ],
    )
    devs = tracker.claim(A, [req])
    assert len(devs) == 2
    check_invariants(tracker)


def test_replan_takes_another_pool_when_the_planned_one_is_blocked() -> None:
    # The plan is "4 VFs of PF0, then PF0"; claiming the VFs blocks PF0,
    # so the last device must come from a fresh plan: PF1.
    tracker = synced()
    req = PciRequest(
        count=N_VFS + 1,
        spec=[{"physical_network": "physnet0"}, {"dev_type": "type-PF"}],
    )
    devs = tracker.claim(A, [req])
    assert {d.address for d in devs} == {pf_addr(1)} | {
        vf_addr(0, i) for i in range(N_VFS)
    }
    check_invariants(tracker)


def test_replan_failure_rolls_back() -> None:
    tracker = synced()
    before = tracker.records()
    req = PciRequest(
        count=N_VFS + 1,
        spec=[
            {"physical_network": "physnet0", "dev_type": "type-PF"},
            {"physical_network": "physnet0"},
        ],
    )
    assert tracker.stats.support([req])  # pools do not know PF/VF rules
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        tracker.claim(A, [req])
    assert err.value.stage == "count"
    assert tracker.records() == before
    check_invariants(tracker)


def test_duplicate_request_ids_are_refused() -> None:
    tracker = synced()
    req = vf_req()
    with pytest.raises(exception.InvalidPciRequest):
        tracker.claim(A, [req, req])


def test_allocate_and_free_unknown_instances_are_no_ops() -> None:
    tracker = synced()
    assert tracker.allocate(A) == []
    assert tracker.free(A) == []


def test_free_restores_pools() -> None:
    tracker = synced()
    before = tracker.stats
    tracker.claim(
        A,
        [
            vf_req(),
            pf_req("physnet1"),
            PciRequest(spec=[{"vendor_id": "10de"}]),
        ],
    )
    tracker.allocate(A)
    assert tracker.stats != before
    assert len(tracker.free(A)) == 3
    assert tracker.stats == before
    check_invariants(tracker)


def test_release_claims_except() -> None:
    tracker = synced()
    tracker.claim(A, [vf_req()])
    tracker.allocate(A)
    tracker.claim(B, [vf_req()])
    freed = tracker.release_claims_except([])
    assert [d.instance_uuid for d in freed] == [None]
    assert tracker.instances == {A}
    assert tracker.release_claims_except([A], allocated_too=True) == []
    assert len(tracker.release_claims_except([], allocated_too=True)) == 1
    check_invariants(tracker)


# --- restart -----------------------------------------------------------------


def test_records_and_restore_round_trip() -> None:
    tracker = synced()
    tracker.claim(A, [vf_req(count=2), pf_req("physnet1")])
    tracker.allocate(A)
    tracker.claim(B, [vf_req()])
    fresh = PciTracker(whitelist())
    result = fresh.restore(tracker.records(), host())
    assert not result.conflicts and not result.missing
    assert len(result.restored) == 4
    assert fresh.records() == tracker.records()
    assert fresh.stats == tracker.stats
    check_invariants(fresh)
    fresh.release_claims_except([A])
    assert fresh.instances == {A}


def test_restore_keeps_allocations_of_missing_devices() -> None:
    tracker = synced()
    (dev,) = tracker.claim(A, [vf_req()])
    tracker.allocate(A)
    fresh = PciTracker(whitelist())
    inventory = [d for d in host() if d.address != dev.address]
    result = fresh.restore(tracker.records(), inventory)
    assert result.missing == (dev.address,)
    restored = fresh.get(dev.address)
    assert restored.status is S.ALLOCATED and restored.pending_removal
    assert fresh.get(pf_addr(0)).status is S.UNAVAILABLE
    check_invariants(fresh)
    fresh.free(A)
    with pytest.raises(exception.PciDeviceNotFound):
        fresh.get(dev.address)
    check_invariants(fresh)


def test_restore_reports_conflicts() -> None:
    fresh = PciTracker(whitelist())
    fresh.sync(host())
    records = [
        PciDeviceRecord(
            address=str(pf_addr(0)),
            status="allocated",
            vendor_id="8086",
            product_id="1572",
            dev_type="type-PF",
            instance_uuid=A,
        ),
        PciDeviceRecord(
            address=str(vf_addr(0, 0)),
            status="allocated",
            vendor_id="8086",
            product_id="154c",
            dev_type="type-VF",
            parent_addr=str(pf_addr(0)),
            instance_uuid=B,
        ),
        PciDeviceRecord(
            address=str(vf_addr(1, 0)),
            status="bogus",
            vendor_id="8086",
            product_id="154c",
            dev_type="type-VF",
            instance_uuid=B,
        ),
        PciDeviceRecord(
            address=str(vf_addr(1, 1)),
            status="claimed",
            vendor_id="8086",
            product_id="154c",
            dev_type="type-VF",
        ),
    ]
    result = fresh.restore(records)
    assert result.restored == (pf_addr(0),)
    assert len(result.conflicts) == 3
    assert "unavailable" in result.conflicts[0]
    assert "bogus" in result.conflicts[1]
    assert "owned by an instance" in result.conflicts[2]
    check_invariants(fresh)


def test_devices_view_is_a_snapshot() -> None:
    tracker = synced()
    devices = tracker.devices
    assert isinstance(devices, tuple)
    assert all(isinstance(d, PciDevice) for d in devices)


def test_restore_reports_a_device_held_by_another_instance() -> None:
    fresh = synced()
    (held,) = fresh.claim(A, [vf_req()])
    before = fresh.records()
    record = PciDeviceRecord(
        address=str(held.address),
        status="allocated",
        vendor_id="8086",
        product_id="154c",
        dev_type="type-VF",
        parent_addr=str(held.parent_addr),
        instance_uuid=B,
    )
    result = fresh.restore([record])
    assert result.restored == ()
    (conflict,) = result.conflicts
    assert conflict.startswith(f"{held.address}: ")
    assert f"owned by instance {A}, not {B}" in conflict
    # Nothing moved: still A's claim, B owns nothing.
    assert fresh.records() == before
    assert fresh.devices_of(B) == []
    check_invariants(fresh)

    # The same record for the owner itself is the device restored.
    same = fresh.restore([dataclasses.replace(record, instance_uuid=A)])
    assert same.restored == (held.address,) and not same.conflicts


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("dev_type", "type-XX", "dev_type 'type-XX' is not one of"),
        ("address", "zzzz", "Invalid PCI address 'zzzz'"),
        ("parent_addr", "zzzz", "Invalid PCI address 'zzzz'"),
        ("vendor_id", "xyz!", "vendor_id 'xyz!' is not a 4-digit hex id"),
    ],
)
def test_restore_reports_unreadable_records_of_missing_devices(
    field: str, value: str, reason: str
) -> None:
    fresh = synced()
    before = fresh.records()
    record = PciDeviceRecord(
        address="0000:77:00.1",
        status="allocated",
        vendor_id="8086",
        product_id="154c",
        dev_type="type-VF",
        parent_addr="0000:77:00.0",
        instance_uuid=A,
    )
    good = PciDeviceRecord(
        address=str(vf_addr(1, 2)),
        status="claimed",
        vendor_id="8086",
        product_id="154c",
        dev_type="type-VF",
        parent_addr=str(pf_addr(1)),
        instance_uuid=B,
    )
    changes: dict[str, Any] = {field: value}
    result = fresh.restore([dataclasses.replace(record, **changes), good])
    (conflict,) = result.conflicts
    assert reason in conflict
    address = value if field == "address" else record.address
    assert conflict.startswith(f"{address}: ")
    # The readable record next to it is restored all the same.
    assert result.restored == (vf_addr(1, 2),)
    assert {r.address for r in fresh.records()} == {r.address for r in before}
    check_invariants(fresh)


class _CountingMatcher:
    """A whitelist double that counts the devices it is asked about."""

    def __init__(self, inner: Whitelist) -> None:
        self.inner = inner
        self.asked: list[PciAddress] = []

    def match(self, dev: HostPciDevice) -> object:
        self.asked.append(dev.address)
        return self.inner.match(dev)


def test_steady_sync_matches_only_what_changed() -> None:
    counting = _CountingMatcher(whitelist())
    tracker = PciTracker(counting)  # type: ignore[arg-type]
    devices = host()
    tracker.sync(devices)
    assert len(counting.asked) == len(devices)
    # Equal but new objects, as a new inventory gives: nothing re-matched.
    counting.asked.clear()
    fresh = [dataclasses.replace(d) for d in devices]
    result = tracker.sync(fresh)
    assert counting.asked == []
    assert not (result.added or result.updated or result.removed)
    # One changed description is matched again, and only that one.
    changed = dataclasses.replace(fresh[0], numa_node=1)
    tracker.sync([changed, *fresh[1:]])
    assert counting.asked == [changed.address]
    assert tracker.get(changed.address).host.numa_node == 1
    # A new whitelist re-matches everything.
    counting.asked.clear()
    tracker.set_whitelist(counting)  # type: ignore[arg-type]
    tracker.sync([changed, *fresh[1:]])
    assert len(counting.asked) == len(devices)
    check_invariants(tracker)


def test_steady_sync_re_adds_a_device_freed_while_pending_removal() -> None:
    tracker = PciTracker(whitelist())
    devices = host()
    tracker.sync(devices)
    (claimed,) = tracker.claim(A, [vf_req()])
    # Gone from the host while claimed, then freed: removed...
    tracker.sync([d for d in devices if d.address != claimed.address])
    tracker.free(A)
    assert claimed.address not in {d.address for d in tracker.devices}
    # ...and back on the host unchanged: tracked again, not skipped.
    tracker.sync(devices)
    assert tracker.get(claimed.address).status is S.AVAILABLE
    check_invariants(tracker)


# --- claims pinned to a PF (the scheduler's Placement allocation) ----------


def one_physnet() -> PciTracker:
    """Both PFs (and their VFs) on physnet0: pools span the two PFs."""
    tracker = PciTracker(
        Whitelist.from_config(
            [
                json.dumps(
                    {
                        "address": str(pf_addr(n)),
                        "physical_network": "physnet0",
                    }
                )
                for n in range(2)
            ]
        )
    )
    tracker.sync(host())
    return tracker


def test_pinned_vf_claim_takes_a_vf_of_that_pf_only() -> None:
    tracker = one_physnet()
    req = vf_req(count=2)
    devs = tracker.claim(A, [req], pinned={req.request_id: pf_addr(1)})
    assert [d.parent_addr for d in devs] == [pf_addr(1), pf_addr(1)]
    # Unpinned, the same request would prefer PF 0's VFs (first pool
    # group): the pin is what moved it.
    other = one_physnet().claim(A, [vf_req(count=2)])
    assert [d.parent_addr for d in other] == [pf_addr(0), pf_addr(0)]
    check_invariants(tracker)


def test_pinned_pf_claim_takes_that_pf() -> None:
    tracker = one_physnet()
    req = pf_req()
    (dev,) = tracker.claim(A, [req], pinned={req.request_id: pf_addr(1)})
    assert dev.address == pf_addr(1)
    assert tracker.get(pf_addr(0)).status is S.AVAILABLE
    check_invariants(tracker)


def test_pinned_claim_fails_when_that_pf_has_no_free_vf() -> None:
    tracker = one_physnet()
    full = vf_req(count=N_VFS)
    tracker.claim(A, [full], pinned={full.request_id: pf_addr(1)})
    req = vf_req()
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        tracker.claim(B, [req], pinned={req.request_id: pf_addr(1)})
    assert err.value.stage == "pinned PF"
    assert str(pf_addr(1)) in str(err.value)
    # PF 0 still has free VFs: the pin is not relaxed, nothing claimed.
    assert tracker.stats.support([vf_req(count=N_VFS)])
    check_invariants(tracker)


def test_pinned_claim_still_matches_the_spec() -> None:
    tracker = one_physnet()
    req = vf_req(physnet="physnet-other")
    with pytest.raises(exception.PciRequestUnsatisfiable):
        tracker.claim(A, [req], pinned={req.request_id: pf_addr(0)})
    check_invariants(tracker)
