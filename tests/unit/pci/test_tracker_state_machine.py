"""Random sync/claim/allocate/free/restart sequences against the tracker.

Invariants after every step: no device is assigned to two instances,
the PF/VF rules hold, pool counts equal the free devices, a failed claim
changes nothing, and a restart from records rebuilds the same state.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from sriovirt import exception
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.pci.tracker import PciTracker
from tests.unit.pci.test_tracker import check_invariants, host, whitelist

INSTANCES = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(4)]
ALL = host(n_pfs=2, n_vfs=3)
WHITELISTS = [whitelist(2), whitelist(1), whitelist(2, trusted="true")]

SPECS = [
    [{"physical_network": "physnet0"}],
    [{"physical_network": "physnet1"}],
    [{"physical_network": "physnet0", "dev_type": "type-PF"}],
    [{"dev_type": "type-PF"}],
    [{"vendor_id": "10de"}],
    [{"physical_network": "physnet1"}, {"dev_type": "type-PF"}],
    [{"physical_network": "physnet0", "trusted": "true"}],
]
requests = st.builds(
    lambda count, spec: PciRequest(count=count, spec=spec),
    st.integers(1, 3),
    st.sampled_from(SPECS),
)


class TrackerMachine(RuleBasedStateMachine):
    tracker: PciTracker
    inventory: list[HostPciDevice]
    wl_index: int

    @initialize(wl=st.integers(0, len(WHITELISTS) - 1))
    def start(self, wl: int) -> None:
        self.wl_index = wl
        self.tracker = PciTracker(WHITELISTS[wl])
        self.inventory = list(ALL)
        self.tracker.sync(self.inventory)

    @rule(keep=st.lists(st.booleans(), min_size=len(ALL), max_size=len(ALL)))
    def sync_subset(self, keep: list[bool]) -> None:
        self.inventory = [d for d, k in zip(ALL, keep, strict=True) if k]
        self.tracker.sync(self.inventory)
        assert not self.tracker.sync(self.inventory).changed

    @rule(wl=st.integers(0, len(WHITELISTS) - 1))
    def change_whitelist(self, wl: int) -> None:
        self.wl_index = wl
        self.tracker.set_whitelist(WHITELISTS[wl])
        self.tracker.sync(self.inventory)

    @rule(
        inst=st.sampled_from(INSTANCES),
        reqs=st.lists(requests, min_size=1, max_size=2),
    )
    def claim(self, inst: str, reqs: list[PciRequest]) -> None:
        before = self.tracker.records()
        stats = self.tracker.stats
        try:
            devs = self.tracker.claim(inst, reqs)
        except exception.PciRequestUnsatisfiable:
            assert self.tracker.records() == before
            assert self.tracker.stats == stats
            return
        assert len(devs) == sum(r.count for r in reqs)
        assert all(d.instance_uuid == inst for d in devs)

    @rule(inst=st.sampled_from(INSTANCES))
    def allocate(self, inst: str) -> None:
        self.tracker.allocate(inst)

    @rule(inst=st.sampled_from(INSTANCES))
    def free(self, inst: str) -> None:
        self.tracker.free(inst)
        assert inst not in self.tracker.instances

    @rule(keep=st.sets(st.sampled_from(INSTANCES)))
    def release(self, keep: set[str]) -> None:
        self.tracker.release_claims_except(keep)

    @rule()
    def restart(self) -> None:
        fresh = PciTracker(WHITELISTS[self.wl_index])
        result = fresh.restore(self.tracker.records(), self.inventory)
        assert not result.conflicts

        def by_addr(t: PciTracker) -> list[object]:
            return sorted(t.records(), key=lambda r: r.address)

        assert by_addr(fresh) == by_addr(self.tracker)
        assert fresh.stats == self.tracker.stats
        pending = {
            d.address for d in self.tracker.devices if d.pending_removal
        }
        assert {
            d.address for d in fresh.devices if d.pending_removal
        } == pending
        self.tracker = fresh

    @invariant()
    def consistent(self) -> None:
        check_invariants(self.tracker)

    @invariant()
    def pending_only_when_gone(self) -> None:
        present = {d.address for d in self.inventory}
        wl = WHITELISTS[self.wl_index]
        for dev in self.tracker.devices:
            if dev.pending_removal:
                assert dev.in_use
            else:
                assert dev.address in present
                assert wl.match(dev.host) is not None


TrackerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
TestTracker = TrackerMachine.TestCase
