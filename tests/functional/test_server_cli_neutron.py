"""``sriovirt server boot|show|delete`` with ``[network] backend =
neutron``, as subprocesses, against the REAL Neutron of the session.

The commands reach Neutron through ``[neutron] endpoint_override``,
pointed at a loopback proxy (tests/fixtures/faultproxy.py) that adds
the ``X-User-Id``/``X-Project-Id``/``X-Roles: admin,service`` headers
keystone's ``authtoken`` middleware would set from a token: the
fixture's Neutron runs real RBAC without keystone.  The sample
configuration and host otherwise, as tests/functional/test_server_cli.py.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures import faultproxy
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.neutron import AGENT_HOST, PROJECT, NeutronServer
from tests.functional.test_manager_neutron import _post, _vlan
from tests.functional.test_server_cli import Env, _one_error_line

ROLE_HEADERS = {
    "X-User-Id": "sriovirt-compute",
    "X-Project-Id": PROJECT,
    "X-Roles": "admin,service",
}
FOREIGN = {"sriovirt-cli-test": "keep-me"}


@pytest.fixture(scope="module")
def role_proxy(neutron_server: NeutronServer) -> Iterator[FaultProxy]:
    yield from faultproxy.running(neutron_server.url, ROLE_HEADERS)


def _configure(env: Env, text: str) -> None:
    conf = env.conf.read_text()
    conf = conf.replace("host = sample-host", f"host = {AGENT_HOST}")
    conf = conf.replace("[network]\n", f"[network]\n{text}", 1)
    env.conf.write_text(conf)


@pytest.fixture
def neutron_env(tmp_path: pathlib.Path, role_proxy: FaultProxy) -> Env:
    env = Env(tmp_path)
    _configure(env, "backend = neutron\n")
    env.conf.write_text(
        env.conf.read_text()
        + f"\n[neutron]\nendpoint_override = {role_proxy.url}\n"
    )
    refreshed = env.run("pci", "refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    return env


def test_server_commands_boot_show_delete_on_real_neutron(
    neutron_env: Env, neutron_server: NeutronServer
) -> None:
    writer = neutron_server.adapter("admin", "service")
    net = _vlan(writer, "physnet1")
    ports = {
        vnic: _post(
            writer,
            "port",
            {
                "network_id": net["id"],
                "project_id": PROJECT,
                "binding:vnic_type": vnic,
                "binding:profile": FOREIGN,
            },
        )["id"]
        for vnic in ("direct", "normal")
    }

    def truth(port_id: str) -> dict[str, Any]:
        port: dict[str, Any] = writer.get(f"/v2.0/ports/{port_id}").json()[
            "port"
        ]
        return port

    pools = neutron_env.pools()
    server = neutron_env.boot(
        "vm-neutron", "--port", ports["direct"], "--port", ports["normal"]
    )
    assert (server["host"], server["status"]) == (AGENT_HOST, "ACTIVE")
    shown = neutron_env.json("server", "show", "vm-neutron")
    assert shown == server
    direct, normal = shown["interfaces"]
    assert (direct["port_id"], direct["vif_type"]) == (
        ports["direct"],
        "hw_veb",
    )
    assert (normal["port_id"], normal["vif_type"]) == (ports["normal"], "ovs")

    bound = truth(ports["direct"])
    profile = bound["binding:profile"]
    assert profile["pci_slot"] == direct["pci_slot"]
    assert profile["pci_vendor_info"] == "8086:10ed"
    assert profile["physical_network"] == "physnet1"
    assert profile["pf_mac_address"] == "52:54:00:00:00:01"
    # The sample host's VFs are functions 0, 2, 4, 6 of 0000:81:10.
    assert profile["vf_num"] == int(direct["pci_slot"][-1]) // 2
    assert profile["sriovirt-cli-test"] == "keep-me"
    assert bound["binding:host_id"] == AGENT_HOST
    vlan = net["provider:segmentation_id"]
    assert re.search(rf"<tag id=['\"]{vlan}['\"]", server["domain_xml"])

    deleted = neutron_env.run("server", "delete", "vm-neutron")
    assert deleted.returncode == 0, deleted.stderr
    for port_id in ports.values():
        after = truth(port_id)
        assert after["binding:profile"] == FOREIGN
        assert (after["binding:host_id"], after["device_id"]) == ("", "")
    assert neutron_env.pools() == pools
    assert neutron_env.json("server", "list") == []


def test_unknown_backend_is_one_line_naming_value_and_choices(
    tmp_path: pathlib.Path,
) -> None:
    env = Env(tmp_path)
    _configure(env, "backend = quantum\n")
    result: subprocess.CompletedProcess[str] = env.run(
        "server", "boot", "vm", "--port", "p"
    )
    line = _one_error_line(result)
    assert "quantum" in line and "static" in line and "neutron" in line
    assert "[network] backend" in line
    assert json.dumps(env.bindings()) == "{}"
