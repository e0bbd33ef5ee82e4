"""Bad input through the compute manager changes nothing, on real files.

The race host of :mod:`tests.functional.race_child` (8 VFs on
``physnet0``, the libvirt test driver, SQLite, the static network
backend over a ports file and a bindings file), with two servers booted
and running, and networks and ports that are wrong in one way each.
Every bad boot or delete must fail with an error naming the value and
where it came from, and leave everything as it was: the node's row (its
``updated_at`` too: nothing was claimed and freed again), the
``pci_devices`` rows, the pools, the instance rows, the bindings file
(its bytes and its mtime: not even rewritten), the ports file and the
guests.  A wrong port or network is refused when the ports are read,
before a device is claimed or a port bound.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.manager import ComputeManager
from sriovirt.db import api
from sriovirt.virt.driver import InstanceState
from tests.functional.race_child import (
    HOST,
    NETWORK,
    RaceHost,
    network_body,
    open_manager,
    port_body,
    port_id,
)

UNKNOWN_PORT = "6f0c1e2a-0000-4000-8000-0000000009ff"
UNKNOWN_SERVER = "00000000-0000-4000-8000-0000000009ff"
PACKED_ON = {"hw:virtio_packed_ring": "true"}
PACKED_OFF = {"hw_virtio_packed_ring": "false"}


def _network_id(n: int) -> str:
    return f"3c5d7e9f-0000-4000-8000-00000000c1{n:02d}"


def _bad_port_id(n: int) -> str:
    return f"6f0c1e2a-0000-4000-8000-000000c01{n:03d}"


#: case -> (network fields, port fields) of a port that is wrong once.
BAD_PORTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "no-physnet": (
        {
            "provider:network_type": "vxlan",
            "provider:physical_network": None,
            "provider:segmentation_id": 77,
        },
        {},
    ),
    "mac-not-a-mac": ({}, {"mac_address": "fa:16:3e:zz:00:01"}),
    "mac-multicast": ({}, {"mac_address": "01:00:5e:00:00:01"}),
    "vlan-0": ({"provider:segmentation_id": 0}, {}),
    "vlan-4095": ({"provider:segmentation_id": 4095}, {}),
    "vlan-5000": ({"provider:segmentation_id": 5000}, {}),
    "vlan-missing": ({"provider:segmentation_id": None}, {}),
}
BAD = {case: n for n, case in enumerate(BAD_PORTS)}


@dataclasses.dataclass
class World:
    race: RaceHost
    manager: ComputeManager
    kept: dict[str, str]  # name -> uuid of the servers booted first

    def snapshot(self) -> tuple[Any, ...]:
        db = self.manager.db
        node = db.get_compute_node(HOST, HOST)
        assert node is not None
        bindings = self.race.bindings_file
        return (
            node,
            db.get_pci_devices(node.id),
            db.get_instances_by_host(HOST),
            {u: db.get_instance_pci_requests(u) for u in self.kept.values()},
            bindings.read_bytes(),
            bindings.stat().st_mtime_ns,
            self.race.ports_file.read_bytes(),
            self.manager.driver.list_instances(),
        )


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'sriovirt.sqlite'}"
    api.sync(url)
    race = RaceHost(tmp_path, url)
    race.write()
    networks = [network_body(NETWORK)]
    ports = [port_body(port_id(n), NETWORK, n) for n in range(4)]
    for case, n in BAD.items():
        net_fields, port_fields = BAD_PORTS[case]
        networks.append(network_body(_network_id(n), **net_fields))
        ports.append(
            port_body(_bad_port_id(n), _network_id(n), 0x40 + n, **port_fields)
        )
    race.write_ports(networks, ports)
    with open_manager(race, start=True) as manager:
        kept = {}
        for n, name in enumerate(("keep-a", "keep-b")):
            record = manager.build_and_run_instance(
                BootRequest(name=name, port_ids=(port_id(n),))
            )
            kept[name] = record.uuid
        yield World(race, manager, kept)


def _boot(world: World, **fields: Any) -> None:
    world.manager.build_and_run_instance(BootRequest(**fields))


CASES: dict[str, tuple[dict[str, Any], str | None, list[str]]] = {
    # case -> (boot request fields, failed step, words of the message)
    "unknown-port": (
        {"name": "bad", "port_ids": (port_id(2), UNKNOWN_PORT)},
        "read ports",
        [f"Port '{UNKNOWN_PORT}' not found in", "ports.json"],
    ),
    "port-twice": (
        {"name": "bad", "port_ids": (port_id(2), port_id(3), port_id(2))},
        "read ports",
        [f"'{port_id(2)}'", "name a port twice"],
    ),
    "port-of-a-running-server": (
        {"name": "bad", "port_ids": (port_id(2), port_id(0))},
        "read ports",
        [
            f"Port {port_id(0)} cannot be plugged: it is in use",
            "device_id '<keep-a>' (device_owner 'compute:nova', "
            f"binding:host_id '{HOST}')",
        ],
    ),
    "packed-conflict": (
        {
            "name": "bad",
            "port_ids": (port_id(2),),
            "flavor_extra_specs": PACKED_ON,
            "image_properties": PACKED_OFF,
        },
        "packed virtqueue constraint",
        [
            "Flavor extra spec hw:virtio_packed_ring='true'",
            "image property hw_virtio_packed_ring='false'",
        ],
    ),
    "packed-not-a-boolean": (
        {
            "name": "bad",
            "port_ids": (port_id(2),),
            "image_properties": {"hw_virtio_packed_ring": "maybe"},
        },
        "packed virtqueue constraint",
        ["hw_virtio_packed_ring='maybe'", "expected a boolean"],
    ),
    "no-physnet": (
        {"name": "bad", "port_ids": (port_id(2), _bad_port_id(0))},
        "read ports",
        [
            f"Port {_bad_port_id(0)} cannot be plugged",
            f"network '{_network_id(0)}' has no segment with a "
            "provider:physical_network",
            "'direct'",
        ],
    ),
    "mac-not-a-mac": (
        {"name": "bad", "port_ids": (port_id(2), _bad_port_id(1))},
        "read ports",
        [
            f"Port {_bad_port_id(1)} cannot be plugged",
            "mac_address 'fa:16:3e:zz:00:01' is not a MAC address",
        ],
    ),
    "mac-multicast": (
        {"name": "bad", "port_ids": (_bad_port_id(2),)},
        "read ports",
        [
            f"Port {_bad_port_id(2)} cannot be plugged",
            "mac_address '01:00:5e:00:00:01' is a multicast address",
        ],
    ),
    "vlan-0": (
        {"name": "bad", "port_ids": (_bad_port_id(3),)},
        "read ports",
        [
            f"Port {_bad_port_id(3)} cannot be plugged",
            "network.provider:segmentation_id 0 is outside 1-4094",
        ],
    ),
    "vlan-4095": (
        {"name": "bad", "port_ids": (_bad_port_id(4),)},
        "read ports",
        ["network.provider:segmentation_id 4095 is outside 1-4094"],
    ),
    "vlan-5000": (
        {"name": "bad", "port_ids": (port_id(2), _bad_port_id(5))},
        "read ports",
        [
            f"Port {_bad_port_id(5)} cannot be plugged",
            "network.provider:segmentation_id 5000 is outside 1-4094",
        ],
    ),
    "vlan-missing": (
        {"name": "bad", "port_ids": (_bad_port_id(6),)},
        "read ports",
        ["network.provider:segmentation_id is missing; a vlan segment"],
    ),
    "name-in-use": (
        {"name": "keep-b", "port_ids": (port_id(2),)},
        None,
        ["Server name 'keep-b' is already used on host race-host"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_boot_names_the_value_and_changes_nothing(
    world: World, case: str
) -> None:
    fields, step, words = CASES[case]
    before = world.snapshot()
    error: type[Exception] = (
        exception.BuildFailed if step else exception.ServerNameInUse
    )
    with pytest.raises(error) as info:
        _boot(world, **fields)
    text = str(info.value)
    if isinstance(info.value, exception.BuildFailed):
        assert info.value.step == step
        assert "rolled back" in text
    for word in words:
        assert word.replace("<keep-a>", world.kept["keep-a"]) in text
    if case == "name-in-use":
        assert world.kept["keep-b"] in text
    assert "\n" not in text
    assert world.snapshot() == before
    for uuid in world.kept.values():
        assert (
            world.manager.driver.instance_state(uuid) is InstanceState.RUNNING
        )


def test_deleting_an_unknown_server_changes_nothing(world: World) -> None:
    before = world.snapshot()
    with pytest.raises(exception.ServerNotFound) as info:
        world.manager.terminate_instance(UNKNOWN_SERVER)
    assert str(info.value) == (
        f"Server {UNKNOWN_SERVER} not found on host {HOST}"
    )
    assert world.snapshot() == before


def test_a_fixed_port_boots_after_its_refusal(world: World) -> None:
    """Refused input leaves no residue: fixed, the same port boots."""
    bad = _bad_port_id(BAD["vlan-0"])
    with pytest.raises(exception.BuildFailed):
        _boot(world, name="again", port_ids=(bad,))
    networks = [network_body(NETWORK), network_body(_network_id(0))]
    networks[1]["provider:segmentation_id"] = 7
    world.race.write_ports(networks, [port_body(bad, _network_id(0), 0x40)])
    record = world.manager.build_and_run_instance(
        BootRequest(name="again", port_ids=(bad,))
    )
    port = world.race.network().show_port(bad)
    assert port["device_id"] == record.uuid
    assert port["binding:vif_details"]["vlan"] == "7"
