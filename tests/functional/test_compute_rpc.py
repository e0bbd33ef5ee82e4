"""The compute RPC over a real RabbitMQ (oslo.messaging's rabbit driver).

One private broker per session (tests/fixtures/rabbitmq.py); this module
runs one compute service for :data:`boot_child.HOST`: an RPC server in
this process, on its own transport, serving a real
:class:`~sriovirt.compute.manager.ComputeManager` on libvirt's test
driver in a work directory (tests/functional/boot_child.py), and a client
(:class:`~sriovirt.compute.rpcapi.ComputeAPI`) on another transport.

The fault tests break the real thing: a call to a host nobody serves,
and the broker's Erlang VM SIGKILLed mid-session and started again on
the same port, with the server left running to reconnect by itself.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from oslo_context.context import RequestContext

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.compute import rpc, rpcapi, services
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.manager import ComputeManager
from sriovirt.compute.rpc_endpoint import ComputeEndpoint
from tests.fixtures.compute_service import until_answered
from tests.fixtures.rabbitmq import Broker
from tests.functional import boot_child
from tests.functional.test_cli import sriovirt

HOST = boot_child.HOST
PORT = "6f0c1e2a-0000-4000-8000-000000000001"
CALL_TIMEOUT = 15.0


def make_conf(url: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    conf.set_override("transport_url", url)
    # Reconnect soon after the broker is back (default backoff grows
    # to 30 s between tries).
    conf.set_override("rabbit_interval_max", 2, group="oslo_messaging_rabbit")
    return conf


@dataclasses.dataclass
class Service:
    api: rpcapi.ComputeAPI
    manager: ComputeManager
    conf: cfg.ConfigOpts
    client_transport: Any
    server_transport: Any
    server: Any

    def stop_server(self) -> None:
        self.server.stop()
        self.server.wait()

    def start_server(self) -> None:
        self.server = rpc.server(
            self.conf,
            self.server_transport,
            HOST,
            ComputeEndpoint(self.manager),
        )
        self.server.start()


@pytest.fixture(scope="module")
def service(
    rabbitmq: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir: Path = tmp_path_factory.mktemp("rpc")
    boot_child.prepare(workdir)
    conf = make_conf(rabbitmq.url)
    with boot_child.manager(workdir) as manager:
        server_transport = rpc.transport(conf)
        server = rpc.server(
            conf, server_transport, HOST, ComputeEndpoint(manager)
        )
        server.start()
        client_transport = rpc.transport(conf)
        api = rpcapi.ComputeAPI(conf, client_transport, timeout=CALL_TIMEOUT)
        found = Service(
            api, manager, conf, client_transport, server_transport, server
        )
        try:
            until_answered(lambda: api.ping(HOST), 30)
            yield found
        finally:
            found.stop_server()
            server_transport.cleanup()
            client_transport.cleanup()


def test_ping_answers_host_and_version(service: Service) -> None:
    times = []
    for _ in range(30):
        start = time.perf_counter()
        answer = service.api.ping(HOST)
        times.append(time.perf_counter() - start)
    assert answer == {"host": HOST, "version": rpcapi.LATEST_VERSION}
    median_ms = statistics.median(times) * 1000
    assert median_ms < 500, f"ping median {median_ms:.1f} ms"


def test_boot_and_terminate_through_rpc(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    boot = BootRequest(
        name="vm-rpc",
        port_ids=(PORT,),
        uuid="0b5e5a1d-0000-4000-8000-0000000000a1",
    )
    context = RequestContext()
    with caplog.at_level(logging.INFO, "sriovirt.compute.rpc_endpoint"):
        record = service.api.build_and_run_instance(
            HOST, boot, context=context
        )
    # The command's request id, logged by the compute side.
    assert (
        f"Boot of vm-rpc ({boot.uuid}) received, request "
        f"{context.request_id}" in caplog.text
    )
    assert (record.uuid, record.name) == (boot.uuid, "vm-rpc")
    assert (record.vm_state, record.host) == ("active", HOST)
    assert record.created_at is not None
    # The same row the compute stored, and a guest on its hypervisor.
    assert service.manager.db.get_instance(boot.uuid) == record
    guests = {g.uuid for g in service.manager.driver.list_instances()}
    assert boot.uuid in guests

    # The answer is the row the server had; the row is gone.
    gone = service.api.terminate_instance(HOST, boot.uuid)
    assert gone == record
    assert service.manager.db.get_instance(boot.uuid) is None
    guests = {g.uuid for g in service.manager.driver.list_instances()}
    assert boot.uuid not in guests


def test_compute_error_arrives_as_one_line(service: Service) -> None:
    boot = BootRequest(
        name="vm-twice",
        port_ids=(PORT,),
        uuid="0b5e5a1d-0000-4000-8000-0000000000a2",
    )
    service.api.build_and_run_instance(HOST, boot)
    try:
        again = dataclasses.replace(
            boot, uuid="0b5e5a1d-0000-4000-8000-0000000000a3"
        )
        with pytest.raises(exception.RemoteComputeError) as caught:
            service.api.build_and_run_instance(HOST, again)
    finally:
        service.api.terminate_instance(HOST, boot.uuid)
    error = caught.value
    text = str(error)
    assert "\n" not in text
    assert error.error == "ServerNameInUse"
    assert text.startswith(
        f"build_and_run_instance on compute host {HOST} (topic "
        "sriovirt-compute) failed: ServerNameInUse: Server name "
        "'vm-twice' is already used"
    )
    assert boot.uuid in text


def test_compute_side_bug_arrives_as_one_line(service: Service) -> None:
    # An argument the endpoint does not take: a TypeError raised on the
    # compute side, which oslo.messaging rebuilds here with the remote
    # traceback in its message.
    with pytest.raises(exception.RemoteComputeError) as caught:
        service.api._call(HOST, "ping", "1.0", None, surprise=1)
    assert caught.value.error == "TypeError"
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(
        f"ping on compute host {HOST} (topic sriovirt-compute) failed: "
        "TypeError: "
    )
    assert "surprise" in text


def test_unknown_server_uuid_is_a_remote_not_found(service: Service) -> None:
    uuid = "0b5e5a1d-0000-4000-8000-0000000000ff"
    with pytest.raises(exception.RemoteComputeError) as caught:
        service.api.terminate_instance(HOST, uuid)
    assert caught.value.error == "ServerNotFound"
    assert uuid in str(caught.value)


def test_reconcile_through_rpc(service: Service) -> None:
    report = service.api.reconcile(HOST, resume=False)
    assert report.host == HOST
    assert not report.failed


def test_client_pinned_to_1_0_during_an_upgrade(service: Service) -> None:
    conf = make_conf(str(service.conf.transport_url))
    conf.set_override("compute", "1.0", group="upgrade_levels")
    api = rpcapi.ComputeAPI(conf, service.client_transport, timeout=5)
    # The newer server answers a 1.0 call ...
    assert api.ping(HOST)["host"] == HOST
    # ... and a 1.1 method is refused on this side, nothing sent.
    with pytest.raises(exception.RPCVersionTooNew, match=r"pins 1\.0"):
        api.reconcile(HOST, resume=False)


def test_host_without_a_service_fails_fast(service: Service) -> None:
    api = rpcapi.ComputeAPI(service.conf, service.client_transport, timeout=2)
    start = time.monotonic()
    with pytest.raises(exception.ComputeUnreachable) as caught:
        api.ping("no-such-host")
    took = time.monotonic() - start
    assert took < 6, f"took {took:.1f} s"
    text = str(caught.value)
    assert text.startswith(
        "ping on compute host no-such-host (topic sriovirt-compute): "
        "no answer within 2 s"
    )


def test_stopped_service_times_out_and_the_call_expires(
    service: Service,
) -> None:
    """A boot sent while the host's service is stopped fails after the
    timeout, naming the host; it is not run when the service comes back
    (the message's time to live is the call's timeout), so a caller that
    retries elsewhere does not get a second server here."""
    api = rpcapi.ComputeAPI(service.conf, service.client_transport, timeout=2)
    boot = BootRequest(
        name="vm-while-stopped",
        port_ids=(PORT,),
        uuid="0b5e5a1d-0000-4000-8000-0000000000a5",
    )
    service.stop_server()
    try:
        start = time.monotonic()
        with pytest.raises(exception.ComputeUnreachable) as caught:
            api.build_and_run_instance(HOST, boot)
        assert time.monotonic() - start < 6
    finally:
        service.start_server()
    assert str(caught.value).startswith(
        f"build_and_run_instance on compute host {HOST} (topic "
        "sriovirt-compute): no answer within 2 s"
    )
    until_answered(lambda: api.ping(HOST), 30)
    time.sleep(1)
    assert service.manager.db.get_instance(boot.uuid) is None


def test_services_table_gates_the_call(service: Service) -> None:
    db = service.manager.db
    db.service_heartbeat(HOST, rpc.BINARY, rpc.TOPIC, rpcapi.LATEST_VERSION)
    api = rpcapi.ComputeAPI(
        service.conf,
        service.client_transport,
        timeout=CALL_TIMEOUT,
        service_state=services.service_state(db, 60),
    )
    assert api.ping(HOST)["host"] == HOST
    db.set_service_disabled(HOST, rpc.BINARY, True, "NIC firmware update")
    try:
        start = time.monotonic()
        with pytest.raises(exception.ComputeServiceDown) as caught:
            api.ping(HOST)
        assert time.monotonic() - start < 1
    finally:
        db.set_service_disabled(HOST, rpc.BINARY, False, None)
    assert str(caught.value) == (
        f"ping on compute host {HOST} (topic sriovirt-compute): the "
        f"sriovirt-compute service of host {HOST} is disabled: NIC "
        "firmware update"
    )
    with pytest.raises(exception.ComputeServiceDown, match="no sriovirt"):
        api.ping("host-never-registered")


def test_ping_command(service: Service, tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text(
        f"[DEFAULT]\ntransport_url = {service.conf.transport_url}\n"
    )
    ok = sriovirt(tmp_path, conf, "compute", "ping", HOST, "-f", "json")
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert (answer["host"], answer["version"]) == (
        HOST,
        rpcapi.LATEST_VERSION,
    )
    assert answer["ms"] > 0

    lost = sriovirt(
        tmp_path, conf, "compute", "ping", "nowhere", "--timeout", "1"
    )
    assert lost.returncode == 1
    (line,) = lost.stderr.strip().splitlines()
    assert "ping on compute host nowhere (topic sriovirt-compute): no " in line

    conf.write_text("[DEFAULT]\n")
    unset = sriovirt(tmp_path, conf, "compute", "ping", HOST)
    assert unset.returncode == 2
    assert "[DEFAULT] transport_url is unset" in unset.stderr


def test_broker_crash_then_restart_reconnects(
    service: Service, rabbitmq: Broker
) -> None:
    api = rpcapi.ComputeAPI(
        service.conf, service.client_transport, timeout=5, retries=1
    )
    api.ping(HOST)
    rabbitmq.crash()
    try:
        start = time.monotonic()
        with pytest.raises(exception.ComputeUnreachable) as caught:
            api.ping(HOST)
        outage_call = time.monotonic() - start
        assert outage_call < 20, f"took {outage_call:.1f} s"
        assert f"compute host {HOST} (topic sriovirt-compute)" in str(
            caught.value
        )
    finally:
        rabbitmq.restart()
    # Neither side restarted: both reconnect by themselves.
    start = time.monotonic()
    until_answered(lambda: api.ping(HOST), 60)
    back = time.monotonic() - start
    assert back < 60, f"ping back after {back:.1f} s"
    boot = BootRequest(
        name="vm-after-outage",
        port_ids=(PORT,),
        uuid="0b5e5a1d-0000-4000-8000-0000000000a4",
    )
    assert service.api.build_and_run_instance(HOST, boot).vm_state == (
        "active"
    )
    assert service.api.terminate_instance(HOST, boot.uuid).uuid == boot.uuid
    assert service.manager.db.get_instance(boot.uuid) is None
