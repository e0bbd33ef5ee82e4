"""The scheduler side over a real RabbitMQ: one flow, two transports.

The three hosts of tests/functional/test_scheduling.py (host-a: PF1 on
physnet1 with 3 VFs and PF2 on physnet2 with 2, packed-capable; host-b:
3 VFs; host-c: 2 VFs) share one SQLite database, one static network and
one embedded Placement; each host's real
:class:`~sriovirt.compute.manager.ComputeManager` is served by a
:class:`~sriovirt.compute.rpc_endpoint.ComputeEndpoint` on its own RPC
server (a thread pool of this process) on the private broker, with a
fresh heartbeat in the services table.  The scheduler is the same
:class:`~sriovirt.compute.conductor.SchedulerManager` as in-process,
over :class:`~sriovirt.compute.remote.RemoteComputes` and with the
compute service filter, as ``sriovirt server boot`` builds it when
``[DEFAULT] transport_url`` is set; the last test runs those commands
as subprocesses.

Faults are real: a host whose RPC server is stopped (its service row
up, nothing consuming), a disabled service, a heartbeat made stale in
the table.  After each test, every PF provider's usages equal what its
host's tracker holds.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg
from oslo_context.context import RequestContext

from sriovirt import exception
from sriovirt.compute import rpc, rpcapi, services
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import SchedulerManager
from sriovirt.compute.remote import RemoteComputes
from sriovirt.compute.rpc_endpoint import ComputeEndpoint
from sriovirt.compute.service_filter import ComputeServiceFilter
from sriovirt.placement import tree as pt
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.scheduler.filters import ALL_HOST_FILTERS
from tests.doubles import empty_conf
from tests.fixtures.compute_service import until_answered
from tests.fixtures.placement_service import PlacementUnderTest
from tests.fixtures.rabbitmq import Broker
from tests.functional.test_cli import sriovirt
from tests.functional.test_scheduling import (
    PF1,
    PF2,
    Cloud,
    _cloud,
    _pf_of_server,
    port_id,
)

CALL_TIMEOUT = 30.0
#: The timeout of the calls to a host that does not answer.
SHORT_TIMEOUT = 3.0
DOWN_TIME = 60


def _conf(url: str) -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("transport_url", url)
    return conf


@dataclasses.dataclass
class RpcCloud:
    cloud: Cloud
    conf: cfg.ConfigOpts
    tmp_path: Path
    client_transport: Any
    server_transport: Any
    servers: dict[str, Any]
    context: RequestContext
    scheduler: SchedulerManager

    def remote_scheduler(self, timeout: float) -> SchedulerManager:
        """The scheduler as ``sriovirt server boot`` builds it."""
        db = self.cloud.database
        api = rpcapi.ComputeAPI(
            self.conf,
            self.client_transport,
            timeout=timeout,
            service_state=services.service_state(db, DOWN_TIME),
        )
        return SchedulerManager(
            placement=self.cloud.client,
            nodes=db,
            instances=db,
            computes=RemoteComputes(api, self.context),
            settings=SchedulerSettings(max_attempts=3),
            host_filters=(
                ComputeServiceFilter(db, DOWN_TIME),
                *ALL_HOST_FILTERS,
            ),
        )

    def boot(
        self, name: str, port: str, scheduler: SchedulerManager | None = None
    ) -> tuple[BootRequest, str]:
        boot = BootRequest(name=name, port_ids=(port,))
        record = (scheduler or self.scheduler).schedule_and_build(
            boot, self.cloud.spec(boot)
        )
        return boot, str(record.host)

    def stop(self, host: str) -> None:
        server = self.servers.pop(host)
        server.stop()
        server.wait()

    def last_seen(self, host: str, seconds_ago: float) -> None:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        stamp = now - datetime.timedelta(seconds=seconds_ago)
        with self.cloud.database.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE services SET last_seen_up = :t WHERE host = :h"
                ),
                {"t": stamp, "h": host},
            )


@pytest.fixture
def rpc_cloud(rabbitmq: Broker, tmp_path: Path) -> Iterator[RpcCloud]:
    placement = PlacementUnderTest("embedded", tmp_path / "placement")
    placement.start()
    conf = _conf(rabbitmq.url)
    server_transport = rpc.transport(conf)
    client_transport = rpc.transport(conf)
    servers: dict[str, Any] = {}
    try:
        with _cloud(tmp_path, placement) as cloud:
            for host, manager in cloud.computes.items():
                server = rpc.server(
                    conf, server_transport, host, ComputeEndpoint(manager)
                )
                server.start()
                servers[host] = server
                cloud.database.service_heartbeat(
                    host, rpc.BINARY, rpc.TOPIC, rpcapi.LATEST_VERSION
                )
            found = RpcCloud(
                cloud,
                conf,
                tmp_path,
                client_transport,
                server_transport,
                servers,
                RequestContext(),
                None,  # type: ignore[arg-type]
            )
            found.scheduler = found.remote_scheduler(CALL_TIMEOUT)
            api = rpcapi.ComputeAPI(conf, client_transport, timeout=5)
            for host in servers:
                until_answered(lambda h=host: api.ping(h), 30)  # type: ignore[misc]
            try:
                yield found
            finally:
                # Stop every server before waiting for any: each wait
                # lasts until its consumer's connection is closed.
                for server in servers.values():
                    server.stop()
                for server in servers.values():
                    server.wait()
    finally:
        server_transport.cleanup()
        client_transport.cleanup()
        placement.stop()


def _providers(rc: RpcCloud, host: str, pf: str) -> set[str]:
    node = rc.cloud.computes[host].rt.node.uuid
    return {node, pt.child_uuid(node, pf)}


# --- where boots land ------------------------------------------------------


def test_boots_land_per_placement_and_carry_the_request_id(
    rpc_cloud: RpcCloud, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "sriovirt.compute.rpc_endpoint"):
        hosts = [rpc_cloud.boot(f"vm-{n}", port_id(1, n))[1] for n in range(8)]
    # Spread by free VFs, as in-process: each host takes what it has.
    assert {h: hosts.count(h) for h in set(hosts)} == {
        "host-a": 3,
        "host-b": 3,
        "host-c": 2,
    }
    with pytest.raises(exception.NoValidHost):
        rpc_cloud.boot("vm-8", port_id(1, 8))
    # Every boot of the command's scheduler carried its one request id
    # to the host that ran it.
    request = rpc_cloud.context.request_id
    received = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("Boot of vm-")
    ]
    assert len(received) == 8
    assert all(m.endswith(f"request {request}") for m in received)


def test_port_providers_pick_the_allocated_pf(rpc_cloud: RpcCloud) -> None:
    # host-a has physnet2 VFs on PF2 only: the allocation names PF2's
    # provider, and the VF the compute claimed is PF2's.
    for n in range(2):
        boot, host = rpc_cloud.boot(f"p2-{n}", port_id(2, n))
        assert host == "host-a"
        assert _pf_of_server(rpc_cloud.cloud, host, f"p2-{n}") == PF2
        allocated = set(rpc_cloud.cloud.client.allocations(boot.uuid))
        assert allocated == _providers(rpc_cloud, "host-a", PF2)


def test_delete_reaches_the_right_host_and_frees_the_allocation(
    rpc_cloud: RpcCloud,
) -> None:
    # a, b, a (2 free VFs each, the name breaks the tie), b, c.
    boots = [rpc_cloud.boot(f"del-{n}", port_id(1, n)) for n in range(5)]
    assert {host for _, host in boots} == {"host-a", "host-b", "host-c"}
    boot, host = next(b for b in boots if b[1] == "host-b")
    assert rpc_cloud.cloud.client.allocations(boot.uuid)
    gone = rpc_cloud.scheduler.delete(host, boot.uuid)
    assert (gone.uuid, gone.host) == (boot.uuid, "host-b")
    assert rpc_cloud.cloud.client.allocations(boot.uuid) == {}
    assert rpc_cloud.cloud.database.get_instance(boot.uuid) is None
    # The others stay, on their hosts.
    for other, other_host in boots:
        if other.uuid != boot.uuid:
            row = rpc_cloud.cloud.database.get_instance(other.uuid)
            assert row is not None and row.host == other_host


# --- hosts skipped ---------------------------------------------------------


def test_disabled_and_stale_hosts_are_skipped_with_their_reason(
    rpc_cloud: RpcCloud,
) -> None:
    db = rpc_cloud.cloud.database
    db.set_service_disabled("host-b", rpc.BINARY, True, "maintenance")
    rpc_cloud.last_seen("host-c", DOWN_TIME + 30)
    # Only host-a is left for plain boots: 3 VFs of physnet1.
    hosts = [rpc_cloud.boot(f"vm-{n}", port_id(1, n))[1] for n in range(3)]
    assert hosts == ["host-a"] * 3
    # A boot host-a cannot take (it has no VF left): no valid host, and
    # the skipped services are named with the reason.
    with pytest.raises(exception.NoValidHost) as caught:
        rpc_cloud.boot("vm-3", port_id(1, 3))
    text = str(caught.value)
    assert "ComputeServiceFilter removed 2" in text
    assert (
        "host-b: the sriovirt-compute service of host host-b is disabled: "
        "maintenance" in text
    )
    assert (
        "host-c: the sriovirt-compute service of host host-c is down: "
        "last heartbeat" in text
    )
    # host-a is full: Placement no longer returns it.
    assert "Placement returned 2 candidate host(s)" in text
    # Enabled again, host-b takes the next boot.
    db.set_service_disabled("host-b", rpc.BINARY, False, None)
    assert rpc_cloud.boot("vm-4", port_id(1, 4))[1] == "host-b"


def test_forced_to_a_disabled_host_fails_clearly_and_frees(
    rpc_cloud: RpcCloud,
) -> None:
    rpc_cloud.cloud.database.set_service_disabled(
        "host-b", rpc.BINARY, True, "maintenance"
    )
    boot = BootRequest(name="forced", port_ids=(port_id(1, 0),))
    start = time.monotonic()
    with pytest.raises(exception.SchedulingFailed) as caught:
        rpc_cloud.scheduler.schedule_and_build(
            boot, rpc_cloud.cloud.spec(boot), force_host="host-b"
        )
    assert time.monotonic() - start < 5
    text = str(caught.value)
    assert "1 host(s) tried" in text
    assert "the sriovirt-compute service of host host-b is disabled" in text
    assert "nothing was sent" in text
    assert rpc_cloud.cloud.client.allocations(boot.uuid) == {}


def test_unserved_host_is_unreachable_then_the_next_host_is_tried(
    rpc_cloud: RpcCloud,
) -> None:
    # host-a's service row is up, but nothing consumes its queue.
    rpc_cloud.stop("host-a")
    scheduler = rpc_cloud.remote_scheduler(SHORT_TIMEOUT)
    start = time.monotonic()
    # host-a is chosen first (3 free VFs like host-b; the name breaks
    # the tie): its call times out, its allocation is freed, host-b
    # takes the boot.
    boot, host = rpc_cloud.boot("moved", port_id(1, 0), scheduler)
    took = time.monotonic() - start
    assert host == "host-b"
    assert SHORT_TIMEOUT <= took < SHORT_TIMEOUT + 10, f"took {took:.1f} s"
    assert set(rpc_cloud.cloud.client.allocations(boot.uuid)) == (
        _providers(rpc_cloud, "host-b", PF1)
    )
    # Forced to host-a: one failed attempt naming the timeout, freed.
    forced = BootRequest(name="forced-a", port_ids=(port_id(1, 1),))
    with pytest.raises(exception.SchedulingFailed) as caught:
        scheduler.schedule_and_build(
            forced, rpc_cloud.cloud.spec(forced), force_host="host-a"
        )
    text = str(caught.value)
    assert (
        "build_and_run_instance on compute host host-a (topic "
        f"sriovirt-compute): no answer within {SHORT_TIMEOUT:g} s" in text
    )
    assert rpc_cloud.cloud.client.allocations(forced.uuid) == {}
    # The expired call never ran on host-a when its service came back.
    manager = rpc_cloud.cloud.computes["host-a"]
    server = rpc.server(
        rpc_cloud.conf,
        rpc_cloud.server_transport,
        "host-a",
        ComputeEndpoint(manager),
    )
    server.start()
    rpc_cloud.servers["host-a"] = server
    time.sleep(2)
    db = rpc_cloud.cloud.database
    assert db.get_instance_by_name("host-a", "moved") is None
    assert rpc_cloud.cloud.database.get_instance(forced.uuid) is None


# --- the commands ----------------------------------------------------------


def _command_conf(rc: RpcCloud) -> Path:
    tmp = rc.tmp_path
    path = tmp / "controller.conf"
    path.write_text(
        "\n".join(
            [
                "[DEFAULT]",
                "host = controller",
                f"state_path = {tmp / 'placement'}",
                f"transport_url = {rc.conf.transport_url}",
                "rpc_response_timeout = 30",
                # No driver may be loaded on the scheduler side.
                "compute_driver = no.such.Driver",
                "[database]",
                f"connection = sqlite:///{tmp / 'sriovirt.sqlite'}",
                "[network]",
                "backend = static",
                f"ports_file = {tmp / 'ports.json'}",
                f"bindings_file = {tmp / 'bindings.json'}",
            ]
        )
        + "\n"
    )
    return path


def test_server_commands_over_the_message_bus(
    rpc_cloud: RpcCloud, caplog: pytest.LogCaptureFixture
) -> None:
    tmp = rpc_cloud.tmp_path
    conf = _command_conf(rpc_cloud)

    def run(*args: str) -> Any:
        done = sriovirt(tmp, conf, *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # The command's request id (logged with --debug) is the one the
    # compute that ran the boot logged.
    with caplog.at_level(logging.INFO, "sriovirt.compute.rpc_endpoint"):
        first = sriovirt(
            tmp,
            conf,
            "--debug",
            "server",
            "boot",
            "cli-first",
            "--port",
            port_id(1, 9),
            "-f",
            "json",
        )
    assert first.returncode == 0, first.stderr
    found = re.search(r"Request (req-[0-9a-f-]+)", first.stderr)
    assert found is not None, first.stderr
    assert (
        f"Boot of cli-first ({json.loads(first.stdout)['uuid']}) received, "
        f"request {found.group(1)}" in caplog.text
    )
    run("server", "delete", "cli-first", "-f", "json")

    booted = [
        run(
            "server", "boot", f"cli-{n}", "--port", port_id(1, n), "-f", "json"
        )
        for n in range(3)
    ]
    assert {b["host"] for b in booted} == {"host-a", "host-b"}
    for b in booted:
        (iface,) = b["interfaces"]
        assert iface["pci_slot"] and iface["vif_type"] == "hw_veb"
    # The same name on another host (names are unique per host).
    again = run(
        "server",
        "boot",
        "cli-0",
        "--port",
        port_id(1, 5),
        "--force-host",
        "host-b" if booted[0]["host"] != "host-b" else "host-c",
        "-f",
        "json",
    )
    listed = run("server", "list", "-f", "json")
    assert sorted((s["name"], s["host"]) for s in listed) == sorted(
        [(b["name"], b["host"]) for b in booted] + [("cli-0", again["host"])]
    )
    shown = run("server", "show", "cli-1", "-f", "json")
    assert (shown["uuid"], shown["host"]) == (
        booted[1]["uuid"],
        booted[1]["host"],
    )
    assert shown["domain_xml"]

    ambiguous = sriovirt(tmp, conf, "server", "delete", "cli-0")
    assert ambiguous.returncode == 2
    (line,) = ambiguous.stderr.strip().splitlines()
    assert "server name 'cli-0' is used on hosts" in line
    assert "--host HOST" in line

    deleted = run(
        "server", "delete", "cli-0", "--host", again["host"], "-f", "json"
    )
    assert (deleted["uuid"], deleted["status"]) == (again["uuid"], "DELETED")
    assert rpc_cloud.cloud.client.allocations(again["uuid"]) == {}
    run("server", "delete", "cli-1", "-f", "json")
    assert rpc_cloud.cloud.database.get_instance(booted[1]["uuid"]) is None
    left = run("server", "list", "-f", "json")
    assert sorted(s["name"] for s in left) == ["cli-0", "cli-2"]

    # A down host is skipped, with the reason, by the command too.
    rpc_cloud.cloud.database.set_service_disabled(
        "host-a", rpc.BINARY, True, "maintenance"
    )
    refused = sriovirt(
        tmp,
        conf,
        "server",
        "boot",
        "cli-x",
        "--port",
        port_id(2, 0),
    )
    assert refused.returncode == 1
    assert (
        "host-a: the sriovirt-compute service of host host-a is disabled: "
        "maintenance" in refused.stderr
    )
