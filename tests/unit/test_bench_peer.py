"""The Nova peer bench's sriovirt side: workload serialisation and ratios.

No Nova install needed: the expected device dicts are the shapes Nova 34's
``nova.virt.libvirt.host.Host._get_pcidev_info`` reports (see its own
``test_get_pcidev_info``), written out here; the runner itself is only
checked for not importing sriovirt.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from bench.nova_peer import driver
from bench.workload import (
    EXACT_ADDRESS,
    INDEX_FREE,
    PORTS_PER_NIC,
    VFS_PER_PF,
    WORKLOADS,
    build_device_spec,
    build_devices,
    build_index_free_spec,
)

#: Nova 34 ``_get_pcidev_info`` keys for a PF with a netdev / a netdev VF.
NOVA_PF_KEYS = {
    "dev_id",
    "address",
    "product_id",
    "vendor_id",
    "numa_node",
    "label",
    "dev_type",
    "mac_address",
}
NOVA_VF_KEYS = {
    "dev_id",
    "address",
    "product_id",
    "vendor_id",
    "numa_node",
    "label",
    "dev_type",
    "parent_addr",
    "parent_ifname",
    "capabilities",
}


@pytest.fixture(scope="module")
def serialised() -> list[dict[str, Any]]:
    return driver.serialise_devices(build_devices(2))


def test_keys_are_novas(serialised: list[dict[str, Any]]) -> None:
    assert driver.PF_KEYS == NOVA_PF_KEYS
    assert driver.VF_KEYS == NOVA_VF_KEYS
    pfs = [d for d in serialised if d["dev_type"] == "type-PF"]
    vfs = [d for d in serialised if d["dev_type"] == "type-VF"]
    assert len(pfs) == 2 * PORTS_PER_NIC
    assert len(vfs) == len(pfs) * VFS_PER_PF
    assert all(set(d) == NOVA_PF_KEYS for d in pfs)
    assert all(set(d) == NOVA_VF_KEYS for d in vfs)


def test_values_have_novas_formats(serialised: list[dict[str, Any]]) -> None:
    pf, vf = serialised[0], serialised[1]
    assert pf == {
        "dev_id": "pci_0000_10_00_0",
        "address": "0000:10:00.0",
        "product_id": "1572",
        "vendor_id": "8086",
        "numa_node": 0,
        "label": "label_8086_1572",
        "dev_type": "type-PF",
        "mac_address": "52:54:00:00:00:01",
    }
    assert vf == {
        "dev_id": "pci_0000_10_02_0",
        "address": "0000:10:02.0",
        "product_id": "154c",
        "vendor_id": "8086",
        "numa_node": 0,
        "label": "label_8086_154c",
        "dev_type": "type-VF",
        "parent_addr": "0000:10:00.0",
        "parent_ifname": "ens1f0",
        "capabilities": {
            "network": list(driver.VF_NET_FEATURES),
            "sriov": {"pf_mac_address": "52:54:00:00:00:01", "vf_num": 0},
        },
    }
    # VFs are numbered per PF; each PF has its own MAC.
    last_vf_of_first_pf = serialised[VFS_PER_PF]
    assert last_vf_of_first_pf["capabilities"]["sriov"]["vf_num"] == (
        VFS_PER_PF - 1
    )
    second_pf = serialised[VFS_PER_PF + 1]
    assert second_pf["dev_type"] == "type-PF"
    assert second_pf["mac_address"] != pf["mac_address"]
    # What the runner gets goes through JSON unchanged.
    assert json.loads(json.dumps(serialised)) == serialised


def test_payload_carries_sizes_and_both_workloads() -> None:
    payload = driver.build_payload([2], repeats=3, budget_s=10.0, hosts=7)
    assert payload["timed_sizes"] == ["2"]
    assert payload["workloads"] == list(WORKLOADS)
    # The scheduling host (8 NICs) travels too, untimed, with the
    # exact-address spec bench_tracker's scheduling uses.
    assert set(payload["sizes"]) == {"2", str(driver.SCHED_NICS)}
    devices = build_devices(2)
    two = payload["sizes"]["2"]
    assert len(two["devices"]) == 516
    assert two["device_spec"] == {
        EXACT_ADDRESS: build_device_spec(devices),
        INDEX_FREE: build_index_free_spec(devices),
    }
    assert two["expected_matches"] == {EXACT_ADDRESS: 516, INDEX_FREE: 512}
    sched = payload["sizes"][str(driver.SCHED_NICS)]
    assert set(sched["device_spec"]) == {EXACT_ADDRESS}
    assert payload["scheduling"] == {
        "size": "8",
        "hosts": 7,
        "physical_network": driver.SCHED_PHYSNET,
    }
    assert (payload["repeats"], payload["budget_s"]) == (3, 10.0)


def test_payload_of_one_workload() -> None:
    payload = driver.build_payload([8], workloads=[INDEX_FREE], hosts=1)
    assert payload["workloads"] == [INDEX_FREE]
    assert set(payload["sizes"]["8"]["device_spec"]) == {INDEX_FREE}


def _tracker_size(full: float, steady: float, pools: float) -> dict[str, Any]:
    return {
        "full_sync_ms": full,
        "steady_sync_ms": steady,
        "pools_ms": pools,
        "pools_json_ms": pools / 10,
        "rebuilt_pools": 8,
    }


def _sriovirt_report() -> dict[str, Any]:
    return {
        "bench_match": {
            "workloads": {
                EXACT_ADDRESS: {
                    "2": {"total_ms": 0.5},
                    "8": {"total_ms": 2.0},
                },
                INDEX_FREE: {"2": {"total_ms": 2.0}},
            }
        },
        "bench_tracker": {
            "workloads": {
                EXACT_ADDRESS: {
                    "2": _tracker_size(2.0, 0.5, 0.2),
                    "8": _tracker_size(8.0, 0.0, 0.5),
                },
                INDEX_FREE: {"2": _tracker_size(4.0, 1.0, 0.4)},
            },
            "scheduling": {"support_us_per_host": 1.25},
        },
    }


def _nova_size(match: float, full: float, steady: float) -> dict[str, Any]:
    return {
        "match_ms": match,
        "full_sync_ms": full,
        "steady_sync_ms": steady,
        "pools_ms": 40.0,
        "pools_json_ms": 20.0,
        "pools": 8,
    }


def test_ratios_are_nova_over_sriovirt_per_workload() -> None:
    nova = {
        "workloads": {
            EXACT_ADDRESS: {
                "2": _nova_size(6.0, 50.0, 100.0),
                # Budget cut this size after matching: the rest is missing.
                "8": {"match_ms": 80.0},
            },
            INDEX_FREE: {"2": _nova_size(5.0, 48.0, 96.0)},
        },
        "scheduling": {"support_us_per_host": 150.0},
    }
    ratios = driver.compute_ratios(_sriovirt_report(), nova)
    assert ratios == {
        "workloads": {
            EXACT_ADDRESS: {
                "2": {
                    "match": 12.0,
                    "full_sync": 25.0,
                    "steady_sync": 200.0,
                    "pools": 200.0,
                    "pools_json": 1000.0,
                },
                "8": {
                    "match": 40.0,
                    "full_sync": None,
                    "steady_sync": None,
                    "pools": None,
                    "pools_json": None,
                },
            },
            INDEX_FREE: {
                "2": {
                    "match": 2.5,
                    "full_sync": 12.0,
                    "steady_sync": 96.0,
                    "pools": 100.0,
                    "pools_json": 500.0,
                }
            },
        },
        "scheduling_per_host": 120.0,
        "pci_filter": {},
    }


def test_pci_filter_ratios_per_host_count_hit_and_miss() -> None:
    report = {
        "bench_scheduler": {
            "pci_filter": {
                "1000": {"filter_hit_ms": 2.0, "filter_miss_ms": 4.0},
                "10000": {"filter_hit_ms": 20.0, "filter_miss_ms": 0.0},
            }
        }
    }
    nova = {
        "pci_filter": {
            "1000": {"filter_hit_ms": 300.0, "filter_miss_ms": 100.0},
            # The budget cut Nova's 10,000 hosts: no ratio, no guess.
        }
    }
    assert driver.compute_ratios(report, nova)["pci_filter"] == {
        "1000": {"hit": 150.0, "miss": 25.0},
        "10000": {"hit": None, "miss": None},
    }


def test_payload_asks_for_the_pci_filter_figure() -> None:
    payload = driver.build_payload([2], hosts=1, filter_hosts=(10, 20))
    assert payload["pci_filter"] == {
        "size": str(driver.SCHED_NICS),
        "hosts": [10, 20],
        "hit": "physnet2",
        "miss": "physnet9",
    }


def test_pool_ratios_need_the_same_pool_count() -> None:
    nova = {"workloads": {EXACT_ADDRESS: {"2": _nova_size(6.0, 50.0, 1.0)}}}
    nova["workloads"][EXACT_ADDRESS]["2"]["pools"] = 32
    ratios = driver.compute_ratios(_sriovirt_report(), nova)
    two = ratios["workloads"][EXACT_ADDRESS]["2"]
    assert two["pools"] is None
    assert two["pools_json"] is None
    assert two["match"] == 12.0


def test_ratios_without_sriovirt_figures_are_none() -> None:
    nova = {
        "workloads": {
            EXACT_ADDRESS: {"32": {"match_ms": 1000.0, "steady_sync_ms": 5.0}}
        },
        "scheduling": {"support_us_per_host": 150.0},
    }
    report = _sriovirt_report()
    tracker = report["bench_tracker"]["workloads"][EXACT_ADDRESS]
    tracker["32"] = {"steady_sync_ms": 0.0}
    ratios = driver.compute_ratios(report, nova)["workloads"][EXACT_ADDRESS]
    # No sriovirt size 32 in bench_match; a zero time gives no ratio.
    assert ratios["32"]["match"] is None
    assert ratios["32"]["steady_sync"] is None
    assert driver.compute_ratios({}, nova)["scheduling_per_host"] is None
    # A workload Nova did not run has no ratios at all.
    assert INDEX_FREE not in driver.compute_ratios(report, nova)["workloads"]


def test_ratio() -> None:
    assert driver.ratio(30.0, 2.0) == 15.0
    assert driver.ratio(1.0, 3.0) == 0.3
    assert driver.ratio(None, 2.0) is None
    assert driver.ratio(3.0, 0) is None
    assert driver.ratio("3", 1.0) is None


def test_runner_never_imports_sriovirt() -> None:
    tree = ast.parse(Path(driver.RUNNER).read_text())
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    tops = {name.partition(".")[0] for name in modules}
    assert "sriovirt" not in tops
    assert "bench" not in tops
    assert "nova" in tops


def test_offline_pip_failure_is_one_clear_line() -> None:
    stderr = (
        "WARNING: Retrying ... NewConnectionError(...): /simple/nova/\n"
        "ERROR: Could not find a version that satisfies the requirement "
        "nova==34.0.0\n"
        "ERROR: No matching distribution found for nova==34.0.0\n"
    )
    reason = driver._pip_reason(stderr)
    assert reason == "the package index is unreachable (no network?)"
    stale = driver._pip_reason(
        "ERROR: No matching distribution found for oslo.db==99.0\n"
    )
    assert stale.startswith("a pinned package is not on the package index")
    assert "oslo.db==99.0" in stale
    assert "\n" not in stale
    other = driver._pip_reason("ERROR: disk full\nmore\n")
    assert other == "ERROR: disk full"
