"""``sriovirt server boot|list|show|delete`` as subprocesses, as
operators (and ``make run``) run them: a copy of the sample
configuration and ports file in a temporary directory, the sample host
through libvirt's test driver, SQLite.

Each command is its own process, so a later one sees what an earlier
one stored (the database, the port binding state) and not its guests
(the test driver forgets them when the process exits).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
from typing import Any

import pytest
from lxml import etree

from sriovirt import paths
from sriovirt.network.binding_store import BindingStore
from tests.functional.test_cli import _run, manage, sriovirt

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_CONF = ROOT / "etc" / "sriovirt" / "sriovirt.conf"
SAMPLE_PORTS = ROOT / "etc" / "sriovirt" / "ports.json"

DIRECT = "6f0c1e2a-0000-4000-8000-000000000001"
MACVTAP = "6f0c1e2a-0000-4000-8000-000000000002"
PHYSICAL = "6f0c1e2a-0000-4000-8000-000000000003"
NORMAL = "6f0c1e2a-0000-4000-8000-000000000004"
VLAN_NET = "3c5d7e9f-0000-4000-8000-000000000001"
#: Direct ports on physnet1 beyond the sample's (its PF has 4 VFs).
EXTRA = tuple(f"6f0c1e2a-0000-4000-8000-0000000001{n:02d}" for n in range(3))
#: The test driver is not QEMU: no host has COMPUTE_NET_VIRTIO_PACKED, so
#: a packed boot is forced onto the sample host (no filters run).
PACKED = (
    "--flavor-extra-spec",
    "hw:virtio_packed_ring=true",
    "--force-host",
    "sample-host",
)


class Env:
    def __init__(self, tmp_path: pathlib.Path) -> None:
        self.dir = tmp_path
        self.state = tmp_path / "state"
        doc = json.loads(SAMPLE_PORTS.read_text())
        for n, port_id in enumerate(EXTRA):
            port = dict(doc["ports"][0])
            port.update(
                id=port_id,
                name=f"extra-{n}",
                mac_address=f"fa:16:3e:00:01:{n:02x}",
            )
            doc["ports"].append(port)
        ports = tmp_path / "ports.json"
        ports.write_text(json.dumps(doc))
        text = SAMPLE_CONF.read_text().replace(
            "state_path = .state", f"state_path = {self.state}"
        )
        text += (
            f"\n[libvirt]\nconnection_uri = "
            f"{paths.test_driver_uri(paths.sample_host('small'))}\n"
            f"\n[network]\nports_file = {ports}\n"
        )
        self.conf = tmp_path / "sriovirt.conf"
        self.conf.write_text(text)
        synced = manage(tmp_path, self.conf, "db", "sync")
        assert synced.returncode == 0, synced.stderr
        refreshed = self.run("pci", "refresh")
        assert refreshed.returncode == 0, refreshed.stderr

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return sriovirt(self.dir, self.conf, *args)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", result.stderr
        return json.loads(result.stdout)

    def boot(self, name: str, *args: str) -> dict[str, Any]:
        server: dict[str, Any] = self.json("server", "boot", name, *args)
        return server

    def pools(self) -> Any:
        return self.json("pci", "pools")

    def bindings(self) -> dict[str, Any]:
        return BindingStore(self.state / "port_bindings.sqlite").all()

    def devices(self) -> dict[str, tuple[str, str | None]]:
        return {
            d["address"]: (d["status"], d["instance_uuid"])
            for d in self.json("pci", "list")
        }

    def snapshot(self) -> tuple[Any, ...]:
        return (
            self.pools(),
            self.bindings(),
            self.devices(),
            self.json("server", "list"),
        )


@pytest.fixture
def env(tmp_path: pathlib.Path) -> Env:
    return Env(tmp_path)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _packed(xml: str) -> list[tuple[str | None, str | None]]:
    """(interface type, driver packed) of each guest interface."""
    root = etree.fromstring(xml.encode())
    found = []
    for iface in root.findall("devices/interface"):
        driver = iface.find("driver")
        packed = None if driver is None else driver.get("packed")
        found.append((iface.get("type"), packed))
    return found


INTERFACE_KEYS = {
    "port_id",
    "vnic_type",
    "vif_type",
    "pci_slot",
    "pci_request_id",
    "physical_network",
}


def test_boot_each_kind_show_later_list_and_delete_frees(env: Env) -> None:
    before = env.snapshot()
    servers = {
        "vm-direct": env.boot("vm-direct", "--port", DIRECT),
        "vm-macvtap": env.boot("vm-macvtap", "--port", MACVTAP, *PACKED),
        "vm-physical": env.boot("vm-physical", "--port", PHYSICAL),
        "vm-packed": env.boot("vm-packed", "--port", NORMAL, *PACKED),
    }
    for name, server in servers.items():
        assert set(server) == {
            "name",
            "uuid",
            "host",
            "status",
            "interfaces",
            "domain_xml",
        }
        assert (server["name"], server["host"], server["status"]) == (
            name,
            "sample-host",
            "ACTIVE",
        )
        (iface,) = server["interfaces"]
        assert set(iface) == INTERFACE_KEYS
        root = etree.fromstring(server["domain_xml"].encode())
        assert root.findtext("uuid") == server["uuid"]

    direct = servers["vm-direct"]["interfaces"][0]
    assert direct["port_id"] == DIRECT
    assert (direct["vnic_type"], direct["vif_type"]) == ("direct", "hw_veb")
    assert direct["physical_network"] == "physnet1"
    assert direct["pci_slot"].startswith("0000:81:")
    assert direct["pci_request_id"]
    # A VF handed to the guest: no virtio NIC, no packed ring.
    assert _packed(servers["vm-direct"]["domain_xml"]) == [("hostdev", None)]

    macvtap = servers["vm-macvtap"]["interfaces"][0]
    assert (macvtap["vnic_type"], macvtap["vif_type"]) == (
        "macvtap",
        "hw_veb",
    )
    assert macvtap["physical_network"] == "physnet1"
    assert macvtap["pci_slot"].startswith("0000:81:")
    assert macvtap["pci_slot"] != direct["pci_slot"]
    assert _packed(servers["vm-macvtap"]["domain_xml"]) == [("direct", "on")]

    physical = servers["vm-physical"]["interfaces"][0]
    assert (physical["vnic_type"], physical["vif_type"]) == (
        "direct-physical",
        "hostdev_physical",
    )
    assert (physical["pci_slot"], physical["physical_network"]) == (
        "0000:82:00.0",
        "physnet2",
    )
    # The whole PF as a <hostdev>: no interface, nothing packed.
    xml = servers["vm-physical"]["domain_xml"]
    assert _packed(xml) == []
    assert "packed" not in xml

    normal = servers["vm-packed"]["interfaces"][0]
    assert normal == {
        "port_id": NORMAL,
        "vnic_type": "normal",
        "vif_type": "tap",
        "pci_slot": None,
        "pci_request_id": None,
        "physical_network": None,
    }
    assert _packed(servers["vm-packed"]["domain_xml"]) == [("ethernet", "on")]

    # The devices are taken: pools shrank, each slot allocated to its
    # server.
    assert env.pools() != before[0]
    devices = env.devices()
    for server in servers.values():
        for iface in server["interfaces"]:
            if iface["pci_slot"] is not None:
                assert devices[iface["pci_slot"]] == (
                    "allocated",
                    server["uuid"],
                )

    # list and show, in later processes, read what the boots stored.
    listed = env.json("server", "list")
    assert listed == sorted(
        (
            {k: s[k] for k in ("name", "uuid", "host", "status")}
            for s in servers.values()
        ),
        key=lambda s: s["name"],
    )
    for name, server in servers.items():
        assert env.json("server", "show", name) == server

    # Delete (each in a later process than its boot: the guest is gone
    # already) unbinds and frees everything.
    for name in servers:
        deleted = env.run("server", "delete", name)
        assert deleted.returncode == 0, deleted.stderr
        assert deleted.stderr == ""
        assert name in deleted.stdout
    assert env.snapshot() == before


def test_delete_frees_exactly_the_servers_devices(env: Env) -> None:
    env.boot("keep", "--port", DIRECT)
    before = env.snapshot()
    env.boot("vm-physical", "--port", PHYSICAL)
    env.boot("vm-macvtap", "--port", MACVTAP)
    assert env.pools() != before[0]
    for name in ("vm-physical", "vm-macvtap"):
        assert env.run("server", "delete", name).returncode == 0
    assert env.snapshot() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # Two sample VFs taken below, so three more cannot all fit:
        # Placement has no candidate (the scheduler says what it asked).
        (
            tuple(a for p in EXTRA for a in ("--port", p)),
            ("No valid host", "CUSTOM_PHYSNET_PHYSNET1"),
        ),
        (
            ("--port", "6f0c1e2a-0000-4000-8000-0000000009ff"),
            ("read ports", "6f0c1e2a-0000-4000-8000-0000000009ff"),
        ),
        (
            (
                "--port",
                NORMAL,
                *PACKED,
                "--image-property",
                "hw_virtio_packed_ring=false",
            ),
            ("packed",),
        ),
    ],
    ids=["no-free-vf", "unknown-port", "packed-conflict"],
)
def test_failed_boot_is_one_line_and_leaves_nothing(
    env: Env, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    env.boot("a", "--port", DIRECT)
    env.boot("b", "--port", MACVTAP)
    before = env.snapshot()
    line = _one_error_line(env.run("server", "boot", "bad", *args))
    assert line.startswith("sriovirt server boot: error: ")
    for word in words:
        assert word in line
    assert env.snapshot() == before
    missing = env.run("server", "show", "bad")
    assert missing.returncode == 1
    assert "not found" in _one_error_line(missing)


def test_bad_ports_and_networks_are_one_line_and_leave_nothing(
    env: Env,
) -> None:
    """A port or network wrong in one way each: refused when the ports
    are read, before anything is claimed or bound."""
    bad_mac, bad_vlan, no_physnet = (
        f"6f0c1e2a-0000-4000-8000-0000000002{n:02d}" for n in range(3)
    )
    vlan_5000 = "3c5d7e9f-0000-4000-8000-000000000250"
    ports_file = env.dir / "ports.json"
    doc = json.loads(ports_file.read_text())
    direct = doc["ports"][0]
    doc["networks"].append(
        {
            **doc["networks"][0],
            "id": vlan_5000,
            "provider:segmentation_id": 5000,
        }
    )
    for port_id, network_id, mac in (
        (bad_mac, VLAN_NET, "fa:16:3e:00:02:zz"),
        (bad_vlan, vlan_5000, "fa:16:3e:00:02:01"),
        (
            no_physnet,
            "3c5d7e9f-0000-4000-8000-000000000003",
            "fa:16:3e:00:02:02",
        ),
    ):
        doc["ports"].append(
            {
                **direct,
                "id": port_id,
                "network_id": network_id,
                "mac_address": mac,
            }
        )
    ports_file.write_text(json.dumps(doc))
    server = env.boot("a", "--port", DIRECT)
    before = env.snapshot()
    for args, words in (
        (("--port", NORMAL, "--port", NORMAL), (NORMAL, "name a port twice")),
        (
            ("--port", NORMAL, "--port", DIRECT),
            (DIRECT, f"in use: device_id '{server['uuid']}'"),
        ),
        (("--port", bad_mac), (bad_mac, "mac_address 'fa:16:3e:00:02:zz'")),
        (
            ("--port", bad_vlan),
            (bad_vlan, "provider:segmentation_id 5000 is outside 1-4094"),
        ),
        (
            ("--port", no_physnet),
            (no_physnet, "no segment with a provider:physical_network"),
        ),
    ):
        line = _one_error_line(env.run("server", "boot", "bad", *args))
        assert line.startswith(
            "sriovirt server boot: error: Boot of server 'bad'"
        )
        assert "failed at step read ports" in line
        for word in words:
            assert word in line
    assert env.snapshot() == before


def test_name_reuse_is_refused(env: Env) -> None:
    env.boot("vm", "--port", DIRECT)
    before = env.snapshot()
    line = _one_error_line(env.run("server", "boot", "vm", "--port", NORMAL))
    assert "already used" in line
    assert env.snapshot() == before


@pytest.mark.parametrize("action", ["show", "delete"])
def test_unknown_server_is_one_line_exit_1(env: Env, action: str) -> None:
    result = env.run("server", action, "nope")
    assert result.returncode == 1
    assert "Server 'nope' not found" in _one_error_line(result)


@pytest.mark.parametrize("action", ["show", "delete"])
def test_host_option_in_process_names_this_host_only(
    env: Env, action: str
) -> None:
    env.boot("vm", "--port", DIRECT)
    mine = env.json("server", "show", "vm")["host"]
    assert env.json("server", "show", "vm", "--host", mine)["name"] == "vm"
    result = env.run("server", action, "vm", "--host", "elsewhere")
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "--host elsewhere: with [DEFAULT] transport_url unset" in line
    assert f"reach host {mine} only" in line
    assert [s["name"] for s in env.json("server", "list")] == ["vm"]


def test_bad_key_value_is_a_usage_error(env: Env) -> None:
    result = env.run(
        "server", "boot", "vm", "--port", NORMAL, "--image-property", "x"
    )
    assert result.returncode == 2
    assert "KEY=VALUE" in _one_error_line(result)
    assert env.json("server", "list") == []


def test_global_options_after_the_subcommand(env: Env) -> None:
    # --config-file and --format after the command, as openstack users
    # type them.
    args = ("server", "boot", "vm", "--port", NORMAL)
    booted = _run(
        "sriovirt.cmd.main",
        env.dir,
        *args,
        "--config-file",
        str(env.conf),
        "--format",
        "json",
    )
    assert booted.returncode == 0, booted.stderr
    assert json.loads(booted.stdout)["name"] == "vm"
    shown = _run(
        "sriovirt.cmd.main",
        env.dir,
        "--format",
        "json",
        "server",
        "list",
        "--config-file",
        str(env.conf),
    )
    assert shown.returncode == 0, shown.stderr
    assert [s["name"] for s in json.loads(shown.stdout)] == ["vm"]
    deleted = _run(
        "sriovirt.cmd.main",
        env.dir,
        "server",
        "delete",
        "vm",
        "--config-file",
        str(env.conf),
        "--debug",
    )
    assert deleted.returncode == 0, deleted.stderr
    assert env.json("server", "list") == []


def test_the_make_run_sequence_converges(env: Env) -> None:
    """What ``make run`` runs, twice: the second run deletes the servers
    the first left and boots them again."""
    names = ("vm-direct", "vm-macvtap", "vm-physical", "vm-packed")
    boots = {
        "vm-direct": ("--port", DIRECT),
        "vm-macvtap": ("--port", MACVTAP),
        "vm-physical": ("--port", PHYSICAL),
        "vm-packed": ("--port", NORMAL, *PACKED),
    }
    fresh = env.pools()
    for _ in range(2):
        for name in names:
            exists = env.run(
                "server", "show", name, "-f", "value", "-c", "uuid"
            )
            if exists.returncode == 0:
                assert env.run("server", "delete", name).returncode == 0
        for name in names:
            booted = env.run(
                "server",
                "boot",
                name,
                *boots[name],
                "-f",
                "value",
                "-c",
                "status",
            )
            assert (booted.returncode, booted.stdout) == (0, "ACTIVE\n")
            assert booted.stderr == ""
        for name in names:
            shown = env.run("server", "show", name)
            assert shown.returncode == 0 and shown.stderr == ""
            assert name in shown.stdout
        assert env.run("server", "delete", "vm-physical").returncode == 0
    assert [s["name"] for s in env.json("server", "list")] == [
        "vm-direct",
        "vm-macvtap",
        "vm-packed",
    ]
    for name in ("vm-direct", "vm-macvtap", "vm-packed"):
        assert env.run("server", "delete", name).returncode == 0
    assert env.pools() == fresh
