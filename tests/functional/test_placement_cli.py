"""``sriovirt placement sync|show`` as subprocesses on the sample
configuration (embedded Placement under the test's state_path): what
they print, in the table and JSON formats, and their exit status.

The report client itself is tested against Placement in
test_placement_report.py; here the commands' wiring: the tree of the
sample host, adoption by a second process, and ``reserved`` after a
real ``server boot`` of a direct-physical port.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests.fixtures.placement_service import PlacementUnderTest
from tests.functional.test_server_cli import PHYSICAL, Env

HOST = "sample-host"
CHILDREN = [f"{HOST}_0000:81:00.0", f"{HOST}_0000:82:00.0"]


@pytest.fixture
def env(tmp_path: pathlib.Path) -> Env:
    return Env(tmp_path)


def _reserved(shown: Any) -> dict[str, dict[str, int]]:
    return {
        p["name"]: {rc: i["reserved"] for rc, i in p["inventories"].items()}
        for p in shown["providers"]
        if p["parent_provider_uuid"] is not None
    }


def test_show_before_any_sync_says_what_to_run(env: Env) -> None:
    shown = env.run("placement", "show")
    assert shown.returncode == 1
    assert f"no resource provider named {HOST!r}" in shown.stdout
    assert "sriovirt placement sync" in shown.stdout


def test_sync_then_show_then_a_second_process_adopts(env: Env) -> None:
    first = env.json("placement", "sync")
    assert first["created"] == [HOST, *CHILDREN]
    assert first["placement"].endswith("placement.sqlite")
    assert (env.state / "placement.sqlite").exists()

    shown = env.json("placement", "show")
    names = [p["name"] for p in shown["providers"]]
    assert names == [HOST, *CHILDREN]
    root = shown["providers"][0]
    assert root["inventories"]["VCPU"]["total"] == 8
    assert root["inventories"]["MEMORY_MB"]["total"] == 32768
    child = shown["providers"][1]
    assert child["parent_provider_uuid"] == root["uuid"]
    assert child["inventories"]["SRIOV_NET_VF"]["total"] == 4
    assert child["inventories"]["SRIOV_NET_VF"]["used"] == 0
    assert "CUSTOM_PHYSNET_PHYSNET1" in child["traits"]

    again = env.json("placement", "sync")
    assert again["adopted"] == [HOST, *CHILDREN]
    assert again["created"] == again["updated"] == []

    table = env.run("placement", "show")
    assert table.returncode == 0, table.stderr
    assert "RESOURCE CLASS" in table.stdout
    assert "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL" in table.stdout
    text = env.run("placement", "sync")
    assert "nothing changed: no provider written" in text.stdout


def test_a_booted_direct_physical_port_reserves_its_vfs(env: Env) -> None:
    env.json("placement", "sync")
    env.boot("vm-physical", "--port", PHYSICAL)
    # The boot went through the scheduler and its compute reported the
    # change itself: a sync afterwards has nothing to write.
    assert env.json("placement", "sync")["updated"] == []
    reserved = _reserved(env.json("placement", "show"))
    (used_pf,) = [
        name for name, r in reserved.items() if r["SRIOV_NET_VF"] == 4
    ]
    assert all(
        r == {"SRIOV_NET_VF": 0, "CUSTOM_SRIOV_NET_PF": 0}
        for name, r in reserved.items()
        if name != used_pf
    )
    deleted = env.run("server", "delete", "vm-physical")
    assert deleted.returncode == 0, deleted.stderr
    assert env.json("placement", "sync")["updated"] == []
    assert all(
        r == {"SRIOV_NET_VF": 0, "CUSTOM_SRIOV_NET_PF": 0}
        for r in _reserved(env.json("placement", "show")).values()
    )


def test_sync_and_show_on_a_remote_noauth_placement(
    env: Env, tmp_path: pathlib.Path
) -> None:
    remote = PlacementUnderTest("loopback", tmp_path / "remote")
    remote.start()
    try:
        with env.conf.open("a") as conf:
            conf.write(
                f"\n[placement]\nendpoint_override = {remote.endpoint}\n"
            )
        synced = env.json("placement", "sync")
        assert synced["placement"] == remote.endpoint
        assert synced["created"] == [HOST, *CHILDREN]
        shown = env.json("placement", "show")
        assert [p["name"] for p in shown["providers"]] == [HOST, *CHILDREN]
        # Reported there, not to an embedded database.
        assert not (env.state / "placement.sqlite").exists()
        remote.kill()
        down = env.run("placement", "sync")
        assert down.returncode != 0
        assert remote.endpoint in down.stderr
        assert "no answer" in down.stderr
        assert len(down.stderr.strip().splitlines()) == 1
    finally:
        remote.stop()
