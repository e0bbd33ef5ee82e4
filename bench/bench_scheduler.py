"""Scheduler bench: the PCI passthrough host filter over many hosts.

Every host has the pools of the 8-NIC exact-address workload host (the
``compute_nodes.pci_stats`` JSON its tracker writes: 8 VF pools on
physnet0-3), as the scheduler reads them from the database.  For 1,000
and 10,000 hosts (:data:`HOSTS`):

``load_ms``
  :func:`~sriovirt.scheduler.host_state.load_host_pools` of every host's
  row (JSON -> ``PciStats``), then the host states;
``filter_hit_ms``
  :class:`~sriovirt.scheduler.filters.PciPassthroughFilter` for one
  ``direct`` port on physnet2: every host kept;
``filter_miss_ms``
  the same for a port on physnet9, which no host has: every host
  removed, each with its reason;
``select_hit_ms``
  the whole :func:`~sriovirt.scheduler.selection.select_hosts` of the
  hit request (group Placement's candidates by host, filter, weigh by
  free VFs, sort);
``decision_ms``
  sriovirt's whole share of one decision: Placement's answer (decoded
  JSON of one candidate per host, a root and a PF child) to values,
  every host's pools loaded, ``select_hosts`` (Placement's and the
  database's own time excluded);
``decision_warm_ms``
  the same with a :class:`~sriovirt.scheduler.host_state.PoolsCache`
  that has seen every host's pools (a long-lived scheduler whose hosts'
  pools did not change since its last decision: nothing is parsed);
and ``*_us_per_host``.  ``--peer nova`` times Nova 34's
``PciDeviceStats.support_requests`` of the same request over the same
number of hosts built from the same host's pools (the runner's
``pci_filter``); the ratios are Nova / sriovirt per figure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from bench.timing import best_ms
from bench.workload import build_device_spec, build_devices
from sriovirt.network.values import PortRequest, VnicType
from sriovirt.pci.device import DevType
from sriovirt.pci.tracker import PciTracker
from sriovirt.pci.whitelist import Whitelist
from sriovirt.scheduler import filters, host_state, selection
from sriovirt.scheduler.placement_query import allocation_candidates_query
from sriovirt.scheduler.request_spec import RequestSpec, build_request_spec

#: Host counts of the bench (and of Nova's side with ``--peer nova``).
HOSTS = (1_000, 10_000)
#: The NIC count of every host's pools (bench_tracker's scheduling host).
NICS = 8
HIT_PHYSNET = "physnet2"
MISS_PHYSNET = "physnet9"
REPEAT = 5


def pools_json(nics: int = NICS) -> str:
    """One host's ``compute_nodes.pci_stats`` JSON, from its tracker."""
    devices = build_devices(nics)
    tracker = PciTracker(Whitelist.from_config(build_device_spec(devices)))
    tracker.sync(devices)
    return tracker.stats.to_json()


def port_spec(physnet: str) -> RequestSpec:
    """A boot with one ``direct`` port on ``physnet``."""
    return build_request_spec(
        vcpus=1,
        memory_mb=64,
        ports=[
            PortRequest(
                port_id="port-1",
                network_id="net-1",
                vnic_type=VnicType.DIRECT,
                physical_network=physnet,
                dev_type=DevType.VF,
            )
        ],
    )


def placement_body(uuids: list[str]) -> dict[str, object]:
    """What Placement answers for one port group: per host a root and a
    PF child, ``mappings`` ``{"": [root], "_PORT1": [pf]}``."""
    requests = []
    summaries: dict[str, object] = {}
    for root in uuids:
        pf = f"{root}-pf2"
        requests.append(
            {
                "allocations": {
                    root: {"resources": {"VCPU": 1, "MEMORY_MB": 64}},
                    pf: {"resources": {"SRIOV_NET_VF": 1}},
                },
                "mappings": {"": [root], "_PORT1": [pf]},
            }
        )
        summaries[root] = {"root_provider_uuid": root}
        summaries[pf] = {"root_provider_uuid": root}
    return {"allocation_requests": requests, "provider_summaries": summaries}


def _hosts(n: int, text: str) -> dict[str, object]:
    uuids = [str(uuid.UUID(int=i + 1)) for i in range(n)]
    rows = {u: (f"host{i}", text) for i, u in enumerate(uuids)}
    cands = [host_state.AllocationCandidate(u) for u in uuids]
    load_ms = best_ms(lambda: host_state.load_host_pools(rows), REPEAT)
    pools = host_state.load_host_pools(rows)
    states = host_state.host_states(host_state.group_candidates(cands), pools)
    hit, miss = port_spec(HIT_PHYSNET), port_spec(MISS_PHYSNET)
    pci = filters.PciPassthroughFilter()
    assert len(pci.filter_hosts(hit, states).kept) == n
    assert len(pci.filter_hosts(miss, states).removed) == n
    hit_ms = best_ms(lambda: pci.filter_hosts(hit, states), REPEAT)
    miss_ms = best_ms(lambda: pci.filter_hosts(miss, states), REPEAT)
    query = allocation_candidates_query(hit)

    def select() -> object:
        return selection.select_hosts(hit, cands, pools, query=query)

    select_ms = best_ms(select, REPEAT)
    body = placement_body(uuids)

    def decision() -> object:
        # Our whole share of one decision: Placement's answer (already
        # decoded JSON) to values, every host's pools, select_hosts.
        found = host_state.candidates_from_response(body)
        loaded = host_state.load_host_pools(rows)
        return selection.select_hosts(hit, found, loaded, query=query)

    decision_ms = best_ms(decision, REPEAT)
    cache = host_state.PoolsCache()
    # Equal but new texts, as the next query returns them.
    fresh_rows = {u: (h, "".join(t or "")) for u, (h, t) in rows.items()}

    def warm_decision() -> object:
        found = host_state.candidates_from_response(body)
        loaded = host_state.load_host_pools(fresh_rows, cache)
        return selection.select_hosts(hit, found, loaded, query=query)

    warm_decision()
    warm_ms = best_ms(warm_decision, REPEAT)
    return {
        "hosts": n,
        "pools_per_host": len(next(iter(pools.values())).stats.pools),  # type: ignore[union-attr]
        "load_ms": round(load_ms, 2),
        "filter_hit_ms": round(hit_ms, 3),
        "filter_miss_ms": round(miss_ms, 3),
        "select_hit_ms": round(select_ms, 3),
        "decision_ms": round(decision_ms, 2),
        "decision_warm_ms": round(warm_ms, 2),
        "load_us_per_host": round(load_ms * 1e3 / n, 3),
        "filter_hit_us_per_host": round(hit_ms * 1e3 / n, 3),
        "filter_miss_us_per_host": round(miss_ms * 1e3 / n, 3),
        "select_hit_us_per_host": round(select_ms * 1e3 / n, 3),
        "decision_us_per_host": round(decision_ms * 1e3 / n, 3),
        "decision_warm_us_per_host": round(warm_ms * 1e3 / n, 3),
    }


def run(
    sizes: Sequence[int] | None = None, hosts: Iterable[int] = HOSTS
) -> dict[str, object]:
    """``pci_filter`` -> host count -> figures (``sizes`` is ignored:
    every host has the :data:`NICS`-NIC host's pools)."""
    del sizes
    text = pools_json()
    return {
        "nics": NICS,
        "hit_physnet": HIT_PHYSNET,
        "miss_physnet": MISS_PHYSNET,
        "pci_filter": {str(n): _hosts(n, text) for n in hosts},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
