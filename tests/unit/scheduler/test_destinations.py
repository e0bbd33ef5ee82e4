"""One decision: request filters, one Placement call, one DB read."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from sriovirt import exception
from sriovirt.db import api
from sriovirt.network.values import VnicType
from sriovirt.scheduler import destinations, host_state
from sriovirt.scheduler.placement_query import AllocationCandidatesQuery
from sriovirt.scheduler.request_spec import build_request_spec
from tests.unit.scheduler.test_request_spec import port
from tests.unit.scheduler.test_selection import pool


class CannedPlacement:
    """Placement's answer for these tests: every root, one candidate."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots
        self.queries: list[str] = []

    def allocation_candidates(
        self, query: AllocationCandidatesQuery
    ) -> Mapping[str, object]:
        self.queries.append(query.query_string())
        return {
            "allocation_requests": [
                {
                    "allocations": {r: {"resources": {"VCPU": 1}}},
                    "mappings": {"": [r]},
                }
                for r in self.roots
            ],
            "provider_summaries": {
                r: {"root_provider_uuid": r} for r in self.roots
            },
        }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[api.Database]:
    url = f"sqlite:///{tmp_path / 'sched.sqlite'}"
    api.sync(url)
    database = api.Database(url)
    yield database
    database.close()


def _node(db: api.Database, host: str, pools: list[dict[str, object]]) -> str:
    node = db.get_or_create_compute_node(host, host)
    db.save_pci_state(node.id, [], json.dumps(pools))
    return node.uuid


def test_hosts_from_placement_and_the_database(db: api.Database) -> None:
    a = _node(db, "a", [pool("physnet2", 1)])
    b = _node(db, "b", [pool("physnet2", 6)])
    c = _node(db, "c", [pool("physnet1", 9)])
    d = _node(db, "d", [pool("physnet2", 3)])
    placement = CannedPlacement([a, b, c, d])
    spec = build_request_spec(
        vcpus=1,
        memory_mb=64,
        extra_specs={"hw:virtio_packed_ring": "true"},
        ports=[port("p1", VnicType.DIRECT, "physnet2")],
    )
    found = destinations.select_destinations(
        spec,
        placement=placement,
        nodes=db,
        settings=destinations.SchedulerSettings(
            max_attempts=2, max_placement_results=7
        ),
    )
    assert [h.host for h in found.selection.hosts] == ["b", "d"]
    assert found.spec.required_traits == {"COMPUTE_NET_VIRTIO_PACKED"}
    assert placement.queries == [found.query.query_string()]
    assert "required=COMPUTE_NET_VIRTIO_PACKED&" in placement.queries[0]
    assert placement.queries[0].endswith("&limit=7")
    assert min(found.placement_s, found.database_s, found.ours_s) >= 0


def test_conflict_refused_before_placement_is_asked(db: api.Database) -> None:
    placement = CannedPlacement([])
    spec = build_request_spec(
        vcpus=1,
        memory_mb=64,
        extra_specs={
            "hw:virtio_packed_ring": "true",
            "trait:COMPUTE_NET_VIRTIO_PACKED": "forbidden",
        },
    )
    with pytest.raises(exception.TraitConflict):
        destinations.select_destinations(spec, placement=placement, nodes=db)
    assert placement.queries == []


def test_no_valid_host_names_the_query_sent(db: api.Database) -> None:
    a = _node(db, "a", [pool("physnet1", 1)])
    spec = build_request_spec(
        vcpus=1, memory_mb=64, ports=[port("p1", VnicType.DIRECT, "net9")]
    )
    with pytest.raises(exception.NoValidHost) as info:
        destinations.select_destinations(
            spec, placement=CannedPlacement([a]), nodes=db
        )
    assert "&limit=1000; PciPassthroughFilter removed 1 (1 x no free" in str(
        info.value
    )
    with pytest.raises(exception.NoValidHost, match="returned 0 candidate"):
        destinations.select_destinations(
            spec, placement=CannedPlacement([]), nodes=db
        )


def test_pools_cache_across_decisions_sees_new_counts(
    db: api.Database,
) -> None:
    a = _node(db, "a", [pool("physnet2", 1)])
    b = _node(db, "b", [pool("physnet2", 2)])
    placement = CannedPlacement([a, b])
    spec = build_request_spec(
        vcpus=1, memory_mb=64, ports=[port("p1", VnicType.DIRECT, "physnet2")]
    )
    cache = host_state.PoolsCache()
    first = destinations.select_destinations(
        spec, placement=placement, nodes=db, pools_cache=cache
    )
    assert first.selection.chosen.host == "b"
    assert len(cache) == 2  # an empty cache passed in is filled
    # b fills up: the next decision reads its new pools, not the cache's.
    _node(db, "b", [pool("physnet2", 0)])
    second = destinations.select_destinations(
        spec, placement=placement, nodes=db, pools_cache=cache
    )
    assert [h.host for h in second.selection.hosts] == ["a"]
