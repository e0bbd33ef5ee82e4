"""Which VF a claim takes: VFs of PFs already not free, whole PFs kept.

The policy (:mod:`sriovirt.pci.free`, the tracker's claim loop): a VF is
taken from a PF that is already partly used (or not tracked) before a
whole free PF is broken into, across pools too.  Nova picks an arbitrary
free VF, which can leave no whole PF for a later ``direct-physical``
port although one could have been kept.

The properties hold the policy against every possible choice, computed
here independently by brute force, and against the tracker's PF/VF
invariants (``check_invariants`` of ``test_tracker.py``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DeviceStatus, DevType, HostPciDevice
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist
from tests.unit.pci.test_tracker import (
    A,
    B,
    check_invariants,
    pf_addr,
    pf_req,
    vf_addr,
    vf_req,
)

PHYSNETS = ("physnet0", "physnet1")


@dataclass(frozen=True)
class Pf:
    """One PF of a generated host."""

    physnet: str
    numa: int
    vfs: int


def _devices(pfs: Sequence[Pf]) -> list[HostPciDevice]:
    out: list[HostPciDevice] = []
    for n, pf in enumerate(pfs):
        out.append(
            HostPciDevice(
                address=pf_addr(n),
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=pf.numa,
            )
        )
        out.extend(
            HostPciDevice(
                address=vf_addr(n, i),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=pf_addr(n),
                numa_node=pf.numa,
            )
            for i in range(pf.vfs)
        )
    return out


def _tracker(pfs: Sequence[Pf], pf_entries: bool = True) -> PciTracker:
    """A tracker of ``pfs``; each PF's entry matches it and its VFs."""
    entries = [
        json.dumps(
            {"address": str(pf_addr(n)), "physical_network": pf.physnet}
        )
        for n, pf in enumerate(pfs)
    ]
    tracker = PciTracker(Whitelist.from_config(entries))
    tracker.sync(_devices(pfs))
    return tracker


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _owner_pf(tracker: PciTracker, uuid: str) -> set[PciAddress | None]:
    return {d.parent_addr for d in tracker.devices_of(uuid)}


# --- examples -------------------------------------------------------------


def test_vfs_fill_a_partly_used_pf_before_breaking_into_another() -> None:
    tracker = _tracker([Pf("physnet0", 0, 4)] * 3)
    for n in range(4):
        tracker.claim(_uuid(n), [vf_req()])
    assert {d.parent_addr for d in tracker.devices if d.in_use} == {pf_addr(0)}
    # Two whole PFs are left for direct-physical ports.
    tracker.claim(A, [pf_req()])
    tracker.claim(B, [pf_req()])
    check_invariants(tracker)


def test_a_freed_vf_is_reused_before_a_whole_pf() -> None:
    tracker = _tracker([Pf("physnet0", 0, 2)] * 2)
    tracker.claim(A, [vf_req()])
    tracker.claim(B, [vf_req()])
    tracker.free(A)
    # First fit in insertion order would now take PF 1's first VF.
    tracker.claim(_uuid(1), [vf_req()])
    assert _owner_pf(tracker, _uuid(1)) == {pf_addr(0)}
    assert tracker.get(pf_addr(1)).status is DeviceStatus.AVAILABLE


def test_partly_used_pf_in_another_pool_is_preferred() -> None:
    # The PFs' VFs are in two pools (NUMA 0 and 1); the NUMA 0 pool
    # sorts first, but PF 1 (NUMA 1) is already partly used.
    tracker = _tracker([Pf("physnet0", 0, 2), Pf("physnet0", 1, 2)])
    tracker.claim(A, [vf_req()], numa_cells=[1])
    assert _owner_pf(tracker, A) == {pf_addr(1)}
    tracker.claim(B, [vf_req(count=1)])
    assert _owner_pf(tracker, B) == {pf_addr(1)}
    assert tracker.get(pf_addr(0)).status is DeviceStatus.AVAILABLE


def test_vfs_of_an_untracked_pf_are_taken_first() -> None:
    # PF 0 itself is not whitelisted (only its VFs, by product id and
    # address), so taking its VFs costs no direct-physical port.
    entries = [
        json.dumps(
            {"address": str(pf_addr(1)), "physical_network": "physnet0"}
        ),
        json.dumps(
            {
                "vendor_id": "8086",
                "product_id": "154c",
                "address": "0000:10:02.*",
                "physical_network": "physnet0",
            }
        ),
    ]
    tracker = PciTracker(Whitelist.from_config(entries))
    tracker.sync(_devices([Pf("physnet0", 0, 2)] * 2))
    # Both VF sets are one pool; PF 1's VFs come first in it.
    tracker.claim(A, [vf_req(count=2)])
    assert _owner_pf(tracker, A) == {pf_addr(0)}
    assert tracker.get(pf_addr(1)).status is DeviceStatus.AVAILABLE


def test_a_multi_vf_request_stays_on_one_pf() -> None:
    tracker = _tracker([Pf("physnet0", 0, 3)] * 2)
    tracker.claim(A, [vf_req(count=3)])
    assert _owner_pf(tracker, A) == {pf_addr(0)}
    with pytest.raises(exception.PciRequestUnsatisfiable, match="physnet0"):
        tracker.claim(B, [vf_req(count=4)])
    check_invariants(tracker)


# --- properties -----------------------------------------------------------


@st.composite
def hosts(draw: st.DrawFn) -> list[Pf]:
    """1-5 PFs with the same VF count (as ``sriov_numvfs`` is set per
    NIC), on random physical networks and NUMA nodes."""
    vfs = draw(st.integers(1, 4))
    return draw(
        st.lists(
            st.builds(
                Pf,
                physnet=st.sampled_from(PHYSNETS),
                numa=st.integers(0, 1),
                vfs=st.just(vfs),
            ),
            min_size=1,
            max_size=5,
        )
    )


def _best_whole_pfs(pfs: Sequence[Pf], physnet: str, vfs_needed: int) -> int:
    """The most PFs of ``physnet`` any choice of ``vfs_needed`` VFs
    leaves whole (brute force over the sets of PFs to take VFs from);
    -1 when no choice serves the VFs."""
    mine = [pf for pf in pfs if pf.physnet == physnet]
    best = -1
    for size in range(len(mine) + 1):
        for used in itertools.combinations(mine, size):
            if sum(pf.vfs for pf in used) >= vfs_needed:
                best = max(best, len(mine) - size)
    return best


@given(
    pfs=hosts(),
    vf_asks=st.lists(
        st.tuples(st.sampled_from(PHYSNETS), st.integers(1, 2)), max_size=8
    ),
)
def test_policy_leaves_as_many_whole_pfs_as_any_choice(
    pfs: list[Pf], vf_asks: list[tuple[str, int]]
) -> None:
    tracker = _tracker(pfs)
    for n, (physnet, count) in enumerate(vf_asks):
        served = sum(c for p, c in vf_asks[: n + 1] if p == physnet)
        best = _best_whole_pfs(pfs, physnet, served)
        if best < 0:
            # No choice at all serves this request: ours must say no.
            with pytest.raises(exception.PciRequestUnsatisfiable):
                tracker.claim(_uuid(n), [vf_req(physnet, count)])
            return
        tracker.claim(_uuid(n), [vf_req(physnet, count)])
    check_invariants(tracker)
    for physnet in PHYSNETS:
        served = sum(c for p, c in vf_asks if p == physnet)
        best = _best_whole_pfs(pfs, physnet, served)
        whole = sum(
            1
            for d in tracker.devices
            if d.dev_type is DevType.PF
            and d.physical_network == physnet
            and d.status is DeviceStatus.AVAILABLE
        )
        # Every PF request a choice could still serve, ours serves.
        assert whole == best


@given(
    pfs=hosts(),
    ops=st.lists(
        st.one_of(
            st.tuples(
                st.just("vf"),
                st.sampled_from(PHYSNETS),
                st.integers(1, 3),
            ),
            st.tuples(st.just("pf"), st.sampled_from(PHYSNETS), st.just(1)),
            st.tuples(st.just("free"), st.just(""), st.integers(0, 9)),
            st.tuples(st.just("alloc"), st.just(""), st.integers(0, 9)),
        ),
        max_size=14,
    ),
)
def test_policy_never_double_assigns_or_breaks_pf_vf_rules(
    pfs: list[Pf], ops: list[tuple[str, str, int]]
) -> None:
    tracker = _tracker(pfs)
    for n, (op, physnet, arg) in enumerate(ops):
        if op in ("vf", "pf"):
            req = vf_req(physnet, arg) if op == "vf" else pf_req(physnet)
            support = tracker.stats.support([req])
            try:
                got = tracker.claim(_uuid(n), [req])
            except exception.PciRequestUnsatisfiable:
                assert not support
            else:
                assert len(got) == arg
        elif op == "free":
            tracker.free(_uuid(arg))
        else:
            tracker.allocate(_uuid(arg))
        check_invariants(tracker)
    owners = [d.address for d in tracker.devices if d.in_use]
    assert len(owners) == len(set(owners))
