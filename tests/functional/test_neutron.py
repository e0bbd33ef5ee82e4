"""The Neutron network backend against the REAL Neutron API server.

One neutron-server per session (tests/fixtures/neutron.py), in real RBAC
mode: ports and networks are read with the ``admin`` role and bindings
written with the ``service`` role, as Neutron's new default policies
want; a client that binds as admin is refused, and a test proves it.
Each test makes its own networks and ports.  The 500 and the
unreachable cases use a tiny loopback HTTP server and a closed port.
"""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from sriovirt import exception
from sriovirt.network.api import PciBinding, PortBinding, request_for
from sriovirt.network.model import VIF
from sriovirt.network.neutron import NeutronNetwork, RetryPolicy
from sriovirt.network.values import DevType
from sriovirt.pci.address import PciAddress
from tests.fixtures.neutron import AGENT_HOST, PROJECT, NeutronServer

PCI = PciBinding(
    address=PciAddress.parse("0000:81:10.2"),
    vendor_id="8086",
    product_id="10ed",
    physical_network="physnet1",
    pf_mac_address="52:54:00:12:34:56",
    vf_num=2,
)
# Keys another client put there; "capabilities: [switchdev]" would make
# sriovnicswitch refuse the port (real Neutron: binding_failed).
FOREIGN = {"sriovirt-test": "keep-me", "owner-note": {"n": 1}}


@pytest.fixture(scope="module")
def admin(neutron_server: NeutronServer) -> Any:
    return neutron_server.adapter("admin")


@pytest.fixture(scope="module")
def api(neutron_server: NeutronServer) -> NeutronNetwork:
    return NeutronNetwork(
        reader=neutron_server.adapter("admin"),
        binder=neutron_server.adapter("service"),
    )


def _post(adapter: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = adapter.post(f"/v2.0/{kind}s", json={kind: body}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()[kind]
    return created


def _network(admin: Any, **provider: Any) -> dict[str, Any]:
    net = _post(
        admin,
        "network",
        {"name": f"net-{uuid.uuid4()}", "project_id": PROJECT, **provider},
    )
    _post(
        admin,
        "subnet",
        {
            "network_id": net["id"],
            "ip_version": 4,
            "cidr": "10.0.0.0/24",
            "project_id": PROJECT,
        },
    )
    return net


def _vlan_net(admin: Any) -> dict[str, Any]:
    return _network(
        admin,
        **{
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
        },
    )


def _port(
    neutron_server: NeutronServer, net: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    # binding:profile may be set by the service role only.
    writer = neutron_server.adapter("admin", "service")
    body = {
        "network_id": net["id"],
        "project_id": PROJECT,
        "binding:vnic_type": "direct",
        **extra,
    }
    return _post(writer, "port", body)


def test_show_port_and_network(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net)
    shown = api.show_port(port["id"])
    assert shown["id"] == port["id"]
    assert shown["binding:vnic_type"] == "direct"
    network = api.show_network(net["id"])
    assert network["provider:physical_network"] == "physnet1"
    request = request_for(api, port["id"])
    assert request.physical_network == "physnet1"
    assert request.dev_type is DevType.VF


def test_multi_segment_network_uses_first_physnet(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    segments = [
        {"provider:network_type": "vxlan"},
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet2",
        },
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
        },
    ]
    net = _network(admin, segments=segments)
    port = _port(neutron_server, net)
    assert "segments" in api.show_network(net["id"])
    assert request_for(api, port["id"]).physical_network == "physnet2"


def test_sriov_port_on_network_without_physnet_is_clear_error(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    net = _network(admin, **{"provider:network_type": "vxlan"})
    port = _port(neutron_server, net)
    with pytest.raises(exception.VifError) as err:
        request_for(api, port["id"])
    assert port["id"] in str(err.value)
    assert "physical_network" in str(err.value)


def _binding(host: str = AGENT_HOST) -> PortBinding:
    return PortBinding(host=host, device_id=str(uuid.uuid4()), pci=PCI)


def test_bind_writes_profile_and_neutron_binds_hw_veb(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net)
    binding = _binding()
    bound = api.bind_port(port["id"], binding)
    assert bound["binding:host_id"] == AGENT_HOST
    assert bound["device_id"] == binding.device_id
    assert bound["device_owner"] == "compute:nova"
    assert bound["binding:profile"] == PCI.profile()
    # Neutron's sriovnicswitch driver bound it, with the segment's VLAN.
    assert bound["binding:vif_type"] == "hw_veb"
    vlan = str(net["provider:segmentation_id"])
    assert bound["binding:vif_details"]["vlan"] == vlan
    vif = VIF.from_port(bound, api.show_network(net["id"]))
    assert vif.vlan == int(vlan)
    assert api.show_port(port["id"]) == bound


@pytest.mark.parametrize(
    ("vnic_type", "vif_type"),
    [("macvtap", "hw_veb"), ("direct-physical", "hostdev_physical")],
)
def test_other_pci_vnic_types_bind_as_neutron_decides(
    api: NeutronNetwork,
    admin: Any,
    neutron_server: NeutronServer,
    vnic_type: str,
    vif_type: str,
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net, **{"binding:vnic_type": vnic_type})
    bound = api.bind_port(port["id"], _binding())
    assert bound["binding:vif_type"] == vif_type
    vlan = str(net["provider:segmentation_id"])
    assert bound["binding:vif_details"]["vlan"] == vlan


def test_unbind_keeps_foreign_profile_keys(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net, **{"binding:profile": FOREIGN})
    bound = api.bind_port(port["id"], _binding())
    assert bound["binding:profile"] == {**FOREIGN, **PCI.profile()}
    unbound = api.unbind_port(port["id"])
    assert unbound["binding:profile"] == FOREIGN
    assert unbound["binding:host_id"] == ""
    assert unbound["device_id"] == ""
    assert unbound["device_owner"] == ""
    assert unbound["binding:vif_type"] == "unbound"
    # Unbinding an unbound port changes nothing.
    assert api.unbind_port(port["id"]) == unbound


def test_binding_failed_names_port_and_host_and_unbinds(
    api: NeutronNetwork, admin: Any, neutron_server: NeutronServer
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net)
    with pytest.raises(exception.PortBindingFailed) as err:
        api.bind_port(port["id"], _binding(host="no-agent-host"))
    assert port["id"] in str(err.value)
    assert "no-agent-host" in str(err.value)
    assert "binding_failed" in str(err.value)
    assert err.value.port_id == port["id"]
    after = api.show_port(port["id"])
    assert after["binding:host_id"] == ""
    assert after["binding:profile"] == {}


def test_binding_as_admin_is_refused_by_rbac(
    admin: Any, neutron_server: NeutronServer
) -> None:
    net = _vlan_net(admin)
    port = _port(neutron_server, net)
    sleeps: list[float] = []
    wrong = NeutronNetwork(reader=admin, binder=admin, sleep=sleeps.append)
    with pytest.raises(exception.NeutronError) as err:
        wrong.bind_port(port["id"], _binding())
    message = str(err.value)
    assert "\n" not in message
    assert f"PUT /v2.0/ports/{port['id']}" in message
    assert "HTTP 403" in message
    assert err.value.attempts == 1 and sleeps == []  # 4xx: no retry
    assert wrong.show_port(port["id"])["binding:host_id"] == ""


def test_member_cannot_read_physical_network(
    neutron_server: NeutronServer, admin: Any
) -> None:
    net = _network(
        admin,
        shared=True,
        **{
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
        },
    )
    member = NeutronNetwork(reader=neutron_server.adapter("member"))
    assert "provider:physical_network" not in member.show_network(net["id"])


def test_unknown_port_and_network(api: NeutronNetwork) -> None:
    missing_id = str(uuid.uuid4())
    with pytest.raises(exception.PortNotFound) as err:
        api.show_port(missing_id)
    assert missing_id in str(err.value)
    assert "Neutron at http://127.0.0.1:" in str(err.value)
    with pytest.raises(exception.PortNotFound):
        api.bind_port(missing_id, _binding())
    with pytest.raises(exception.NetworkNotFound):
        api.show_network(missing_id)


class _Always500(http.server.BaseHTTPRequestHandler):
    calls: ClassVar[list[str]] = []
    #: Answer 500 this many times, then 200 with a port (-1: always).
    failures: ClassVar[int] = -1

    def _answer(self) -> None:
        self.calls.append(f"{self.command} {self.path}")
        status = (
            500
            if len(self.calls) <= self.failures or (self.failures < 0)
            else 200
        )
        if status == 200:
            body = b'{"port": {"id": "p-flaky"}}'
        else:
            body = b'{"NeutronError": {"type": "HTTPInternalServerError", '
            body += b'"message": "Request Failed: internal server error"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def broken_neutron() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Always500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Always500.calls = []
    _Always500.failures = -1
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _api_at(
    neutron_server: NeutronServer, url: str, sleeps: list[float]
) -> NeutronNetwork:
    adapter = neutron_server.adapter("admin")
    adapter.endpoint_override = url
    return NeutronNetwork(
        reader=adapter,
        retry=RetryPolicy(attempts=3, delay=0.05),
        sleep=sleeps.append,
    )


def test_500_is_retried_then_reported(
    neutron_server: NeutronServer, broken_neutron: str
) -> None:
    sleeps: list[float] = []
    api = _api_at(neutron_server, broken_neutron, sleeps)
    with pytest.raises(exception.NeutronUnavailable) as err:
        api.show_port("p-500")
    path = "/v2.0/ports/p-500"
    assert _Always500.calls == [f"GET {path}"] * 3
    assert sleeps == [0.05, 0.1]
    assert str(err.value) == (
        f"Neutron GET {path} for port p-500 failed after 3 attempt(s): "
        "HTTP 500 HTTPInternalServerError: Request Failed: internal "
        "server error"
    )


def test_500_once_is_retried_and_then_answers(
    neutron_server: NeutronServer, broken_neutron: str
) -> None:
    _Always500.failures = 1
    sleeps: list[float] = []
    api = _api_at(neutron_server, broken_neutron, sleeps)
    assert api.show_port("p-flaky") == {"id": "p-flaky"}
    assert len(_Always500.calls) == 2 and sleeps == [0.05]


def test_unreachable_neutron_is_retried_then_reported(
    neutron_server: NeutronServer,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sleeps: list[float] = []
    api = _api_at(neutron_server, closed, sleeps)
    with pytest.raises(exception.NeutronUnavailable) as err:
        api.bind_port("p-down", _binding())
    assert len(sleeps) == 2
    message = str(err.value)
    assert "\n" not in message
    assert "GET /v2.0/ports/p-down for port p-down" in message
    assert "failed after 3 attempt(s): no answer" in message
