"""20 boots at once for 8 VFs, through the compute manager.

The race host (:mod:`tests.functional.race_child`) has exactly 8 free
VFs on ``physnet0`` and 20 ``direct`` ports on a VLAN network of
``physnet0``; each boot has its own name and its own port.  The boots
start together (a barrier) and run the whole manager path: claim ->
allocate -> bind (static backend, one bindings file) -> spawn (libvirt
test driver) -> rows, on SQLite and on PostgreSQL, as

* threads of one process sharing one manager (a compute service serving
  several boots),
* threads of one process with a manager each (as many commands), and
* separate processes, one boot and one manager each (``sriovirt server
  boot`` run 20 times at once).

What must hold: exactly 8 servers and 12 BuildFailed at the claim step
saying no free VF on ``physnet0``; the pools, the ``pci_devices`` rows,
the instance rows, the port bindings and the domains agree (every
allocated VF belongs to a booted server, each booted server's port is
bound with that VF's ``pci_slot``, the losers' ports are unbound, no
device claimed or allocated without an owner).  Deleting the 8 servers
(at once too) gives back the pools as they were before.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.manager import ComputeManager
from sriovirt.db import api
from sriovirt.network.api import PciBinding, PortBinding
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.address import PciAddress
from sriovirt.virt.driver import InstanceState
from tests.functional import race_child as race_host
from tests.functional.db.conftest import db_url
from tests.functional.race_child import (
    BOOTS,
    FREE_VFS,
    HOST,
    PHYSNET,
    RaceHost,
    open_manager,
    port_id,
    server_name,
    server_uuid,
)

__all__ = ["db_url"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = race_host.TIMEOUT
#: Processes of the process race, each booting BOOTS / PROCESSES servers
#: at once with its one manager.  One boot per process (as 20 commands
#: at once) passes too, but spends ~1 s of CPU per process start.
PROCESSES = 4


@pytest.fixture
def race(db_url: str, tmp_path: pathlib.Path) -> RaceHost:
    """The race host's files, its database synced and the node's rows
    stored (a resource tracker started once)."""
    api.sync(db_url)
    found = RaceHost(tmp_path, db_url)
    found.write()
    with open_manager(found, start=True):
        pass
    return found


# --- what must hold ------------------------------------------------------


def _pools(db: api.Database) -> list[tuple[str, int]]:
    node = db.get_compute_node(HOST, HOST)
    assert node is not None and node.pci_stats is not None
    return sorted(
        (json.dumps(p["tags"], sort_keys=True), p["count"])
        for p in json.loads(node.pci_stats)
    )


def _rows(db: api.Database) -> dict[str, tuple[str, str | None]]:
    node = db.get_compute_node(HOST, HOST)
    assert node is not None
    return {
        r.address: (r.status, r.instance_uuid)
        for r in db.get_pci_devices(node.id)
    }


def _snapshot(race: RaceHost) -> tuple[Any, ...]:
    with api.Database(race.url) as db:
        return (
            _pools(db),
            _rows(db),
            db.get_instances_by_host(HOST),
            race.network().bound_ports(),
        )


def _check_outcomes(results: Sequence[dict[str, Any]]) -> set[int]:
    """Exactly 8 winners and 12 clean claim failures; the winners."""
    assert sorted(r["n"] for r in results) == list(range(BOOTS))
    won = {r["n"] for r in results if r["won"]}
    lost = [r for r in results if not r["won"]]
    assert len(won) == FREE_VFS, lost
    for r in lost:
        text = r["error"]
        assert (r["step"], r["cause"]) == ("claim", "Invalid"), text
        assert "\n" not in text
        assert server_name(r["n"]) in text and port_id(r["n"]) in text
        assert f"needs a free type-VF on physical network {PHYSNET}" in text
        assert "0 free in 1 matching pool" in text
        assert "rolled back" in text
    return won


def _check_agree(race: RaceHost, won: set[int]) -> dict[str, str]:
    """Pools, rows, instances and bindings agree with the winners; the
    VF of each winner's uuid."""
    uuids = {server_uuid(n): n for n in won}
    with api.Database(race.url) as db:
        rows = _rows(db)
        pools = dict(_pools(db))
        instances = db.get_instances_by_host(HOST)
        requests = {u: db.get_instance_pci_requests(u) for u in uuids}
    # Nothing claimed and left, nothing owned by a loser.
    owned = {a: u for a, (s, u) in rows.items() if u is not None}
    assert {s for a, (s, u) in rows.items() if u is not None} == {"allocated"}
    assert all(s != "claimed" for s, _ in rows.values())
    vf_of = {u: a for a, u in owned.items()}
    assert len(vf_of) == len(owned) == FREE_VFS  # one VF each
    assert set(vf_of) == set(uuids)
    assert all(a.startswith("0000:81:") for a in owned)
    # The pools count what the rows leave free: none on physnet0, the
    # other physical network untouched.
    free_vfs = {
        key: count
        for key, count in pools.items()
        if json.loads(key)["dev_type"] == "type-VF"
    }
    assert free_vfs == {
        json.dumps(
            {"dev_type": "type-VF", "physical_network": "physnet1"},
            sort_keys=True,
        ): 2
    }
    assert all(PHYSNET not in key for key in pools)
    # One row per winner, with its name, port and PCI request.
    assert {(i.uuid, i.name) for i in instances} == {
        (u, server_name(n)) for u, n in uuids.items()
    }
    for instance in instances:
        n = uuids[instance.uuid]
        assert json.loads(instance.requested_networks or "") == [
            {"port_id": port_id(n), "vnic_type": "direct"}
        ]
        assert port_id(n) in (requests[instance.uuid] or "")
    # Bindings: each winner's port bound with its VF, the rest unbound.
    network = race.network()
    bound = network.bound_ports()
    assert set(bound) == {port_id(n) for n in won}
    for uuid, n in uuids.items():
        port = bound[port_id(n)]
        assert port["device_id"] == uuid
        assert port["binding:host_id"] == HOST
        assert port["binding:vif_type"] == "hw_veb"
        profile = port["binding:profile"]
        assert profile["pci_slot"] == vf_of[uuid]
        assert profile["physical_network"] == PHYSNET
    for n in set(range(BOOTS)) - won:
        port = network.show_port(port_id(n))
        assert (port["device_id"], port["binding:vif_type"]) == (
            "",
            "unbound",
        )
        assert port["binding:profile"] == {}
    return vf_of


def _delete_together(
    of: Callable[[int], ComputeManager], won: set[int]
) -> None:
    barrier = threading.Barrier(len(won))

    def delete(n: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        of(n).terminate_instance(server_uuid(n))

    with ThreadPoolExecutor(len(won)) as pool:
        list(pool.map(delete, sorted(won)))


# --- threads ---------------------------------------------------------------


def test_threads_sharing_one_manager(race: RaceHost) -> None:
    before = _snapshot(race)
    with open_manager(race) as manager:
        results = race_host.boot_together([manager] * BOOTS, range(BOOTS))
        won = _check_outcomes(results)
        _check_agree(race, won)
        guests = {g.uuid: g.state for g in manager.driver.list_instances()}
        assert guests == {server_uuid(n): InstanceState.RUNNING for n in won}
        _delete_together(lambda n: manager, won)
        assert manager.driver.list_instances() == ()
    assert _snapshot(race) == before


def test_threads_with_a_manager_each(race: RaceHost) -> None:
    before = _snapshot(race)
    with contextlib.ExitStack() as stack:
        managers = [
            stack.enter_context(open_manager(race)) for _ in range(BOOTS)
        ]
        results = race_host.boot_together(managers, range(BOOTS))
        won = _check_outcomes(results)
        _check_agree(race, won)
        for n, manager in enumerate(managers):
            state = manager.driver.instance_state(server_uuid(n))
            assert state is (
                InstanceState.RUNNING if n in won else InstanceState.MISSING
            )
        _delete_together(lambda n: managers[n], won)
        assert all(m.driver.list_instances() == () for m in managers)
    assert _snapshot(race) == before


# --- processes -------------------------------------------------------------


def _child(race: RaceHost, numbers: range) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p
        for p in (str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", ""))
        if p
    )
    return subprocess.Popen(
        [
            sys.executable,
            # oslo.service's eventlet deprecation notice is noise.
            "-W",
            "ignore",
            "-m",
            "tests.functional.race_child",
            race.url,
            str(race.root),
            *map(str, numbers),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@contextlib.contextmanager
def _children(race: RaceHost) -> Iterator[list[subprocess.Popen[str]]]:
    children: list[subprocess.Popen[str]] = []
    try:
        children.extend(
            _child(race, range(i, BOOTS, PROCESSES)) for i in range(PROCESSES)
        )
        yield children
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()


def test_processes_booting_at_once(race: RaceHost) -> None:
    before = _snapshot(race)
    with _children(race) as children:
        # The start line: every child has built its manager (loaded the
        # stored state) before any boots.
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line != "ready\n":
                child.kill()
                _, err = child.communicate()
                pytest.fail(f"{child.args!r} did not get ready: {line} {err}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        ended = []
        for child in children:
            out, err = child.communicate(timeout=TIMEOUT)
            assert child.returncode == 0, err
            ended.append(json.loads(out))
    results = [r for e in ended for r in e["results"]]
    won = _check_outcomes(results)
    _check_agree(race, won)
    # Each process runs the guests it booted, and no other.
    for e in ended:
        mine = {r["n"] for r in e["results"]} & won
        assert sorted(e["domains"]) == sorted(server_uuid(n) for n in mine)
    # Deleted in a later process, as `sriovirt server delete` does: the
    # test-driver guests went with their processes.
    with open_manager(race) as manager:
        _delete_together(lambda n: manager, won)
    assert _snapshot(race) == before


# --- two boots, one name or one port --------------------------------------


def _same_name_race(race: RaceHost) -> list[dict[str, Any]]:
    """Boots 0-3 at once, all named ``twin``, a manager each (as four
    commands would run them); what each got."""

    def boot(manager: ComputeManager, n: int) -> dict[str, Any]:
        request = BootRequest(
            name="twin", port_ids=(port_id(n),), uuid=server_uuid(n)
        )
        try:
            manager.build_and_run_instance(request)
        except exception.SriovirtError as error:
            return {"n": n, "won": False, "error": str(error)}
        return {"n": n, "won": True}

    with contextlib.ExitStack() as stack:
        managers = [stack.enter_context(open_manager(race)) for _ in range(4)]
        barrier = threading.Barrier(4)

        def start(manager: ComputeManager, n: int) -> dict[str, Any]:
            barrier.wait(timeout=TIMEOUT)
            return boot(manager, n)

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(start, managers, range(4)))
        # The losers' guests are gone from their own hypervisors.
        for r, manager in zip(results, managers, strict=True):
            state = manager.driver.instance_state(server_uuid(r["n"]))
            assert (state is InstanceState.RUNNING) == r["won"]
    return results


def test_same_name_at_once_boots_one_server(race: RaceHost) -> None:
    before = _snapshot(race)
    results = _same_name_race(race)
    (winner,) = [r["n"] for r in results if r["won"]]
    for r in results:
        if not r["won"]:
            assert "'twin'" in r["error"] and "\n" not in r["error"]
    pools, rows, instances, bound = _snapshot(race)
    assert [(i.name, i.uuid) for i in instances] == [
        ("twin", server_uuid(winner))
    ]
    assert set(bound) == {port_id(winner)}
    assert {u for _, u in rows.values() if u} == {server_uuid(winner)}
    assert pools != before[0]


def test_same_name_at_once_losers_are_told_the_name_is_used(
    race: RaceHost,
) -> None:
    for r in _same_name_race(race):
        if not r["won"]:
            assert "Server name 'twin' is already used" in r["error"]


HOLDER = "00000000-0000-4000-8000-0000000000ee"


def _bound_meanwhile(race: RaceHost, tmp: pathlib.Path) -> dict[str, Any]:
    """Boot 0, while another boot binds port 0 between this boot's read
    of the port and its bind: the bindings file's lock is held until
    this boot holds its VF, and the other boot's binding is written
    under it, as that boot's bind would write it."""
    other = StaticNetwork(
        ports_file=race.ports_file, state_file=tmp / "other.json"
    )
    other.bind_port(
        port_id(0),
        PortBinding(
            host=HOST,
            device_id=HOLDER,
            pci=PciBinding(
                address=PciAddress.parse("0000:81:03.3"),
                vendor_id="8086",
                product_id="154c",
                physical_network=PHYSNET,
            ),
        ),
    )
    lock_file = race.bindings_file.with_name(race.bindings_file.name + ".lock")
    with (
        open_manager(race) as manager,
        open(lock_file, "a+b") as lock,
        ThreadPoolExecutor(1) as pool,
    ):
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            booting = pool.submit(race_host.outcome, manager, 0)
            deadline = time.monotonic() + TIMEOUT
            while ("allocated", server_uuid(0)) not in _rows(
                manager.db
            ).values():
                assert time.monotonic() < deadline and not booting.done()
                time.sleep(0.01)
            os.replace(tmp / "other.json", race.bindings_file)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        return booting.result(timeout=TIMEOUT)


def test_a_port_bound_meanwhile_fails_the_boot_at_its_bind(
    race: RaceHost, tmp_path: pathlib.Path
) -> None:
    before = _snapshot(race)
    result = _bound_meanwhile(race, tmp_path)
    assert not result["won"]
    assert result["step"] == f"bind port {port_id(0)}"
    assert f"it is in use: device_id '{HOLDER}'" in result["error"]
    pools, rows, instances, _ = _snapshot(race)
    assert (pools, rows, instances) == before[:3]


def test_a_port_bound_meanwhile_stays_with_its_holder(
    race: RaceHost, tmp_path: pathlib.Path
) -> None:
    _bound_meanwhile(race, tmp_path)
    port = race.network().show_port(port_id(0))
    assert (port["device_id"], port["binding:profile"].get("pci_slot")) == (
        HOLDER,
        "0000:81:03.3",
    )
