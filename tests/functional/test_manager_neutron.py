"""The compute manager boots and deletes servers against the REAL Neutron.

The manager is built as the server commands build it: libvirt's test
driver on the sample host (etc/sriovirt/hosts/small.xml: PF 81:00.0
with four VFs on physnet1, PF 82:00.0 with four VFs on physnet2),
SQLite in tmp_path, the resource tracker started, and the network
backend under test:

- ``neutron``: the session's real neutron-server (tests/fixtures/
  neutron.py, real RBAC: read as admin, bind as service) behind a
  fault-injecting loopback proxy (tests/fixtures/faultproxy.py);
  "what Neutron holds" is read from Neutron directly, not through the
  proxy;
- ``static``: the same scenarios on the static backend, with network
  documents that make it bind what Neutron's drivers bind
  (``sriovirt:profileid`` for 802.1qbh, ``sriovirt:vif_type`` ovs).

Each scenario boots one server with one port, checks the bound port
(vif type, ``binding:profile`` keys and values), that the stored guest
XML is the one the binding asks for, then deletes it and checks that
the port is unbound (our keys gone, a foreign key kept) and that the
pools are exactly what they were before the boot.

The fault tests break Neutron at each call the manager makes (the
proxy answers 500 to it, or stops accepting connections) and check
that a failed boot leaves nothing behind: devices free, the port
unbound in Neutron, no guest, no rows, and an error naming the step.
The two networks are shared by the module; every test makes its own
ports.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.compute import reconcile
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import BootRequest, ComputeManager
from sriovirt.compute.reconcile import Outcome
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.api import NetworkAPI
from sriovirt.network.neutron import NeutronNetwork, RetryPolicy
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver
from tests.fixtures import faultproxy
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.neutron import (
    AGENT_HOST,
    PROJECT,
    QBH_HOST,
    NeutronServer,
)

SPEC = [
    '{"address": "0000:81:00.0", "physical_network": "physnet1"}',
    '{"devname": "ens2f0", "physical_network": "physnet2"}',
]
#: The MACs of the sample host's PFs' netdevs (ens1f0, ens2f0).
PF_MAC = {"physnet1": "52:54:00:00:00:01", "physnet2": "52:54:00:00:00:06"}
#: A key another client keeps in binding:profile: never touched by us.
FOREIGN = {"sriovirt-test": "keep-me"}
PCI_KEYS = {"pci_slot", "pci_vendor_info", "physical_network"}
VF_KEYS = PCI_KEYS | {"pf_mac_address", "vf_num"}
#: Two attempts, no waiting: a fault must hit both to fail a step.
RETRY = RetryPolicy(attempts=2, delay=0.0)
ATTEMPTS = RETRY.attempts


# --- the networks ----------------------------------------------------------


@dataclass(frozen=True)
class Nets:
    """The module's Neutron networks: a VLAN on physnet1 and physnet2."""

    physnet1: dict[str, Any]
    physnet2: dict[str, Any]


def _post(adapter: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = adapter.post(f"/v2.0/{kind}s", json={kind: body}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()[kind]
    return created


def _vlan(admin: Any, physnet: str) -> dict[str, Any]:
    net = _post(
        admin,
        "network",
        {
            "name": f"mgr-{physnet}-{uuid.uuid4()}",
            "project_id": PROJECT,
            "provider:network_type": "vlan",
            "provider:physical_network": physnet,
        },
    )
    _post(
        admin,
        "subnet",
        {
            "network_id": net["id"],
            "ip_version": 4,
            "cidr": "10.1.0.0/24",
            "project_id": PROJECT,
        },
    )
    return net


@pytest.fixture(scope="module")
def writer(neutron_server: NeutronServer) -> Any:
    """Admin and service: reads everything, writes binding:profile."""
    return neutron_server.adapter("admin", "service")


@pytest.fixture(scope="module")
def nets(writer: Any) -> Nets:
    return Nets(_vlan(writer, "physnet1"), _vlan(writer, "physnet2"))


@pytest.fixture(scope="module")
def proxy(neutron_server: NeutronServer) -> Iterator[FaultProxy]:
    yield from faultproxy.running(neutron_server.url)


# --- the scenarios ----------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One port kind: what to boot and what the binding must be."""

    name: str
    vnic_type: str
    physnet: str
    vif_type: str
    #: Neutron binds 802.1qbh on hosts named qbh* (fake_qbh).
    qbh: bool = False
    #: No driver binds it: Neutron, on a host without agents; the
    #: static backend, on a GRE segment of the physical network.
    unbindable: bool = False

    @property
    def profile_keys(self) -> set[str]:
        if self.vnic_type == "normal":
            return set()
        if self.vnic_type == "direct-physical":
            return PCI_KEYS
        return VF_KEYS


SCENARIOS = [
    Scenario("direct-hw_veb", "direct", "physnet1", "hw_veb"),
    Scenario("macvtap-hw_veb", "macvtap", "physnet1", "hw_veb"),
    Scenario(
        "direct_physical-hostdev_physical",
        "direct-physical",
        "physnet2",
        "hostdev_physical",
    ),
    Scenario("direct-802.1qbh", "direct", "physnet1", "802.1qbh", qbh=True),
    Scenario("macvtap-802.1qbh", "macvtap", "physnet1", "802.1qbh", qbh=True),
    Scenario("normal-ovs", "normal", "physnet1", "ovs"),
]


# --- the world: a manager on the sample host and one backend ---------------


class Backend:
    """Ports of one network backend, and what it really holds."""

    network: NetworkAPI

    def port(self, scenario: Scenario) -> str:
        raise NotImplementedError

    def truth(self, port_id: str) -> dict[str, Any]:
        """The port as the network service holds it (no proxy)."""
        raise NotImplementedError

    def vlan(self, physnet: str) -> int:
        raise NotImplementedError


class NeutronBackend(Backend):
    def __init__(
        self, server: NeutronServer, proxy: FaultProxy, nets: Nets, writer: Any
    ) -> None:
        self._server = server
        self.proxy = proxy
        self.nets = nets
        self.writer = writer
        self.network = self.through(proxy)

    def through(self, proxy: FaultProxy) -> NeutronNetwork:
        """The backend the manager uses, reaching Neutron via ``proxy``."""
        reader = self._adapter("admin", proxy)
        binder = self._adapter("service", proxy)
        return NeutronNetwork(reader=reader, binder=binder, retry=RETRY)

    def _adapter(self, role: str, proxy: FaultProxy) -> Any:
        adapter = self._server.adapter(role)
        adapter.endpoint_override = proxy.url
        return adapter

    def port(self, scenario: Scenario) -> str:
        net = getattr(self.nets, scenario.physnet)
        body = {
            "network_id": net["id"],
            "project_id": PROJECT,
            "binding:vnic_type": scenario.vnic_type,
            "binding:profile": FOREIGN,
        }
        port_id: str = _post(self.writer, "port", body)["id"]
        return port_id

    def truth(self, port_id: str) -> dict[str, Any]:
        resp = self.writer.get(f"/v2.0/ports/{port_id}", raise_exc=False)
        assert resp.status_code == 200, resp.text
        port: dict[str, Any] = resp.json()["port"]
        return port

    def vlan(self, physnet: str) -> int:
        net = getattr(self.nets, physnet)
        return int(net["provider:segmentation_id"])


STATIC_VLANS = {"physnet1": 142, "physnet2": 342}


def _static_net_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sriovirt-test:{name}"))


class StaticBackend(Backend):
    """Networks that make the static backend bind what Neutron binds."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "ports.json"
        networks = []
        for physnet, vlan in STATIC_VLANS.items():
            base = {
                "mtu": 1500,
                "provider:network_type": "vlan",
                "provider:physical_network": physnet,
                "provider:segmentation_id": vlan,
            }
            networks.append({**base, "id": _static_net_id(physnet)})
            # A segment type sriovnicswitch does not bind.
            networks.append(
                {
                    **base,
                    "id": _static_net_id(f"{physnet}-gre"),
                    "provider:network_type": "gre",
                }
            )
            networks.append(
                {
                    **base,
                    "id": _static_net_id(f"{physnet}-qbh"),
                    "sriovirt:profileid": f"qbh-profile-{physnet}",
                }
            )
            networks.append(
                {
                    **base,
                    "id": _static_net_id(f"{physnet}-ovs"),
                    "sriovirt:vif_type": "ovs",
                }
            )
        self._doc: dict[str, Any] = {"networks": networks, "ports": []}
        self._write()
        self.network = self.static = StaticNetwork(
            ports_file=self.path, state_file=tmp_path / "bindings.json"
        )

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._doc))
        tmp.replace(self.path)

    def port(self, scenario: Scenario) -> str:
        suffix = ""
        if scenario.unbindable:
            suffix = "-gre"
        elif scenario.qbh:
            suffix = "-qbh"
        elif scenario.vif_type == "ovs":
            suffix = "-ovs"
        port_id = str(uuid.uuid4())
        n = len(self._doc["ports"]) + 1
        self._doc["ports"].append(
            {
                "id": port_id,
                "network_id": _static_net_id(f"{scenario.physnet}{suffix}"),
                "mac_address": f"fa:16:3e:00:02:{n:02x}",
                "admin_state_up": True,
                "status": "DOWN",
                "device_id": "",
                "device_owner": "",
                "binding:vnic_type": scenario.vnic_type,
                "binding:host_id": "",
                "binding:profile": dict(FOREIGN),
                "binding:vif_type": "unbound",
                "binding:vif_details": {},
            }
        )
        self._write()
        return port_id

    def truth(self, port_id: str) -> dict[str, Any]:
        return self.static.show_port(port_id)

    def vlan(self, physnet: str) -> int:
        return STATIC_VLANS[physnet]


@dataclass
class World:
    manager: ComputeManager
    db: api.Database
    rt: ResourceTracker
    backend: Backend
    host: str

    def pools(self) -> list[tuple[str, str, int]]:
        node = self.db.get_compute_node(
            self.host, self.manager.driver.nodename()
        )
        assert node is not None and node.pci_stats is not None
        return sorted(
            (
                f"{p['vendor_id']}:{p['product_id']}",
                json.dumps(p["tags"], sort_keys=True),
                p["count"],
            )
            for p in json.loads(node.pci_stats)
        )

    def owners(self) -> dict[str, tuple[str, str | None]]:
        node = self.db.get_compute_node(
            self.host, self.manager.driver.nodename()
        )
        assert node is not None
        return {
            r.address: (r.status, r.instance_uuid)
            for r in self.db.get_pci_devices(node.id)
        }

    def assert_unbound(self, port_id: str) -> None:
        port = self.backend.truth(port_id)
        assert port["binding:profile"] == FOREIGN, port["binding:profile"]
        assert port["binding:host_id"] == ""
        assert port["device_id"] == ""
        assert port["binding:vif_type"] == "unbound"

    def assert_nothing_left(
        self, pools: list[tuple[str, str, int]], *port_ids: str
    ) -> None:
        assert self.pools() == pools
        assert all(owner is None for _, owner in self.owners().values())
        for port_id in port_ids:
            self.assert_unbound(port_id)
        assert self.manager.driver.list_instances() == ()
        assert self.db.get_instances_by_host(self.host) == []


def _world(tmp_path: Path, backend: Backend, host: str) -> Iterator[World]:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    conf.set_override("host", host)
    uri = paths.test_driver_uri(paths.sample_host("small"))
    driver = LibvirtDriver.for_connection(conf, uri)
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    api.sync(url)
    try:
        with api.Database(url) as db:
            rt = ResourceTracker(host, driver, db, Whitelist.from_config(SPEC))
            rt.start()
            manager = ComputeManager(
                driver=driver,
                resource_tracker=rt,
                network=backend.network,
                database=db,
                host=host,
                locks=InstanceLocks(tmp_path / "locks"),
            )
            yield World(manager, db, rt, backend, host)
    finally:
        driver.host.close()


MakeWorld = Callable[[str, "Scenario | None"], "World"]


@pytest.fixture
def make_world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[MakeWorld]:
    """``make_world(backend, scenario)``: a world on the right host."""
    made: list[Iterator[World]] = []

    def make(kind: str, scenario: Scenario | None = None) -> World:
        qbh = scenario is not None and scenario.qbh
        if kind == "neutron":
            backend: Backend = NeutronBackend(
                request.getfixturevalue("neutron_server"),
                request.getfixturevalue("proxy"),
                request.getfixturevalue("nets"),
                request.getfixturevalue("writer"),
            )
            host = QBH_HOST if qbh else AGENT_HOST
            if scenario is not None and scenario.unbindable:
                host = "no-agent-host"
        else:
            backend = StaticBackend(tmp_path)
            host = AGENT_HOST
        gen = _world(tmp_path, backend, host)
        made.append(gen)
        return next(gen)

    yield make
    for gen in made:
        gen.close()


# --- boot and delete, every kind of port ----------------------------------


def _guest_device(xml: str) -> etree._Element:
    """The one network device of the stored guest XML."""
    root = etree.fromstring(xml.encode())
    found = root.findall("devices/interface") + root.findall("devices/hostdev")
    assert len(found) == 1, xml
    return found[0]


def _pci(address: etree._Element) -> str:
    return "{:04x}:{:02x}:{:02x}.{:x}".format(
        *(
            int(address.get(k, "0"), 16)
            for k in ("domain", "bus", "slot", "function")
        )
    )


def _check_xml(
    world: World, scenario: Scenario, port: dict[str, Any], xml: str
) -> None:
    """The stored guest device is the one the binding asks for."""
    dev = _guest_device(xml)
    details = port["binding:vif_details"]
    profile = port["binding:profile"]
    if scenario.vif_type == "hostdev_physical":
        assert dev.tag == "hostdev"
        assert _pci(dev.find("source/address")) == profile["pci_slot"]
        return
    assert dev.tag == "interface"
    if scenario.vif_type == "ovs":
        assert dev.get("type") == "bridge"
        assert dev.find("source").get("bridge") == details["bridge_name"]
        vport = dev.find("virtualport")
        assert vport.get("type") == "openvswitch"
        assert vport.find("parameters").get("interfaceid") == port["id"]
        return
    if scenario.vnic_type == "direct":
        assert dev.get("type") == "hostdev"
        source = _pci(dev.find("source/address"))
        assert source == profile["pci_slot"]
    else:
        assert dev.get("type") == "direct"
        assert dev.find("source").get("mode") == "passthrough"
        # The netdev of the claimed VF (ens1f0v<vf_num>).
        assert dev.find("source").get("dev") == f"ens1f0v{profile['vf_num']}"
    if scenario.vif_type == "hw_veb":
        vlan = int(details["vlan"])
        assert vlan == world.backend.vlan(scenario.physnet)
        assert [t.get("id") for t in dev.findall("vlan/tag")] == [str(vlan)]
        assert dev.find("virtualport") is None
    else:
        vport = dev.find("virtualport")
        assert vport.get("type") == "802.1Qbh"
        profileid = vport.find("parameters").get("profileid")
        assert profileid == details["profileid"]
        assert profileid == f"qbh-profile-{scenario.physnet}"
        assert dev.find("vlan") is None


@pytest.mark.parametrize("kind", ["neutron", "static"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_boot_binds_plugs_and_delete_restores(
    make_world: MakeWorld,
    kind: str,
    scenario: Scenario,
) -> None:
    world = make_world(kind, scenario)
    port_id = world.backend.port(scenario)
    pools = world.pools()
    server = str(uuid.uuid4())
    boot = BootRequest(name="vm", port_ids=(port_id,), uuid=server)

    record = world.manager.build_and_run_instance(boot)

    port = world.backend.truth(port_id)
    assert port["binding:vif_type"] == scenario.vif_type
    assert port["binding:host_id"] == world.host
    assert port["device_id"] == server
    profile = port["binding:profile"]
    assert set(profile) == set(FOREIGN) | scenario.profile_keys
    assert {k: profile[k] for k in FOREIGN} == FOREIGN
    if scenario.profile_keys:
        assert profile["physical_network"] == scenario.physnet
        assert world.owners()[profile["pci_slot"]] == ("allocated", server)
    if scenario.profile_keys == VF_KEYS:
        assert profile["pci_vendor_info"] == "8086:10ed"
        assert profile["pf_mac_address"] == PF_MAC[scenario.physnet]
        # The sample host's VFs are functions 0, 2, 4, 6 of slot 0x10.
        function = int(profile["pci_slot"].rsplit(".", 1)[1])
        assert profile["vf_num"] == function // 2
    stored = world.db.get_instance(server)
    assert stored is not None and stored.domain_xml == record.domain_xml
    assert stored.domain_xml is not None
    _check_xml(world, scenario, port, stored.domain_xml)
    assert world.pools() != pools or not scenario.profile_keys

    world.manager.terminate_instance(server)
    world.assert_nothing_left(pools, port_id)


@pytest.mark.parametrize("kind", ["neutron", "static"])
def test_binding_failed_is_one_contract_and_rolls_back(
    make_world: MakeWorld, kind: str
) -> None:
    scenario = Scenario(
        "direct-unbindable", "direct", "physnet1", "", unbindable=True
    )
    world = make_world(kind, scenario)
    port_id = world.backend.port(scenario)
    pools = world.pools()
    boot = BootRequest(name="vm", port_ids=(port_id,))
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(boot)
    assert err.value.step == f"bind port {port_id}"
    # Both backends raise PortBindingFailed naming port and host.
    cause = err.value.__cause__
    assert isinstance(cause, exception.PortBindingFailed)
    assert (cause.port_id, cause.host) == (port_id, world.host)
    assert "binding_failed" in str(err.value)
    world.assert_nothing_left(pools, port_id)


# --- Neutron faults at each call the manager makes --------------------------

PORT_PATH = r"^/v2\.0/ports/[^/]+$"
NET_PATH = r"^/v2\.0/networks/[^/]+$"
DIRECT = Scenario("direct-hw_veb", "direct", "physnet1", "hw_veb")


@dataclass(frozen=True)
class Call:
    """One Neutron call of the manager: the nth request of its kind."""

    name: str
    method: str
    path: str
    nth: int
    step: str = ""


#: The manager's calls in a one-port boot, in order: read the port and
#: its network, then bind (read, PUT, re-read), then the network again
#: for the VIF.
BOOT_CALLS = [
    Call("show-port", "GET", PORT_PATH, 1, "read ports"),
    Call("show-network", "GET", NET_PATH, 1, "read ports"),
    Call("bind-read", "GET", PORT_PATH, 2, "bind port {port}"),
    Call("bind-put", "PUT", PORT_PATH, 1, "bind port {port}"),
    Call("bind-reread", "GET", PORT_PATH, 3, "bind port {port}"),
    Call("vif-network", "GET", NET_PATH, 2, "VIFs"),
]
#: From the bind on, a Neutron that stays unreachable leaves the port's
#: state unknown (a PUT may have landed): the rollback cannot confirm it
#: unbound, so it keeps the row and the device, and reconcile finishes.
AFTER_THE_PUT = {"bind-read", "bind-put", "bind-reread", "vif-network"}


@pytest.fixture
def neutron_world(
    make_world: MakeWorld,
    proxy: FaultProxy,
) -> Iterator[World]:
    proxy.clear()
    yield make_world("neutron", DIRECT)
    proxy.clear()


def _failed_boot(world: World, port_ids: tuple[str, ...], step: str) -> str:
    pools = world.pools()
    boot = BootRequest(name="vm", port_ids=port_ids)
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(boot)
    assert err.value.step == step
    message = str(err.value)
    assert f"failed at step {step}" in message and "\n" not in message
    world.assert_nothing_left(pools, *port_ids)
    return message


@pytest.mark.parametrize("call", BOOT_CALLS, ids=lambda c: c.name)
def test_neutron_500_at_each_boot_call_leaves_nothing(
    neutron_world: World, proxy: FaultProxy, call: Call
) -> None:
    port_id = neutron_world.backend.port(DIRECT)
    proxy.fail(call.method, call.path, nth=call.nth, times=ATTEMPTS)
    message = _failed_boot(
        neutron_world, (port_id,), call.step.format(port=port_id)
    )
    assert "HTTP 500" in message
    assert f"after {ATTEMPTS} attempt(s)" in message
    injected = [e for e in proxy.log if e.outcome == "injected 500"]
    assert len(injected) == ATTEMPTS


def test_neutron_500_once_is_retried_and_the_boot_succeeds(
    neutron_world: World, proxy: FaultProxy
) -> None:
    port_id = neutron_world.backend.port(DIRECT)
    proxy.fail("PUT", PORT_PATH, nth=1, times=1)
    server = str(uuid.uuid4())
    boot = BootRequest(name="vm", port_ids=(port_id,), uuid=server)
    neutron_world.manager.build_and_run_instance(boot)
    assert neutron_world.backend.truth(port_id)["device_id"] == server
    outcomes = [e.outcome for e in proxy.calls("PUT", PORT_PATH)]
    assert outcomes == ["injected 500", "200"]


def test_second_port_failing_unbinds_the_first(
    neutron_world: World, proxy: FaultProxy
) -> None:
    normal = Scenario("normal-ovs", "normal", "physnet1", "ovs")
    first = neutron_world.backend.port(normal)
    second = neutron_world.backend.port(DIRECT)
    # The second bind's PUT: the first port is bound by then.
    proxy.fail("PUT", PORT_PATH, nth=2, times=ATTEMPTS)
    _failed_boot(neutron_world, (first, second), f"bind port {second}")
    assert [e.outcome for e in proxy.calls("PUT", first)] == ["200", "200"]


def _left_for_reconcile(
    world: World, port_ids: tuple[str, ...], step: str, network: Any
) -> str:
    """A boot whose rollback cannot unbind: the row stays journalled and
    the devices held (the bound port names its VF); once Neutron answers
    again, reconcile rolls the rest back and nothing is left."""
    pools = world.pools()
    boot = BootRequest(name="vm", port_ids=port_ids)
    with pytest.raises(exception.BuildFailed) as err:
        world.manager.build_and_run_instance(boot)
    assert err.value.step == step
    message = str(err.value)
    assert "rollback did not finish" in message
    assert "free devices" in message and "kept until reconcile" in message
    row = world.db.get_instance(boot.uuid)
    assert row is not None
    assert (row.vm_state, row.task_state) == ("building", "rolling back")
    assert world.pools() != pools
    assert world.manager.driver.list_instances() == ()
    world.manager.network = network
    report = reconcile.reconcile(world.manager, resume=False)
    assert [(f.uuid, f.outcome) for f in report.findings] == [
        (boot.uuid, Outcome.ROLLED_BACK)
    ]
    world.assert_nothing_left(pools, *port_ids)
    return message


@pytest.mark.parametrize("call", BOOT_CALLS, ids=lambda c: c.name)
def test_neutron_unreachable_at_each_boot_call_leaves_nothing(
    neutron_world: World, neutron_server: NeutronServer, call: Call
) -> None:
    # A proxy of its own: once it refuses, it never answers again.
    with faultproxy.serving(neutron_server.url) as proxy:
        backend = neutron_world.backend
        assert isinstance(backend, NeutronBackend)
        direct = neutron_world.manager.network
        neutron_world.manager.network = backend.through(proxy)
        port_id = backend.port(DIRECT)
        proxy.refuse_at(call.method, call.path, nth=call.nth)
        step = call.step.format(port=port_id)
        if call.name in AFTER_THE_PUT:
            message = _left_for_reconcile(
                neutron_world, (port_id,), step, direct
            )
        else:
            message = _failed_boot(neutron_world, (port_id,), step)
        assert "no answer" in message
        assert f"after {ATTEMPTS} attempt(s)" in message
        assert proxy.refused


def test_neutron_500_at_rollback_unbind_is_finished_by_reconcile(
    neutron_world: World, proxy: FaultProxy
) -> None:
    port_id = neutron_world.backend.port(DIRECT)
    proxy.fail("GET", NET_PATH, nth=2, times=ATTEMPTS)  # the VIFs step
    proxy.fail("PUT", PORT_PATH, nth=2, times=ATTEMPTS)  # its unbind
    network = neutron_world.manager.network
    message = _left_for_reconcile(neutron_world, (port_id,), "VIFs", network)
    assert f"unbind port {port_id}" in message and "HTTP 500" in message


#: The delete's calls: the manager's own read, then unbind_port's read,
#: PUT and re-read.
DELETE_CALLS = [
    Call("own-read", "GET", PORT_PATH, 1),
    Call("unbind-read", "GET", PORT_PATH, 2),
    Call("unbind-put", "PUT", PORT_PATH, 1),
    Call("unbind-reread", "GET", PORT_PATH, 3),
]


@pytest.mark.parametrize("fault", ["500", "unreachable"])
@pytest.mark.parametrize("call", DELETE_CALLS, ids=lambda c: c.name)
def test_neutron_fault_at_delete_keeps_the_rows_and_delete_again_finishes(
    neutron_world: World,
    neutron_server: NeutronServer,
    fault: str,
    call: Call,
) -> None:
    backend = neutron_world.backend
    assert isinstance(backend, NeutronBackend)
    port_id = backend.port(DIRECT)
    pools = neutron_world.pools()
    server = str(uuid.uuid4())
    neutron_world.manager.build_and_run_instance(
        BootRequest(name="vm", port_ids=(port_id,), uuid=server)
    )
    with faultproxy.serving(neutron_server.url) as proxy:
        neutron_world.manager.network = backend.through(proxy)
        if fault == "500":
            proxy.fail(call.method, call.path, nth=call.nth, times=ATTEMPTS)
        else:
            proxy.refuse_at(call.method, call.path, nth=call.nth)
        with pytest.raises(exception.DeleteFailed) as err:
            neutron_world.manager.terminate_instance(server)
        assert err.value.step == f"unbind port {port_id}"
        assert "\n" not in str(err.value)
    # The rows stay, so the delete can be run again; the guest is gone.
    assert neutron_world.db.get_instance(server) is not None
    assert neutron_world.manager.driver.list_instances() == ()
    neutron_world.manager.network = backend.network
    neutron_world.manager.terminate_instance(server)
    neutron_world.assert_nothing_left(pools, port_id)
