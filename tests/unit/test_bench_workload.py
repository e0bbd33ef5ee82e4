"""The bench workloads: exact-address and index-free device_spec values.

Fast: the index-free generator's entries per bus, its two entries that
match nothing, and that its glob addresses select exactly each bus's
devices through sriovirt's own :class:`Whitelist`; the sriovirt benches'
report shapes at the smallest size.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bench import bench_match, bench_tracker
from bench.workload import (
    EXACT_ADDRESS,
    INDEX_FREE,
    PF_PRODUCT_ID,
    VENDOR_ID,
    VF_PRODUCT_ID,
    WORKLOADS,
    build_device_spec,
    build_devices,
    build_index_free_spec,
    bus_glob,
    device_spec,
    expected_matches,
)

from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist


def _pfs(devices: list[HostPciDevice]) -> list[HostPciDevice]:
    return [dev for dev in devices if dev.dev_type is DevType.PF]


@pytest.mark.parametrize(
    ("nics", "count"), [(2, 516), (8, 2_064), (32, 8_256)]
)
def test_both_workloads_share_the_devices(nics: int, count: int) -> None:
    devices = build_devices(nics)
    assert len(devices) == count
    exact = Whitelist.from_config(device_spec(EXACT_ADDRESS, devices))
    free = Whitelist.from_config(device_spec(INDEX_FREE, devices))
    # One entry per PF (= per bus), plus the two that match nothing.
    assert len(exact.entries) == len(free.entries) == 2 * nics + 2
    assert expected_matches(EXACT_ADDRESS, devices) == count
    assert expected_matches(INDEX_FREE, devices) == count - 2 * nics


def test_index_free_entries_one_per_bus() -> None:
    devices = build_devices(8)
    values = build_index_free_spec(devices)
    misses, *per_bus = (json.loads(value) for value in values)
    pfs = _pfs(devices)
    assert len(per_bus) == len(pfs) == 16
    for index, (entry, pf) in enumerate(zip(per_bus, pfs, strict=True)):
        assert entry == {
            "vendor_id": VENDOR_ID,
            "product_id": VF_PRODUCT_ID,
            "address": f"*:{pf.address.bus:02x}:*.*",
            "physical_network": f"physnet{index % 4}",
        }
    # The two misses come first, as one list value.
    assert isinstance(misses, list)
    assert len(misses) == 2


def test_index_free_has_no_exact_address() -> None:
    devices = build_devices(2)
    whitelist = Whitelist.from_config(build_index_free_spec(devices))
    assert all(spec.exact_address is None for spec in whitelist.entries)
    assert all(spec.devname is None for spec in whitelist.entries)


def test_the_two_extra_entries_match_nothing() -> None:
    devices = build_devices(8)
    misses = json.loads(build_index_free_spec(devices)[0])
    for entry in misses:
        whitelist = Whitelist.from_config([json.dumps(entry)])
        assert not any(whitelist.match(dev) for dev in devices), entry
    # One of them has the VFs' own ids: only its bus rejects the VFs.
    assert any(
        (m["vendor_id"], m["product_id"]) == (VENDOR_ID, VF_PRODUCT_ID)
        for m in misses
    )


def test_glob_address_selects_exactly_the_bus() -> None:
    devices = build_devices(8)
    per_bus = [json.loads(v) for v in build_index_free_spec(devices)[1:]]
    for entry, pf in zip(per_bus, _pfs(devices), strict=True):
        on_bus = {
            d.address for d in devices if d.address.bus == pf.address.bus
        }
        assert len(on_bus) == 129
        # The glob address alone: the PF and every VF on its bus.
        glob_only = {"address": entry["address"], "physical_network": "p"}
        whitelist = Whitelist.from_config([json.dumps(glob_only)])
        selected = {d.address for d in devices if whitelist.match(d)}
        assert selected == on_bus
        # The whole entry: the bus's VFs (it names the VF product).
        whitelist = Whitelist.from_config([json.dumps(entry)])
        selected = {d.address for d in devices if whitelist.match(d)}
        vfs = {d.address for d in devices if d.parent_addr == pf.address}
        assert selected == vfs
        assert len(vfs) == 128


def test_index_free_whitelist_selects_the_vfs_with_their_bus_physnet() -> None:
    devices = build_devices(2)
    whitelist = Whitelist.from_config(build_index_free_spec(devices))
    pfs = [pf.address for pf in _pfs(devices)]
    for dev in devices:
        spec = whitelist.match(dev)
        if dev.dev_type is DevType.PF:
            assert dev.product_id == PF_PRODUCT_ID
            assert spec is None
            continue
        assert spec is not None
        assert dev.parent_addr is not None
        index = pfs.index(dev.parent_addr)
        assert spec.physical_network == f"physnet{index % 4}"


def test_bus_glob_names_the_domain_past_domain_zero() -> None:
    assert bus_glob(PciAddress(0, 0x10, 0, 0)) == "*:10:*.*"
    assert bus_glob(PciAddress(1, 0x10, 0, 0)) == "0001:10:*.*"


def test_device_spec_by_name() -> None:
    devices = build_devices(2)
    assert device_spec(EXACT_ADDRESS, devices) == build_device_spec(devices)
    assert device_spec(INDEX_FREE, devices) == build_index_free_spec(devices)
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        device_spec("nope", devices)
    with pytest.raises(ValueError, match="unknown workload"):
        expected_matches("nope", devices)


def test_bench_match_reports_both_workloads() -> None:
    report: Any = bench_match.run(sizes=(2,), repeats=1)
    assert list(report["workloads"]) == list(WORKLOADS)
    exact = report["workloads"][EXACT_ADDRESS]["2"]
    free = report["workloads"][INDEX_FREE]["2"]
    assert (exact["devices"], exact["matched"]) == (516, 516)
    assert (free["devices"], free["matched"]) == (516, 512)
    assert free["match_ns_per_device"] > 0
    assert free["total_ms"] >= free["match_ms"]


def test_rebuild_pools_has_novas_granularity() -> None:
    devices = build_devices(8)
    for workload, pools in ((EXACT_ADDRESS, 32), (INDEX_FREE, 16)):
        tracker = PciTracker(
            Whitelist.from_config(device_spec(workload, devices))
        )
        tracker.sync(devices)
        rebuilt = bench_tracker.rebuild_pools(tracker.devices)
        # One pool per PF (PFs) and per PF's VFs, as Nova 34 splits them:
        # 16 PF + 16 VF pools on 8 NICs; the tracker keeps fewer.
        assert len(rebuilt.pools) == pools
        assert len(tracker.stats.pools) < pools
        assert rebuilt.total() == tracker.stats.total() == len(tracker.devices)


def test_every_timed_sync_gets_a_new_inventory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[HostPciDevice]] = []

    class Recording(PciTracker):
        def sync(self, devices: Any) -> Any:
            seen.append(devices)
            return super().sync(devices)

    monkeypatch.setattr(bench_tracker, "PciTracker", Recording)
    monkeypatch.setattr(bench_tracker, "REPEAT", 2)
    figures = bench_tracker._size(INDEX_FREE, 2)
    assert figures["tracked"] == 512
    assert figures["pools"] == figures["rebuilt_pools"] == 4
    # Full syncs, steady syncs and the final check: no two share objects
    # (equal values, new objects, as a new inventory has).
    assert len(seen) == 5
    firsts = [devices[0] for devices in seen]
    assert len({id(dev) for dev in firsts}) == len(seen)
    assert all(dev == firsts[0] for dev in firsts)
