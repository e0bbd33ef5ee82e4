"""Three ``sriovirt-compute`` processes and the scheduler side over a real
RabbitMQ, broken for real: a service SIGKILLed mid-boot, the broker
SIGKILLed mid-run, a service SIGSTOPped.

The hosts (libvirt's test driver on the sample host, each with its own
whitelist) share one ``state_path``: SQLite, the embedded Placement, the
static network's ports and bindings, the instance locks.

* host-a: physnet1 on 2 VFs, physnet2 on 4 VFs (the only physnet2 host);
* host-b: physnet1 on 3 VFs;
* host-c: physnet1 on 1 VF.

The scheduler side is built as ``sriovirt server boot`` builds it when
``[DEFAULT] transport_url`` is set (:mod:`sriovirt.cmd.cluster`: the
compute service filter first,
:class:`~sriovirt.compute.remote.RemoteComputes`), in this process,
with a controller configuration of its own
(``rpc_response_timeout`` short, ``service_down_time`` 3).  The same
landings are also asserted with the three managers in this process
(:mod:`sriovirt.compute.multihost`, no broker): one flow, two transports.

Mid-boot is reached without hooks in the code under test: holding the
instance's lock file (the flock every boot takes before its first
write), or holding a write transaction on the static network's binding
store (``BEGIN IMMEDIATE``: the bind waits for it, as for another
writer).  After each test the rows, the devices, the port bindings and
Placement agree (:func:`assert_agree`) and every server is deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.cmd import cluster as cluster_cmd
from sriovirt.cmd import network_backend
from sriovirt.cmd import server as server_cmd
from sriovirt.compute import rpc, rpcapi, services
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import SchedulerManager
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.multihost import HostSetup, open_hosts
from sriovirt.compute.remote import RemoteComputes
from sriovirt.conf import pci as pci_conf
from sriovirt.db import api as db_api
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement import tree as pt
from sriovirt.placement.allocations import AllocationClient
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.virt import loader
from tests.fixtures import compute_service as svc
from tests.fixtures.rabbitmq import Broker

NET1 = "3c5d7e9f-0000-4000-8000-000000000001"
NET2 = "3c5d7e9f-0000-4000-8000-000000000002"
PF1 = "0000:81:00.0"
PF2 = "0000:82:00.0"
PF1_VFS = ("0000:81:10.0", "0000:81:10.2", "0000:81:10.4")


def _vf_spec(address: str) -> str:
    return json.dumps({"address": address, "physical_network": "physnet1"})


PHYSNET2_SPEC = json.dumps(
    {"devname": "ens2f0", "physical_network": "physnet2"}
)
#: host -> its whitelist (see the module docstring).
SPECS: dict[str, tuple[str, ...]] = {
    "host-a": (*(_vf_spec(a) for a in PF1_VFS[:2]), PHYSNET2_SPEC),
    "host-b": tuple(_vf_spec(a) for a in PF1_VFS),
    "host-c": (_vf_spec(PF1_VFS[0]),),
}
HOSTS = tuple(SPECS)
CAPACITY1 = {"host-a": 2, "host-b": 3, "host-c": 1}
#: Seconds the scheduler side waits for a compute's answer.
CALL_TIMEOUT = 8.0
DOWN_TIME = 3
#: The impatient scheduler's call timeout and hard slack.
IMPATIENT_TIMEOUT = 3.0
IMPATIENT_SLACK = 2.0
PORTS = 30


def port_id(net: int, n: int) -> str:
    return f"6f0c1e2a-0000-4000-800{net}-{n:012d}"


def _ports_document() -> dict[str, Any]:
    sample = json.loads(svc.SAMPLE_PORTS.read_text())
    networks = [n for n in sample["networks"] if n["id"] in (NET1, NET2)]
    template = sample["ports"][0]
    ports = []
    for net, network in ((1, NET1), (2, NET2)):
        for n in range(PORTS):
            port = dict(template)
            port.update(
                id=port_id(net, n),
                name=f"net{net}-{n}",
                network_id=network,
                mac_address=f"fa:16:3e:0{net}:{n // 256:02x}:{n % 256:02x}",
            )
            ports.append(port)
    return {"networks": networks, "ports": ports}


def _load(path: pathlib.Path) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf(["--config-file", str(path)], project="sriovirt")
    return conf


def write_state(
    base: pathlib.Path, transport_url: str | None
) -> tuple[dict[str, pathlib.Path], pathlib.Path]:
    """The three hosts' configurations and the controller's, sharing
    ``base/state`` (schema synced)."""
    state = base / "state"
    state.mkdir(parents=True)
    (state / "ports.json").write_text(json.dumps(_ports_document()))
    confs = {
        host: svc.write_conf(
            base / f"{host}.conf",
            host=host,
            state_path=state,
            transport_url=transport_url,
            specs=SPECS[host],
        )
        for host in HOSTS
    }
    controller = svc.write_conf(
        base / "controller.conf",
        host="controller",
        state_path=state,
        transport_url=transport_url,
        specs=(),
        extra=(
            "[DEFAULT]\n"
            f"rpc_response_timeout = {CALL_TIMEOUT:g}\n"
            f"service_down_time = {DOWN_TIME}\n"
            "[scheduler]\n"
            "max_attempts = 3\n"
        ),
    )
    svc.prepare(controller)
    return confs, controller


# --- the scheduler side ------------------------------------------------------


@dataclasses.dataclass
class Side:
    """What ``sriovirt server boot|delete`` drives: the scheduler, the
    network it reads ports from, the database, Placement's client."""

    conf: cfg.ConfigOpts
    scheduler: SchedulerManager
    network: network_api.NetworkAPI
    db: db_api.Database
    client: AllocationClient
    state: pathlib.Path
    #: The same scheduler whose calls give up fast (RPC mode only).
    impatient: SchedulerManager | None = None

    def boot(
        self, name: str, port: str, *, uuid: str | None = None
    ) -> InstanceRecord:
        boot = BootRequest(name=name, port_ids=(port,))
        if uuid is not None:
            boot = dataclasses.replace(boot, uuid=uuid)
        return self.boot_request(boot)

    def boot_request(self, boot: BootRequest) -> InstanceRecord:
        spec = server_cmd.request_spec(self.conf, self.network, boot)
        return self.scheduler.schedule_and_build(boot, spec)

    def rows(self) -> dict[str, InstanceRecord]:
        found: dict[str, InstanceRecord] = {}
        for host in HOSTS:
            for record in self.db.get_instances_by_host(host):
                found[record.uuid] = record
        return found

    def delete_all(self) -> None:
        for record in self.rows().values():
            self.scheduler.delete(str(record.host), record.uuid)


def _nodes(db: db_api.Database) -> dict[str, tuple[int, str]]:
    """host -> (compute node id, its uuid)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, uuid, host FROM compute_nodes")
        )
        return {host: (int(i), str(u)) for i, u, host in rows}


def assert_agree(side: Side) -> dict[str, str]:
    """Rows, devices, bindings and Placement agree: every held VF is a
    row's, on the row's host; each row holds one VF and a Placement
    allocation on its host's providers; each PF provider's usage is the
    number of its VFs held; every bound port is a row's.  uuid -> host."""
    rows = side.rows()
    assert all(
        r.vm_state == "active" and r.task_state is None for r in rows.values()
    ), rows
    nodes = _nodes(side.db)
    held: dict[str, list[tuple[str, str]]] = {}
    usage: dict[tuple[str, str], int] = {}
    for host, (node_id, _) in nodes.items():
        for dev in side.db.get_pci_devices(node_id):
            if dev.parent_addr is not None and dev.dev_type == "type-VF":
                usage.setdefault((host, dev.parent_addr), 0)
            if dev.instance_uuid is None:
                continue
            assert dev.instance_uuid in rows, (
                f"orphaned VF {dev.address} of {host}: held by "
                f"{dev.instance_uuid}, which has no row"
            )
            held.setdefault(dev.instance_uuid, []).append((host, dev.address))
            if dev.parent_addr is not None:
                usage[(host, dev.parent_addr)] += 1
    for uuid, record in rows.items():
        assert [h for h, _ in held.get(uuid, [])] == [record.host], (
            uuid,
            held.get(uuid),
        )
        node_uuid = nodes[str(record.host)][1]
        allocated = side.client.allocations(uuid)
        assert allocated, f"{uuid} on {record.host} has no allocation"
        pfs = {
            pt.child_uuid(node_uuid, pf) for h, pf in usage if h == record.host
        }
        assert set(allocated) <= {node_uuid, *pfs}, (uuid, allocated)
    for (host, pf), used in usage.items():
        provider = pt.child_uuid(nodes[host][1], pf)
        got = side.client.usages(provider).get("SRIOV_NET_VF", 0)
        assert got == used, (
            f"{host} {pf}: Placement says {got}, devices {used}"
        )
    for net in (1, 2):
        for n in range(PORTS):
            device = side.network.show_port(port_id(net, n)).get("device_id")
            assert device in ("", None) or device in rows, (
                f"port {port_id(net, n)} bound to {device}, which has no row"
            )
    return {uuid: str(r.host) for uuid, r in rows.items()}


# --- the cluster of processes ------------------------------------------------


@dataclasses.dataclass
class Cluster:
    broker: Broker
    dir: pathlib.Path
    confs: dict[str, pathlib.Path]
    api: rpcapi.ComputeAPI
    services: dict[str, svc.ComputeProcess]
    side: Side

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.side.state}/sriovirt.sqlite"

    def start(self, host: str) -> svc.ComputeProcess:
        (started,) = svc.start_services(
            self.api, [(host, self.confs[host])], self.dir, self.database_url
        )
        self.services[host] = started
        return started

    def kill(self, host: str) -> None:
        self.services[host].kill()

    def log_lines(self, host: str, text: str) -> list[str]:
        return [
            line
            for line in self.services[host].log().splitlines()
            if text in line
        ]


@contextlib.contextmanager
def rpc_side(controller: pathlib.Path) -> Iterator[Side]:
    conf = _load(controller)
    with (
        server_cmd.open_placement(conf) as placement,
        cluster_cmd.open_cluster(conf) as found,
        cluster_cmd.remote_computes(conf, found.db) as computes,
    ):
        transport = rpc.transport(conf)
        try:
            api = rpcapi.ComputeAPI(
                conf,
                transport,
                timeout=IMPATIENT_TIMEOUT,
                retries=1,
                slack=IMPATIENT_SLACK,
                service_state=services.service_state(found.db, DOWN_TIME),
            )
            remote = RemoteComputes(api, computes.context)
            impatient = found.scheduler(conf, placement, remote)
            impatient.settings = dataclasses.replace(
                impatient.settings, max_attempts=2
            )
            yield Side(
                conf,
                found.scheduler(conf, placement, computes),
                found.network,
                found.db,
                AllocationClient(placement.adapter, placement.endpoint),
                pathlib.Path(str(conf.state_path)),
                impatient,
            )
        finally:
            rpc.cleanup(transport)


@contextlib.contextmanager
def in_process_side(
    confs: dict[str, pathlib.Path], controller: pathlib.Path
) -> Iterator[Side]:
    """The three hosts' managers in this process, from the same host
    configurations (``transport_url`` unset)."""
    conf = _load(controller)
    state = pathlib.Path(str(conf.state_path))
    network = network_backend.from_config(conf)
    with (
        server_cmd.open_placement(conf) as placement,
        db_api.Database(str(conf.database.connection)) as database,
    ):
        setups = []
        for host, path in confs.items():
            host_conf = _load(path)
            driver = loader.load_compute_driver(
                str(host_conf.compute_driver), host_conf
            )
            whitelist = Whitelist.from_options(
                pci_conf.device_spec_values(host_conf)
            )
            setups.append(HostSetup(host, driver, whitelist))
        managers = open_hosts(
            setups,
            database=database,
            network=network,
            placement_adapter=placement.adapter,
            placement_endpoint=placement.endpoint,
            locks_dir=state / "locks",
        )
        client = AllocationClient(placement.adapter, placement.endpoint)
        scheduler = SchedulerManager(
            placement=client,
            nodes=database,
            instances=database,
            computes=managers,
            settings=SchedulerSettings(max_attempts=3),
        )
        yield Side(conf, scheduler, network, database, client, state)


@pytest.fixture(scope="module")
def cluster(
    rabbitmq: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cluster")
    confs, controller = write_state(base, rabbitmq.url)
    transport = rpc.transport(svc.client_conf(rabbitmq.url))
    api = rpcapi.ComputeAPI(
        svc.client_conf(rabbitmq.url), transport, timeout=5
    )
    services: dict[str, svc.ComputeProcess] = {}
    try:
        for host, path in confs.items():
            services[host] = svc.ComputeProcess.start(
                host, path, base / f"{host}.log"
            )
        url = f"sqlite:///{base / 'state'}/sriovirt.sqlite"
        for service in services.values():
            svc.wait_ready(api, service, url)
        with rpc_side(controller) as side:
            yield Cluster(rabbitmq, base, confs, api, services, side)
    finally:
        for service in services.values():
            service.kill()
        rpc.cleanup(transport)


@pytest.fixture
def rpc_cluster(cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster, every service running and every server
    deleted after the test (rows, devices and Placement agreeing)."""
    for host, service in cluster.services.items():
        if service.proc.poll() is not None:
            cluster.start(host)
    try:
        yield cluster
    finally:
        for host, service in cluster.services.items():
            service.send(signal.SIGCONT)
            if service.proc.poll() is not None:
                cluster.start(host)
        _eventually(cluster.side.delete_all, 30)
        assert assert_agree(cluster.side) == {}


def _eventually(call: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except (exception.SriovirtError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# --- 1 and 5: where boots land, over either transport ------------------------


def _landings(side: Side) -> None:
    """Boots land per Placement and the filters; deletes reach the
    right host; Placement agrees with the hosts after."""
    # physnet2: host-a only.
    p2 = side.boot("p2-0", port_id(2, 0))
    assert p2.host == "host-a"
    # physnet1 until every host is full: each takes what it has, a
    # full host sends the next boot elsewhere, then no valid host.
    booted = [side.boot(f"p1-{n}", port_id(1, n)) for n in range(6)]
    hosts = [str(r.host) for r in booted]
    assert {h: hosts.count(h) for h in HOSTS} == CAPACITY1
    with pytest.raises(exception.NoValidHost):
        side.boot("p1-6", port_id(1, 6))
    where = assert_agree(side)
    assert where == {r.uuid: str(r.host) for r in [p2, *booted]}
    # A delete reaches the host of the server: host-c's VF comes free
    # and the next boot goes there.
    (on_c,) = [r for r in booted if r.host == "host-c"]
    gone = side.scheduler.delete("host-c", on_c.uuid)
    assert (gone.uuid, gone.host) == (on_c.uuid, "host-c")
    assert side.client.allocations(on_c.uuid) == {}
    assert side.db.get_instance(on_c.uuid) is None
    assert side.boot("p1-7", port_id(1, 7)).host == "host-c"
    assert_agree(side)
    side.delete_all()
    assert assert_agree(side) == {}


@pytest.mark.parametrize("transport", ["in-process", "rpc"])
def test_boots_land_per_placement_and_filters(
    transport: str, request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> None:
    if transport == "rpc":
        cluster: Cluster = request.getfixturevalue("rpc_cluster")
        _landings(cluster.side)
        return
    confs, controller = write_state(tmp_path, None)
    with in_process_side(confs, controller) as side:
        _landings(side)


# --- 2: a service SIGKILLed mid-boot, then restarted -------------------------


def _boot_in_thread(
    side: Side, boot: BootRequest
) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["record"] = side.boot_request(boot)
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _received_by(cluster: Cluster, boot: BootRequest, seconds: float) -> str:
    """The host whose service logged receiving ``boot``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for host in HOSTS:
            if cluster.log_lines(
                host, f"Boot of {boot.name} ({boot.uuid}) received"
            ):
                return host
        time.sleep(0.1)
    raise AssertionError(f"no service received {boot.name}")


def test_killed_before_its_first_write_the_boot_moves_on(
    rpc_cluster: Cluster,
) -> None:
    """The boot waits for the instance's lock (held here) before its
    first write; its service is SIGKILLed there.  No row: the conductor
    frees the allocation after the call's timeout and the next host
    boots the same uuid; the killed host, restarted, has nothing."""
    side = rpc_cluster.side
    locks = InstanceLocks(side.state / "locks")
    boot = BootRequest(name="held", port_ids=(port_id(1, 10),))
    with contextlib.ExitStack() as lock:
        lock.enter_context(locks.hold(boot.uuid))
        start = time.monotonic()
        thread, result = _boot_in_thread(side, boot)
        first = _received_by(rpc_cluster, boot, CALL_TIMEOUT)
        rpc_cluster.kill(first)
    # Released: the next host's boot takes the lock.
    thread.join(CALL_TIMEOUT + 30)
    took = time.monotonic() - start
    assert "error" not in result, result
    record = result["record"]
    assert record.host != first
    assert record.uuid == boot.uuid
    assert CALL_TIMEOUT <= took < CALL_TIMEOUT + 20, took
    where = assert_agree(side)
    assert where == {boot.uuid: record.host}
    rpc_cluster.start(first)
    assert not rpc_cluster.log_lines(first, f"Reconcile of held ({boot.uuid})")
    assert side.db.get_instances_by_host(first) == []
    assert assert_agree(side) == {boot.uuid: record.host}


def test_killed_while_binding_the_boot_is_in_doubt_until_restart(
    rpc_cluster: Cluster,
) -> None:
    """The bind waits for a write transaction held on the binding store;
    the service is SIGKILLed there, after its row, claim and the
    scheduler's allocation.  The conductor does not retry elsewhere (it
    would boot the uuid twice): ServerInDoubt, allocation kept.  The
    restarted service's reconcile rolls the boot back and deletes the
    allocation; a new boot then works."""
    side = rpc_cluster.side
    boot = BootRequest(name="binding", port_ids=(port_id(1, 11),))
    store = sqlite3.connect(
        side.state / "port_bindings.sqlite", isolation_level=None, timeout=30
    )
    try:
        store.execute("BEGIN IMMEDIATE")
        thread, result = _boot_in_thread(side, boot)
        row = _eventually(
            lambda: _in_step(side, boot.uuid, "binding"), CALL_TIMEOUT
        )
        host = str(row.host)
        rpc_cluster.kill(host)
    finally:
        store.execute("ROLLBACK")
        store.close()
    thread.join(CALL_TIMEOUT + 30)
    doubt = result.get("error")
    assert isinstance(doubt, exception.ServerInDoubt), result
    assert doubt.host == host
    assert "building/binding" in str(doubt)
    assert "not retried on another host" in str(doubt)
    # Kept, as the host left it: the row, the VF, the allocation.
    kept = side.db.get_instance(boot.uuid)
    assert kept is not None and kept.host == host
    assert kept.task_state == "binding"
    node_uuid = _nodes(side.db)[host][1]
    assert node_uuid in side.client.allocations(boot.uuid)
    for other in HOSTS:
        if other != host:
            assert not rpc_cluster.log_lines(
                other, f"Boot of binding ({boot.uuid})"
            )
    # Restarted: reconcile rolls it back and frees the allocation.
    rpc_cluster.start(host)
    assert side.db.get_instance(boot.uuid) is None
    assert side.client.allocations(boot.uuid) == {}
    (rolled,) = rpc_cluster.log_lines(
        host, f"Reconcile of binding ({boot.uuid}): boot rolled back"
    )
    assert "Placement allocation deleted" in rolled, rolled
    assert assert_agree(side) == {}
    again = side.boot("binding", port_id(1, 11))
    assert assert_agree(side) == {again.uuid: again.host}


def _in_step(side: Side, uuid: str, step: str) -> InstanceRecord:
    row = side.db.get_instance(uuid)
    assert row is not None and row.task_state == step, row
    return row


# --- 3: the broker SIGKILLed and restarted during boots ----------------------


def test_broker_crash_during_boots_loses_and_doubles_nothing(
    rpc_cluster: Cluster,
) -> None:
    """The broker SIGKILLed during a run of boots and restarted 2 s
    later: every boot is done once or not at all (rows == boots done;
    one VF, one allocation per row); the services reconnect by
    themselves."""
    side = rpc_cluster.side
    outcomes: dict[str, InstanceRecord | Exception] = {}
    boots = [
        BootRequest(name=f"bus-{n}", port_ids=(port_id(1, 12 + n),))
        for n in range(5)
    ]

    def run() -> None:
        for boot in boots:
            try:
                outcomes[boot.name] = side.boot_request(boot)
            except exception.SriovirtError as exc:
                outcomes[boot.name] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _eventually(lambda: _assert(len(outcomes) >= 1), 60)
    rpc_cluster.broker.crash()
    time.sleep(2)
    rpc_cluster.broker.restart()
    thread.join(5 * 3 * (CALL_TIMEOUT + 10) + 30)
    assert not thread.is_alive()
    booted = {
        b.uuid for b in boots if isinstance(outcomes[b.name], InstanceRecord)
    }
    failed = {
        b.uuid: outcomes[b.name]
        for b in boots
        if not isinstance(outcomes[b.name], InstanceRecord)
    }
    assert booted, outcomes
    for error in failed.values():
        # Undeliverable calls name the host and the method; a call
        # whose answer was lost after the row was written is in doubt.
        assert isinstance(
            error, (exception.SchedulingFailed, exception.ServerInDoubt)
        ), repr(error)
        assert "build_and_run_instance on compute host host-" in str(error)
    in_doubt = {
        u for u, e in failed.items() if isinstance(e, exception.ServerInDoubt)
    }
    # The hosts are alive: a boot in doubt finishes there.
    rows = _eventually(lambda: _settled(side), 30)
    assert booted <= set(rows) <= booted | in_doubt, (outcomes, rows)
    # One row per uuid, one VF and one allocation per row.
    assert set(assert_agree(side)) == set(rows)
    for boot in boots:
        names = [
            h for h in HOSTS if side.db.get_instance_by_name(h, boot.name)
        ]
        assert len(names) <= 1, (boot.name, names)
    _reconnected(rpc_cluster, "bus-after", port_id(1, 20))


def test_broker_down_calls_fail_clearly_and_nothing_is_done(
    rpc_cluster: Cluster,
) -> None:
    """The broker SIGKILLed and left down: a boot's calls cannot be
    delivered; each attempt fails within its bound naming the host and
    the method, and nothing is left (no row, no allocation, no VF).
    Restarted, the services reconnect by themselves."""
    side = rpc_cluster.side
    assert side.impatient is not None
    rpc_cluster.broker.crash()
    try:
        boot = BootRequest(name="undelivered", port_ids=(port_id(1, 21),))
        start = time.monotonic()
        with pytest.raises(exception.SchedulingFailed) as caught:
            side.impatient.schedule_and_build(
                boot, server_cmd.request_spec(side.conf, side.network, boot)
            )
        took = time.monotonic() - start
        text = str(caught.value)
        assert "2 host(s) tried" in text, text
        tried = re.findall(
            r"build_and_run_instance on compute host (host-[abc]) "
            r"\(topic sriovirt-compute\)",
            text,
        )
        assert len(set(tried)) == 2, text
        assert "no row written: not started" in text
        assert took < 2 * (IMPATIENT_TIMEOUT + IMPATIENT_SLACK) + 5, took
        assert side.db.get_instance(boot.uuid) is None
        assert side.client.allocations(boot.uuid) == {}
        assert assert_agree(side) == {}
    finally:
        rpc_cluster.broker.restart()
    _reconnected(rpc_cluster, "after-outage", port_id(1, 22))
    # A call abandoned during the outage may still be sent once the
    # broker is back: the host refuses it (its allocation is gone).
    time.sleep(2)
    assert side.db.get_instance(boot.uuid) is None
    for host in HOSTS:
        assert not rpc_cluster.log_lines(host, "Booted server undelivered")
        for line in rpc_cluster.log_lines(host, "Boot of undelivered ("):
            if "received" not in line:
                assert "came too late" in line, line


def _reconnected(cluster: Cluster, name: str, port: str) -> None:
    """Every service answers ping again and a new boot works, without
    restarting any service."""
    pids = {h: s.proc.pid for h, s in cluster.services.items()}
    for host in HOSTS:
        answer = _eventually(lambda h=host: cluster.api.ping(h), 60)
        assert answer["host"] == host
    record = _eventually(lambda: cluster.side.boot(name, port), 30)
    assert record.vm_state == "active"
    assert record.uuid in assert_agree(cluster.side)
    assert {h: s.proc.pid for h, s in cluster.services.items()} == pids
    assert all(s.proc.poll() is None for s in cluster.services.values())


def _assert(condition: bool) -> None:
    assert condition


def _settled(side: Side) -> dict[str, InstanceRecord]:
    rows = side.rows()
    assert all(r.task_state is None for r in rows.values()), rows
    return rows


# --- 4: a service that stops heart-beating -----------------------------------


def test_a_stopped_service_is_skipped_within_service_down_time(
    rpc_cluster: Cluster,
) -> None:
    side = rpc_cluster.side
    state = services.service_state(side.db, float(DOWN_TIME))
    rpc_cluster.services["host-a"].send(signal.SIGSTOP)
    stopped = time.monotonic()
    while state("host-a") is None:
        assert time.monotonic() - stopped < DOWN_TIME + 3
        time.sleep(0.1)
    skipped_after = time.monotonic() - stopped
    # host-a is the only physnet2 host: no valid host, fast, saying why.
    start = time.monotonic()
    with pytest.raises(exception.NoValidHost) as caught:
        side.boot("sleepy", port_id(2, 5))
    assert time.monotonic() - start < 5
    assert (
        "host-a: the sriovirt-compute service of host host-a is down: "
        "last heartbeat" in str(caught.value)
    )
    rpc_cluster.services["host-a"].send(signal.SIGCONT)
    record = _eventually(lambda: side.boot("awake", port_id(2, 6)), 15)
    assert record.host == "host-a"
    assert skipped_after <= DOWN_TIME + 2, skipped_after
