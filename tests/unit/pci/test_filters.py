"""Pool filters: each stage, its reason and its message."""

from __future__ import annotations

import pytest

from sriovirt import exception
from sriovirt.pci import filters
from sriovirt.pci.device import DevType
from sriovirt.pci.pool import Pool, PoolKey
from sriovirt.pci.request import PciRequest
from sriovirt.pci.stats import PciStats


def key(
    physnet: str | None = "physnet1",
    dev_type: DevType = DevType.VF,
    numa: int | None = 0,
    product: str = "154c",
    **tags: str,
) -> PoolKey:
    return PoolKey(
        vendor_id="8086",
        product_id=product,
        numa_node=numa,
        dev_type=dev_type,
        physical_network=physnet,
        tags=tuple(sorted(tags.items())),
    )


def stats(*pools: tuple[PoolKey, int]) -> PciStats:
    return PciStats(Pool(k, n) for k, n in pools)


def fail(
    st: PciStats,
    spec: dict[str, object],
    count: int = 1,
    numa_cells: set[int] | None = None,
    policy: str | None = None,
) -> exception.PciRequestUnsatisfiable:
    req = PciRequest(count=count, spec=[spec], numa_policy=policy)
    assert not st.support([req], numa_cells)
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        st.apply([req], numa_cells)
    assert req.request_id in str(err.value)
    return err.value


def test_chain_order_and_names() -> None:
    assert [f.stage for f in filters.POOL_FILTERS] == [
        "spec",
        "device_type",
        "remote_managed",
        "trusted",
        "numa",
        "count",
    ]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (
            {"physical_network": "physnet9"},
            "no pool has physical_network=physnet9 (pools have physnet1, "
            "physnet2)",
        ),
        (
            {"physical_network": "physnet1", "dev_type": "type-PCI"},
            "no pool has dev_type=type-PCI (pools have type-VF)",
        ),
        (
            {"vendor_id": "15b3"},
            "no pool has vendor_id=15b3 (pools have 8086)",
        ),
        (
            {"physical_network": "physnet1", "product_id": "1572"},
            "no pool has product_id=1572 (pools have 154c)",
        ),
        (
            {"physical_network": "physnet1", "color": "red"},
            "no pool has color=red (no pool has it)",
        ),
    ],
)
def test_spec_stage_says_which_criterion(
    spec: dict[str, object], fragment: str
) -> None:
    st = stats((key(), 4), (key("physnet2"), 4))
    err = fail(st, spec)
    assert err.stage == "spec"
    assert fragment in str(err)


def test_spec_stage_explains_every_alternative() -> None:
    st = stats((key(), 1))
    req = PciRequest(
        spec=[{"physical_network": "a"}, {"physical_network": "b"}]
    )
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        st.apply([req])
    assert "physical_network=a" in str(err.value)
    assert "; or no pool has physical_network=b" in str(err.value)


def test_device_type_stage_keeps_pf_pools_for_pf_requests() -> None:
    st = stats((key(dev_type=DevType.PF), 1))
    err = fail(st, {"physical_network": "physnet1"})
    assert err.stage == "device_type"
    assert "PF pools serve only requests with dev_type=type-PF" in str(err)
    assert st.support(
        [
            PciRequest(
                spec=[{"physical_network": "physnet1", "dev_type": "type-PF"}]
            )
        ]
    )


def test_remote_managed_stage_both_ways() -> None:
    st = stats((key(remote_managed="true"), 1))
    err = fail(st, {"physical_network": "physnet1"})
    assert err.stage == "remote_managed"
    assert "only remote_managed=true pools match" in str(err)
    st = stats((key(remote_managed="false"), 1))
    err = fail(st, {"physical_network": "physnet1", "remote_managed": True})
    assert err.stage == "remote_managed"
    assert "no matching pool is remote_managed=true" in str(err)


def test_trusted_stage() -> None:
    st = stats((key(), 1), (key(trusted="false", numa=1), 1))
    err = fail(st, {"physical_network": "physnet1", "trusted": "true"})
    assert err.stage == "trusted"
    assert "needs trusted=true" in str(err)
    # Untrusted requests may use trusted pools.
    st = stats((key(trusted="true"), 1))
    assert st.support([PciRequest(spec=[{"physical_network": "physnet1"}])])


@pytest.mark.parametrize("policy", [None, "legacy", "required", "socket"])
def test_numa_stage(policy: str | None) -> None:
    st = stats((key(numa=1), 2))
    err = fail(
        st, {"physical_network": "physnet1"}, numa_cells={0}, policy=policy
    )
    assert err.stage == "numa"
    assert "NUMA node(s) 0" in str(err)
    assert "matching pools are on node(s) 1" in str(err)


def test_numa_policies() -> None:
    in_cell, far, unknown = key(numa=0), key(numa=1), key(numa=None)
    st = stats((far, 1), (unknown, 1))

    def ok(
        policy: str | None, cells: frozenset[int] | None = frozenset({0})
    ) -> bool:
        req = PciRequest(
            spec=[{"physical_network": "physnet1"}], numa_policy=policy
        )
        return st.support([req], cells)

    assert ok(None) and ok("legacy")  # unknown node is fine for legacy
    assert not ok("required") and not ok("socket")
    assert ok("preferred")
    assert ok("required", None)  # no NUMA topology: no filtering
    st = stats((far, 1), (in_cell, 1))
    req = PciRequest(
        spec=[{"physical_network": "physnet1"}], numa_policy="preferred"
    )
    (sel,) = st.select([req], {0})
    assert sel.takes == ((in_cell, 1),)  # in-cell first
    req2 = PciRequest(
        count=2,
        spec=[{"physical_network": "physnet1"}],
        numa_policy="preferred",
    )
    (sel,) = st.select([req2], {0})
    assert sel.takes == ((in_cell, 1), (far, 1))  # then falls back


def test_count_stage() -> None:
    st = stats((key(), 2), (key(numa=1), 1))
    err = fail(st, {"physical_network": "physnet1"}, count=4)
    assert err.stage == "count"
    assert "needs 4 device(s), 3 free in 2 matching pool(s)" in str(err)


def test_empty_host_is_a_count_failure() -> None:
    err = fail(PciStats(), {"physical_network": "physnet1"})
    assert err.stage == "count"
    assert "the host has no whitelisted PCI devices" in str(err)


def test_vf_after_its_own_pf_says_why() -> None:
    # The PF was free and is claimed; that makes its VFs unavailable, and
    # the message says so rather than "the host has no free PCI devices".
    err = _pf_and_vf_claim("pf")
    assert err.stage == "count"
    text = str(err)
    assert "no free PCI devices" not in text
    assert "VFs are unavailable while their PF is in use" in text


def test_joint_requests_see_earlier_takes() -> None:
    st = stats((key(), 1))
    reqs = [PciRequest(spec=[{"physical_network": "physnet1"}])] * 0 + [
        PciRequest(spec=[{"physical_network": "physnet1"}]),
        PciRequest(spec=[{"physical_network": "physnet1"}]),
    ]
    assert not st.support(reqs)
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        st.apply(reqs)
    assert reqs[1].request_id in str(err.value)
    assert "1 taken by earlier requests of this claim" in str(err.value)
    assert st.pools == (Pool(key(), 1),)  # nothing applied


def _pf_and_vf_claim(first: str) -> exception.PciRequestUnsatisfiable:
    from sriovirt.pci.tracker import PciTracker
    from tests.unit.pci.test_tracker import A, host, pf_req, vf_req, whitelist

    tracker = PciTracker(whitelist(n_pfs=1))
    tracker.sync(host(n_pfs=1))
    reqs = [vf_req(), pf_req()] if first == "vf" else [pf_req(), vf_req()]
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        tracker.claim(A, reqs)
    assert reqs[1].request_id in str(err.value)
    return err.value


def test_pf_after_its_own_vf_says_why() -> None:
    # The VF was free and is claimed; that makes its PF unavailable.
    err = _pf_and_vf_claim("vf")
    assert err.stage == "count"
    text = str(err)
    assert "0 free in 1 matching pool(s)" in text
    assert "a PF is unavailable while any of its VFs is in use" in text
    assert "a PF and its own VF cannot be claimed together" in text


def test_empty_vf_pool_says_why() -> None:
    st = stats((key(dev_type=DevType.VF), 0), (key(physnet="other"), 2))
    err = fail(st, {"physical_network": "physnet1"})
    assert err.stage == "count"
    assert "VFs are unavailable while their PF is in use" in str(err)


def test_vfs_taken_by_an_earlier_request_are_not_blamed_on_the_pf() -> None:
    # Two pools, the matching one emptied by the first request of the
    # same call: the message must allow for that, not only the PF rule.
    st = stats((key(), 1), (key(physnet="other"), 1))
    reqs = [
        PciRequest(spec=[{"physical_network": "physnet1"}]),
        PciRequest(spec=[{"physical_network": "physnet1"}]),
    ]
    with pytest.raises(exception.PciRequestUnsatisfiable) as err:
        st.apply(reqs)
    assert "1 taken by earlier requests of this claim" in str(err.value)
