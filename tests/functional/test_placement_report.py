"""The report client against the REAL openstack-placement.

Each test runs twice (``placement`` fixture): on the embedded Placement
(in-process, the WSGI transport) and on a loopback wsgiref server of the
same application (HTTP, ``[placement] endpoint_override``).  The inputs
are real too: the sample host (``etc/sriovirt/hosts/small.xml``) through
libvirt's test driver, the whitelist of the sample configuration and the
resource tracker on SQLite; devices are claimed and freed through the
tracker, and what Placement then holds is read back with a second
client.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sriovirt import exception, paths
from sriovirt.compute.placement_report import PlacementReporter, host_tree
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.conf import placement as placement_conf
from sriovirt.db import api
from sriovirt.pci.request import PciRequest
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement import tree as pt
from sriovirt.placement.embedded import MICROVERSION, EmbeddedPlacement
from sriovirt.placement.report import ReportClient, ShownProvider
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host, Versions
from tests.fixtures.faultproxy import serving
from tests.fixtures.placement_service import PlacementUnderTest, placement

__all__ = ["placement"]

HOST = "host-a"
PF1 = "0000:81:00.0"
PF2 = "0000:82:00.0"
SPEC = [
    '{"address": "0000:81:00.0", "physical_network": "physnet1"}',
    '{"devname": "ens2f0", "physical_network": "physnet2"}',
]
INSTANCE = "aaaaaaaa-0000-4000-8000-000000000001"


@pytest.fixture
def tracker(
    placement: PlacementUnderTest, tmp_path: Path
) -> Iterator[ResourceTracker]:
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    api.sync(url)
    conf = placement.conf()
    conf.set_override("host", HOST)
    driver = LibvirtDriver.for_connection(
        conf, paths.test_driver_uri(paths.sample_host())
    )
    with api.Database(url) as database:
        rt = ResourceTracker(
            HOST, driver, database, Whitelist.from_config(SPEC)
        )
        rt.start()
        yield rt
        driver.host.close()


def _client(placement: PlacementUnderTest) -> ReportClient:
    return ReportClient(placement.adapter(), placement.endpoint)


def _shown(placement: PlacementUnderTest) -> dict[str, ShownProvider]:
    return {s.provider.name: s for s in _client(placement).show(HOST)}


def _reserved(placement: PlacementUnderTest, pf: str) -> dict[str, int]:
    shown = _shown(placement)[f"{HOST}_{pf}"]
    return {rc: i.reserved for rc, i in shown.provider.inventories.items()}


def _vf_request(physnet: str) -> PciRequest:
    return PciRequest(
        spec=[{"dev_type": "type-VF", "physical_network": physnet}]
    )


def _pf_request(physnet: str) -> PciRequest:
    return PciRequest(
        spec=[{"dev_type": "type-PF", "physical_network": physnet}]
    )


def test_first_sync_creates_the_tree(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    report = client.sync(host_tree(tracker, HOST))
    names = [HOST, f"{HOST}_{PF1}", f"{HOST}_{PF2}"]
    assert list(report.created) == names
    assert report.adopted == ()
    shown = _shown(placement)
    assert sorted(shown) == sorted(names)
    root = shown[HOST].provider
    assert root.uuid == tracker.node.uuid
    assert root.parent is None
    assert {rc: i.total for rc, i in root.inventories.items()} == {
        "VCPU": 8,
        "MEMORY_MB": 32768,
        "DISK_GB": tracker.driver.host_resources().disk_gb,
    }
    # The test driver is not QEMU: no packed trait on this root.
    assert "COMPUTE_NET_VIRTIO_PACKED" not in root.traits
    for pf, physnet in ((PF1, "PHYSNET1"), (PF2, "PHYSNET2")):
        child = shown[f"{HOST}_{pf}"].provider
        assert child.parent == root.uuid
        assert child.uuid == pt.child_uuid(root.uuid, pf)
        assert {rc: i.total for rc, i in child.inventories.items()} == {
            "SRIOV_NET_VF": 4,
            pt.PF_RESOURCE_CLASS: 1,
        }
        assert child.traits == {
            f"CUSTOM_PHYSNET_{physnet}",
            "CUSTOM_VNIC_TYPE_DIRECT",
            "CUSTOM_VNIC_TYPE_MACVTAP",
            "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
        }


class _VersionsHost(Host):
    """The sample host, claiming other libvirt/QEMU versions (the test
    driver is not QEMU); everything else is the real test driver."""

    def __init__(self, uri: str, versions: Versions) -> None:
        super().__init__(uri)
        self.claimed = versions

    def versions(self) -> Versions:
        return self.claimed


def test_packed_trait_follows_the_hosts_versions(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    uri = paths.test_driver_uri(paths.sample_host())
    capable = _VersionsHost(uri, Versions(6_003_000, 4_002_000, "QEMU"))
    tracker.driver = LibvirtDriver(placement.conf(), capable)
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    assert (
        "COMPUTE_NET_VIRTIO_PACKED" in _shown(placement)[HOST].provider.traits
    )

    # QEMU 4.1.0: one version short, the trait goes on the next sync.
    capable.claimed = Versions(6_003_000, 4_001_000, "QEMU")
    report = client.sync(host_tree(tracker, HOST))
    assert report.updated == (HOST,) and report.requests == 1
    assert "COMPUTE_NET_VIRTIO_PACKED" not in (
        _shown(placement)[HOST].provider.traits
    )
    capable.close()


def test_second_sync_sends_nothing(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    before = client.requests
    report = client.sync(host_tree(tracker, HOST))
    assert client.requests == before
    assert report.requests == 0
    assert not report.changed


def test_used_and_freed_devices_move_reserved_of_their_relative(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    pf_rc = pt.PF_RESOURCE_CLASS

    tracker.claim(INSTANCE, [_vf_request("physnet1")])
    report = client.sync(host_tree(tracker, HOST))
    # One write: the PF1 provider's inventories.
    assert report.updated == (f"{HOST}_{PF1}",)
    assert report.requests == 1
    assert _reserved(placement, PF1) == {"SRIOV_NET_VF": 0, pf_rc: 1}
    assert _reserved(placement, PF2) == {"SRIOV_NET_VF": 0, pf_rc: 0}

    tracker.free(INSTANCE)
    client.sync(host_tree(tracker, HOST))
    assert _reserved(placement, PF1) == {"SRIOV_NET_VF": 0, pf_rc: 0}

    tracker.claim(INSTANCE, [_pf_request("physnet2")])
    client.sync(host_tree(tracker, HOST))
    assert _reserved(placement, PF2) == {"SRIOV_NET_VF": 4, pf_rc: 0}
    assert _reserved(placement, PF1) == {"SRIOV_NET_VF": 0, pf_rc: 0}

    tracker.free(INSTANCE)
    client.sync(host_tree(tracker, HOST))
    assert _reserved(placement, PF2) == {"SRIOV_NET_VF": 0, pf_rc: 0}


def test_generation_conflict_is_read_again_and_retried(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    child = pt.child_uuid(tracker.node.uuid, PF1)
    # Another writer changes the provider: its generation moves on.
    other = placement.adapter()
    current = other.get(f"/resource_providers/{child}/traits").json()
    assert other.put("/traits/CUSTOM_OTHER_WRITER").status_code in (201, 204)
    bumped = other.put(
        f"/resource_providers/{child}/traits",
        json={
            "resource_provider_generation": current[
                "resource_provider_generation"
            ],
            "traits": [*current["traits"], "CUSTOM_OTHER_WRITER"],
        },
    )
    assert bumped.status_code == 200, bumped.text

    tracker.claim(INSTANCE, [_vf_request("physnet1")])
    report = client.sync(host_tree(tracker, HOST))
    assert report.conflicts == 1
    assert _reserved(placement, PF1)[pt.PF_RESOURCE_CLASS] == 1
    # The tree is the host's: the other writer's trait is replaced.
    traits = _shown(placement)[f"{HOST}_{PF1}"].provider.traits
    assert "CUSTOM_OTHER_WRITER" not in traits
    assert client.sync(host_tree(tracker, HOST)).requests == 0


def test_restart_adopts_the_tree(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    _client(placement).sync(host_tree(tracker, HOST))
    restarted = _client(placement)
    report = restarted.sync(host_tree(tracker, HOST))
    assert report.created == () and report.updated == ()
    assert sorted(report.adopted) == sorted(
        [HOST, f"{HOST}_{PF1}", f"{HOST}_{PF2}"]
    )
    everything = placement.adapter().get("/resource_providers").json()
    assert len(everything["resource_providers"]) == 3
    # Adopted, then in step: nothing more to send.
    assert restarted.sync(host_tree(tracker, HOST)).requests == 0


def test_a_child_made_under_another_uuid_is_adopted_by_name(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    tree = host_tree(tracker, HOST)
    client.sync(pt.ProviderTree(tree.providers[:1]))
    made = placement.adapter().post(
        "/resource_providers",
        json={
            "name": f"{HOST}_{PF1}",
            "uuid": "11111111-2222-4333-8444-555555555555",
            "parent_provider_uuid": tracker.node.uuid,
        },
    )
    assert made.status_code == 200, made.text
    report = _client(placement).sync(tree)
    assert report.created == (f"{HOST}_{PF2}",)
    shown = _shown(placement)
    assert len(shown) == 3
    adopted = shown[f"{HOST}_{PF1}"].provider
    assert adopted.uuid == "11111111-2222-4333-8444-555555555555"
    assert adopted.inventories["SRIOV_NET_VF"].total == 4


def test_a_provider_made_meanwhile_by_another_writer_is_adopted(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    tree = host_tree(tracker, HOST)
    client.sync(pt.ProviderTree(tree.providers[:2]))
    # Another process (a second sync) makes the PF2 child first.
    pf2 = tree.providers[2]
    made = placement.adapter().post(
        "/resource_providers",
        json={
            "name": pf2.name,
            "uuid": pf2.uuid,
            "parent_provider_uuid": pf2.parent,
        },
    )
    assert made.status_code == 200, made.text
    report = client.sync(tree)
    assert report.created == ()
    assert report.updated == (pf2.name,)
    shown = _shown(placement)
    assert len(shown) == 3
    assert shown[pf2.name].provider.inventories["SRIOV_NET_VF"].total == 4


def test_a_renamed_host_renames_its_providers_in_place(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    report = _client(placement).sync(host_tree(tracker, "host-b"))
    assert report.created == ()
    assert sorted(report.updated) == [
        "host-b",
        f"host-b_{PF1}",
        f"host-b_{PF2}",
    ]
    names = sorted(
        p["name"]
        for p in placement.adapter()
        .get("/resource_providers")
        .json()["resource_providers"]
    )
    assert names == ["host-b", f"host-b_{PF1}", f"host-b_{PF2}"]


def test_a_pf_leaving_the_whitelist_loses_its_provider(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    tracker.whitelist = Whitelist.from_config(SPEC[:1])
    tracker.tracker.set_whitelist(tracker.whitelist)
    tracker.refresh()
    report = client.sync(host_tree(tracker, HOST))
    assert report.deleted == (f"{HOST}_{PF2}",)
    assert sorted(_shown(placement)) == [HOST, f"{HOST}_{PF1}"]


def test_a_child_with_allocations_is_kept_not_deleted(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    child = pt.child_uuid(tracker.node.uuid, PF2)
    allocated = placement.adapter().put(
        f"/allocations/{INSTANCE}",
        json={
            "allocations": {child: {"resources": {"SRIOV_NET_VF": 1}}},
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )
    assert allocated.status_code == 204, allocated.text
    tracker.whitelist = Whitelist.from_config(SPEC[:1])
    tracker.tracker.set_whitelist(tracker.whitelist)
    tracker.refresh()
    report = client.sync(host_tree(tracker, HOST))
    assert report.deleted == ()
    assert report.kept == (f"{HOST}_{PF2}",)
    assert f"{HOST}_{PF2}" in _shown(placement)
    # Not asked again at every sync.
    assert client.sync(host_tree(tracker, HOST)).requests == 0


def test_root_name_taken_by_another_uuid_is_a_clear_error(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    made = placement.adapter().post(
        "/resource_providers",
        json={"name": HOST, "uuid": "22222222-2222-4333-8444-555555555555"},
    )
    assert made.status_code == 200, made.text
    with pytest.raises(exception.PlacementError) as caught:
        _client(placement).sync(host_tree(tracker, HOST))
    text = str(caught.value)
    assert "22222222-2222-4333-8444-555555555555" in text
    assert tracker.node.uuid in text
    assert placement.endpoint in text


# The embedded Placement has no server to lose: loopback only.
@pytest.mark.parametrize("placement", ["loopback"], indirect=True)
def test_outage_is_a_clear_error_and_the_next_sync_catches_up(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    client = _client(placement)
    client.sync(host_tree(tracker, HOST))
    placement.kill()

    tracker.claim(INSTANCE, [_vf_request("physnet1")])
    with pytest.raises(exception.PlacementUnavailable) as caught:
        client.sync(host_tree(tracker, HOST))
    assert f"http://127.0.0.1:{placement.port}" in str(caught.value)
    assert "no answer" in str(caught.value)
    # Still down: the same error again, not a silent "nothing changed".
    with pytest.raises(exception.PlacementUnavailable):
        client.sync(host_tree(tracker, HOST))

    placement.start()
    report = client.sync(host_tree(tracker, HOST))
    # It read Placement again (adopted) and wrote what it had missed.
    assert len(report.adopted) == 3
    assert report.updated == (f"{HOST}_{PF1}",)
    assert _reserved(placement, PF1)[pt.PF_RESOURCE_CLASS] == 1
    assert client.sync(host_tree(tracker, HOST)).requests == 0


def test_two_processes_first_use_of_one_embedded_database(
    tmp_path: Path,
) -> None:
    """Both create-or-upgrade the schema at once; both work after."""
    state = tmp_path / "shared"
    script = textwrap.dedent(
        f"""
        import sys
        from sriovirt.placement.embedded import EmbeddedPlacement
        a = EmbeddedPlacement({str(state)!r}).adapter()
        name = "CUSTOM_PROCESS_" + sys.argv[1]
        assert a.put("/traits/" + name).status_code in (201, 204)
        r = a.get("/traits?name=startswith:CUSTOM_PROCESS_")
        assert r.status_code == 200, r.text
        print("ok")
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sriovirt.placement.embedded import EmbeddedPlacement;"
            f"a = EmbeddedPlacement({str(state)!r}).adapter();"
            "print(sorted(a.get('/traits?name=startswith:CUSTOM_PROCESS_')"
            ".json()['traits']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == str(
        ["CUSTOM_PROCESS_1", "CUSTOM_PROCESS_2"]
    )


@pytest.mark.parametrize("placement", ["loopback"], indirect=True)
def test_reporter_keeps_serving_through_an_outage(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    reporter = PlacementReporter(tracker, _client(placement))
    assert reporter.report() is not None
    placement.kill()
    tracker.claim(INSTANCE, [_pf_request("physnet1")])
    assert reporter.report() is None
    assert reporter.last_error is not None
    assert placement.endpoint in str(reporter.last_error)
    placement.start()
    caught_up = reporter.report()
    assert caught_up is not None and reporter.last_error is None
    assert _reserved(placement, PF1)["SRIOV_NET_VF"] == 4


@pytest.mark.parametrize("placement", ["loopback"], indirect=True)
def test_a_500_in_the_middle_of_a_first_sync_then_the_tree_completes(
    placement: PlacementUnderTest, tracker: ResourceTracker
) -> None:
    with serving(placement.endpoint) as proxy:
        conf = placement.conf()
        conf.set_override("endpoint_override", proxy.url, group="placement")
        adapter = placement_conf.load_adapter(conf, MICROVERSION)
        client = ReportClient(adapter, proxy.url)
        # The second provider made (the first child) gets a 500.
        proxy.fail("POST", r"^/resource_providers$", nth=2)
        with pytest.raises(exception.PlacementUnavailable) as caught:
            client.sync(host_tree(tracker, HOST))
        text = str(caught.value)
        assert proxy.url in text
        assert "POST /resource_providers" in text and "HTTP 500" in text
        # Placement holds a partial tree: the root only.
        assert sorted(_shown(placement)) == [HOST]

        report = client.sync(host_tree(tracker, HOST))
        assert report.adopted == (HOST,)
        assert report.created == (f"{HOST}_{PF1}", f"{HOST}_{PF2}")
        everything = placement.adapter().get("/resource_providers").json()
        assert len(everything["resource_providers"]) == 3
        assert client.sync(host_tree(tracker, HOST)).requests == 0


def test_one_embedded_database_per_process(tmp_path: Path) -> None:
    first = EmbeddedPlacement(tmp_path / "a")
    second = EmbeddedPlacement(tmp_path / "b")
    try:
        assert first.adapter().get("/").status_code == 200
        # The same file through another object: the same application.
        same = EmbeddedPlacement(tmp_path / "a")
        assert same.app() is first.app()
        with pytest.raises(exception.PlacementError) as caught:
            second.app()
        assert str(tmp_path / "a" / "placement.sqlite") in str(caught.value)
        assert str(tmp_path / "b" / "placement.sqlite") in str(caught.value)
        first.close()
        assert second.adapter().put("/traits/CUSTOM_B").status_code == 201
    finally:
        first.close()
        second.close()
