"""``sriovirt-compute`` as a real process over a real RabbitMQ.

Each test starts the console script on libvirt's test driver (the
sample host), SQLite and the embedded Placement in a temporary
``state_path`` (tests/fixtures/compute_service.py), talks to it through
:class:`~sriovirt.compute.rpcapi.ComputeAPI` on the session's private
broker (tests/fixtures/rabbitmq.py), and signals it as an operator or
systemd would: SIGTERM to stop, SIGHUP to reload the whitelist.
"""

from __future__ import annotations

import dataclasses
import pathlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_context.context import RequestContext

from sriovirt import exception
from sriovirt.compute import rpc, rpcapi
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.journal import InstanceLocks
from sriovirt.db.records import InstanceRecord
from tests.fixtures import compute_service as svc
from tests.fixtures.placement_service import PlacementUnderTest
from tests.fixtures.rabbitmq import Broker

HOST = "svc-host"
DIRECT = "6f0c1e2a-0000-4000-8000-000000000001"
MACVTAP = "6f0c1e2a-0000-4000-8000-000000000002"
PF1 = "0000:81:00.0"
CALL_TIMEOUT = 30.0


@dataclasses.dataclass
class Env:
    dir: pathlib.Path
    state: pathlib.Path
    conf: pathlib.Path
    url: str
    api: rpcapi.ComputeAPI

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.state}/sriovirt.sqlite"

    def write(self, **kw: Any) -> None:
        svc.write_conf(
            self.conf,
            host=HOST,
            state_path=self.state,
            transport_url=self.url,
            **kw,
        )

    def start(self) -> svc.ComputeProcess:
        return svc.start_services(
            self.api,
            [(HOST, self.conf)],
            self.dir,
            self.database_url,
        )[0]

    def json(self, *args: str) -> Any:
        return svc.sriovirt_json(self.conf, *args)

    def devices(self) -> dict[str, tuple[str, str | None]]:
        return {
            d["address"]: (d["status"], d["instance_uuid"])
            for d in self.json("pci", "list")
        }

    def inventories(self) -> dict[str, int]:
        """Provider name -> its SRIOV_NET_VF total (PF providers)."""
        shown = self.json("placement", "show")
        return {
            p["name"]: p["inventories"]["SRIOV_NET_VF"]["total"]
            for p in shown["providers"]
            if "SRIOV_NET_VF" in p["inventories"]
        }


@pytest.fixture
def env(rabbitmq: Broker, tmp_path: pathlib.Path) -> Iterator[Env]:
    state = tmp_path / "state"
    conf = tmp_path / "sriovirt.conf"
    svc.write_conf(
        conf, host=HOST, state_path=state, transport_url=rabbitmq.url
    )
    svc.prepare(conf)
    transport = rpc.transport(svc.client_conf(rabbitmq.url))
    api = rpcapi.ComputeAPI(
        svc.client_conf(rabbitmq.url), transport, timeout=CALL_TIMEOUT
    )
    try:
        yield Env(tmp_path, state, conf, rabbitmq.url, api)
    finally:
        rpc.cleanup(transport)


def _boot(name: str, uuid: str, *ports: str) -> BootRequest:
    return BootRequest(name=name, port_ids=ports, uuid=uuid)


def _stopped_cleanly(service: svc.ComputeProcess, seconds: float) -> float:
    start = time.monotonic()
    status = service.stop(timeout=seconds)
    took = time.monotonic() - start
    log = service.log()
    assert status == 0, log[-3000:]
    assert f"sriovirt-compute on host {HOST} stopped cleanly" in log
    assert "Traceback" not in log, log
    return took


def test_refuses_to_start_without_transport_url(
    tmp_path: pathlib.Path,
) -> None:
    conf = svc.write_conf(
        tmp_path / "sriovirt.conf",
        host=HOST,
        state_path=tmp_path / "state",
        transport_url=None,
    )
    done = svc.run_tool("sriovirt.cmd.compute_service", conf)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sriovirt-compute: error: ")
    assert "[DEFAULT] transport_url is not set" in lines[0]


def test_ready_boot_with_request_id_then_sigterm(env: Env) -> None:
    service = env.start()
    try:
        assert env.api.ping(HOST) == {
            "host": HOST,
            "version": rpcapi.LATEST_VERSION,
        }
        context = RequestContext()
        record = env.api.build_and_run_instance(
            HOST,
            _boot("vm-svc", "0b5e5a1d-0000-4000-8000-0000000000b1", DIRECT),
            context=context,
        )
        assert record.vm_state == "active"
        assert record.host == HOST
        received = [
            line
            for line in service.log().splitlines()
            if "Boot of vm-svc" in line
        ]
        assert received, service.log()
        # oslo.log's context format: the caller's request id on the line,
        # also after the boot's calls to (embedded) Placement.
        assert context.request_id in received[0]
        booted = [
            line
            for line in service.log().splitlines()
            if "Booted server vm-svc" in line
        ]
        assert len(booted) == 1
        assert context.request_id in booted[0]
        held = {a for a, (s, u) in env.devices().items() if u == record.uuid}
        assert len(held) == 1
    except BaseException:
        service.kill()
        raise
    took = _stopped_cleanly(service, 10)
    assert took < 10
    log = service.log()
    phases = [
        "Stopping: no more RPC calls taken",
        "Waiting for the calls in flight",
        "RPC server of svc-host stopped",
        "Heartbeat of svc-host stopped",
        "Placement and database closed",
        "stopped cleanly",
    ]
    positions = [log.index(p) for p in phases]
    assert positions == sorted(positions), log[-3000:]


def test_sigterm_during_a_boot_waits_for_it(env: Env) -> None:
    """SIGTERM while a boot is in flight: the service stops taking calls,
    lets the boot finish and answer, then exits 0; the next start's
    reconcile keeps it, and devices and rows agree.

    The boot is held in flight by a real lock: this test holds the
    instance's lock file (the per-server flock every boot takes), as a
    second process working on the same server would."""
    service = env.start()
    uuid = "0b5e5a1d-0000-4000-8000-0000000000b2"
    answer: dict[str, Any] = {}

    def boot() -> None:
        try:
            answer["record"] = env.api.build_and_run_instance(
                HOST, _boot("vm-term", uuid, DIRECT)
            )
        except exception.SriovirtError as exc:
            answer["error"] = exc

    caller = threading.Thread(target=boot)
    locks = InstanceLocks(env.state / "locks")
    try:
        with locks.hold(uuid):
            caller.start()
            service.wait_for_log("Boot of vm-term", 30)
            service.send(signal.SIGTERM)
            service.wait_for_log("Waiting for the calls in flight", 30)
            time.sleep(1.0)
            # Still waiting for the boot, which waits for the lock.
            assert service.proc.poll() is None, service.log()[-3000:]
            assert "record" not in answer
        status = service.wait(30)
        caller.join(CALL_TIMEOUT + 5)
    except BaseException:
        service.kill()
        raise
    log = service.log()
    assert status == 0, log[-3000:]
    assert "stopped cleanly" in log
    # The call in flight was let finish: its answer came back.
    record = answer.get("record")
    assert isinstance(record, InstanceRecord), (answer, log[-3000:])
    assert record.vm_state == "active"
    # Restart: reconcile keeps it (and resumes its guest), nothing leaks.
    again = env.start()
    try:
        devices = env.devices()
        held = [a for a, (s, u) in devices.items() if u == uuid]
        assert len(held) == 1
        assert devices[held[0]][0] == "allocated"
        stray = [
            a
            for a, (s, u) in devices.items()
            if s in ("claimed", "allocated") and u != uuid
        ]
        assert stray == []
        servers = {s["uuid"]: s["status"] for s in env.json("server", "list")}
        assert servers == {uuid: "ACTIVE"}
    finally:
        _stopped_cleanly(again, 10)


def test_sighup_applies_a_changed_whitelist(env: Env) -> None:
    service = env.start()
    try:
        record = env.api.build_and_run_instance(
            HOST,
            _boot("vm-hup", "0b5e5a1d-0000-4000-8000-0000000000b3", DIRECT),
        )
        before = env.devices()
        in_use = [a for a, (s, u) in before.items() if u == record.uuid]
        assert len(in_use) == 1
        vfs1 = {a for a in before if a.startswith("0000:81:1")}
        assert in_use[0] in vfs1
        assert len(vfs1) == 4
        inventories = env.inventories()
        assert inventories[f"{HOST}_{PF1}"] == 4
        # Drop the physnet1 entry: its free VFs go, the one in use stays.
        env.write(specs=svc.SAMPLE_SPEC[1:])
        service.send(signal.SIGHUP)
        service.wait_for_log("Whitelist of svc-host reloaded", 30)
        after = env.devices()
        assert after[in_use[0]] == ("allocated", record.uuid)
        assert vfs1 & set(after) == {in_use[0]}
        # physnet2's devices are untouched.
        assert {a: v for a, v in after.items() if a.startswith("0000:82")} == {
            a: v for a, v in before.items() if a.startswith("0000:82")
        }
        # Placement follows: the physnet1 PF's inventory is the VF still
        # in use; physnet2's is unchanged.
        now = env.inventories()
        assert now.get(f"{HOST}_{PF1}") == 1, now
        assert now[f"{HOST}_0000:82:00.0"] == 4
        # Freed, the kept VF goes too.
        env.api.terminate_instance(HOST, record.uuid)
        done = env.devices()
        assert vfs1 & set(done) == set(), done
        assert env.api.ping(HOST)["host"] == HOST
    except BaseException:
        service.kill()
        raise
    _stopped_cleanly(service, 10)


def test_sighup_with_a_bad_whitelist_keeps_the_old_one(env: Env) -> None:
    service = env.start()
    try:
        before = env.devices()
        pools = env.json("pci", "pools")
        env.write(specs=('{"address": "0000:81:00.0", "physical_network"',))
        service.send(signal.SIGHUP)
        service.wait_for_log("Reload refused", 30)
        assert "[pci] device_spec" in service.log()
        assert env.devices() == before
        assert env.json("pci", "pools") == pools
        assert env.api.ping(HOST)["host"] == HOST
        # A later periodic refresh or SIGHUP still uses the old one.
        service.send(signal.SIGHUP)
        time.sleep(1)
        assert env.devices() == before
    except BaseException:
        service.kill()
        raise
    _stopped_cleanly(service, 10)


def test_fixture_runs_several_hosts_on_shared_state(
    rabbitmq: Broker, tmp_path: pathlib.Path
) -> None:
    """The helper the cluster tests and ``make run-cluster`` use: two
    hosts sharing the database, Placement and bindings, each serving its
    own RPC server, both stopped cleanly."""
    state = tmp_path / "state"
    confs = [
        (
            host,
            svc.write_conf(
                tmp_path / f"{host}.conf",
                host=host,
                state_path=state,
                transport_url=rabbitmq.url,
            ),
        )
        for host in ("svc-a", "svc-b")
    ]
    svc.prepare(confs[0][1])
    conf = svc.client_conf(rabbitmq.url)
    transport = rpc.transport(conf)
    try:
        api = rpcapi.ComputeAPI(conf, transport, timeout=CALL_TIMEOUT)
        url = f"sqlite:///{state}/sriovirt.sqlite"
        services = svc.start_services(api, confs, tmp_path, url)
        try:
            assert [api.ping(h)["host"] for h, _ in confs] == [
                "svc-a",
                "svc-b",
            ]
            record = api.build_and_run_instance(
                "svc-b",
                _boot("vm-b", "0b5e5a1d-0000-4000-8000-0000000000b5", DIRECT),
            )
            assert record.host == "svc-b"
        finally:
            statuses = svc.stop_services(services)
        assert statuses == {"svc-a": 0, "svc-b": 0}
        for service in services:
            assert "stopped cleanly" in service.log()
    finally:
        rpc.cleanup(transport)


def test_placement_down_at_start_is_caught_up_by_the_periodic_refresh(
    env: Env,
) -> None:
    """A remote Placement that is not there yet (a closed port): the
    service still starts and serves, logs the outage, and its periodic
    refresh reports the tree once Placement listens."""
    placement = PlacementUnderTest("loopback", env.dir / "placement")
    env.write(
        update_resources_interval=1,
        extra=f"[placement]\nendpoint_override = {placement.endpoint}\n",
    )
    service = env.start()
    try:
        assert "Resource providers not reported" in service.log()
        assert env.api.ping(HOST)["host"] == HOST
        placement.start()
        try:
            deadline = time.monotonic() + 30
            while "answers again" not in service.log():
                assert time.monotonic() < deadline, service.log()[-3000:]
                time.sleep(0.2)
            shown = env.json("placement", "show")
            names = sorted(p["name"] for p in shown["providers"])
            assert names == [
                HOST,
                f"{HOST}_0000:81:00.0",
                f"{HOST}_0000:82:00.0",
            ]
        finally:
            placement.stop()
    except BaseException:
        service.kill()
        raise
    _stopped_cleanly(service, 10)
