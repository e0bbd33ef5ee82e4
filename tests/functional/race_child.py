"""The race host of ``test_boot_concurrency.py`` and one boot per process.

:class:`RaceHost` writes what the boots compete for into a directory:
a libvirt test-driver host whose two PFs on ``physnet0`` have 4 VFs
each (8 VFs, all free) plus one PF with 2 VFs on ``physnet1`` (free,
and never asked for), a ports file with one VLAN network on
``physnet0`` and 20 ``direct`` ports on it, and the binding state file
beside it.  :func:`open_manager` builds a :class:`ComputeManager` on it
the way ``sriovirt server boot`` does (driver, database, static
network, resource tracker loaded and refreshed, never started).

Run as a process (``python -m tests.functional.race_child URL DIR N
...``), it builds its one manager, prints ``ready``, waits for a line on
stdin (the start line), boots servers ``N ...`` (server ``N`` with port
``N``) at once, one thread each, and prints one JSON line: the list of
:func:`outcome`, and the domains its driver then holds (the test-driver
host forgets them when the process exits).

A test helper: it decides nothing about what must hold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.hostdoc import host_document
from oslo_config import cfg

from sriovirt import exception, paths
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import BootRequest, ComputeManager
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.network.static import StaticNetwork
from sriovirt.pci.device import HostPciDevice
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver
from tests.doubles import empty_conf, sriov_devices, unbound_port

HOST = "race-host"
PHYSNET = "physnet0"
OTHER_PHYSNET = "physnet1"
#: PF address -> (physical network, VFs).
PFS = {
    "0000:81:00.0": (PHYSNET, 4),
    "0000:81:00.1": (PHYSNET, 4),
    "0000:82:00.0": (OTHER_PHYSNET, 2),
}
FREE_VFS = sum(n for net, n in PFS.values() if net == PHYSNET)
BOOTS = 20
TIMEOUT = 120.0
NETWORK = "3c5d7e9f-0000-4000-8000-00000000c000"
VLAN = 100
SPEC = [
    json.dumps({"address": pf, "physical_network": net})
    for pf, (net, _) in PFS.items()
]


def port_id(n: int) -> str:
    return f"6f0c1e2a-0000-4000-8000-000000c00{n:03d}"


def server_uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-00000000c{n:03d}"


def server_name(n: int) -> str:
    return f"race-{n:02d}"


def boot_request(n: int) -> BootRequest:
    return BootRequest(
        name=server_name(n), port_ids=(port_id(n),), uuid=server_uuid(n)
    )


def devices() -> list[HostPciDevice]:
    return sriov_devices((pf, vfs) for pf, (_, vfs) in PFS.items())


def port_body(port: str, network: str, n: int, **extra: Any) -> dict[str, Any]:
    """An unbound ``direct`` port body, as Neutron shows it."""
    return unbound_port(
        port, network, f"fa:16:3e:00:0c:{n:02x}", f"race-port-{n}", **extra
    )


def network_body(network: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": network,
        "name": "race-vlan",
        "mtu": 1500,
        "provider:network_type": "vlan",
        "provider:physical_network": PHYSNET,
        "provider:segmentation_id": VLAN,
        **extra,
    }


@dataclass(frozen=True)
class RaceHost:
    """The files of the race host in ``root``, and its database URL."""

    root: pathlib.Path
    url: str

    @property
    def host_xml(self) -> pathlib.Path:
        return self.root / "host.xml"

    @property
    def ports_file(self) -> pathlib.Path:
        return self.root / "ports.json"

    @property
    def bindings_file(self) -> pathlib.Path:
        return self.root / "port_bindings.json"

    def write(self) -> None:
        self.host_xml.write_text(host_document(devices()))
        self.write_ports(
            [network_body(NETWORK)],
            [port_body(port_id(n), NETWORK, n) for n in range(BOOTS)],
        )

    def write_ports(
        self, networks: list[dict[str, Any]], ports: list[dict[str, Any]]
    ) -> None:
        doc = {"networks": networks, "ports": ports}
        self.ports_file.write_text(json.dumps(doc, indent=1))

    def network(self) -> StaticNetwork:
        return StaticNetwork(
            ports_file=self.ports_file, state_file=self.bindings_file
        )


def _conf() -> cfg.ConfigOpts:
    conf = empty_conf()
    conf.set_override("host", HOST)
    return conf


@contextlib.contextmanager
def open_manager(
    race: RaceHost, *, start: bool = False
) -> Iterator[ComputeManager]:
    """A manager on the race host, as a command builds it (``start``:
    as the compute service does at its start instead)."""
    driver = LibvirtDriver.for_connection(
        _conf(), paths.test_driver_uri(race.host_xml)
    )
    try:
        with api.Database(race.url) as database:
            rt = ResourceTracker(
                HOST, driver, database, Whitelist.from_config(SPEC)
            )
            if start:
                rt.start()
            else:
                rt.load_and_refresh()
            yield ComputeManager(
                driver=driver,
                resource_tracker=rt,
                network=race.network(),
                database=database,
                host=HOST,
                locks=InstanceLocks(race.root / "locks"),
            )
    finally:
        driver.host.close()


def outcome(manager: ComputeManager, n: int) -> dict[str, Any]:
    """Boot server ``n``: what happened, as JSON values."""
    try:
        record = manager.build_and_run_instance(boot_request(n))
    except exception.BuildFailed as error:
        return {
            "n": n,
            "won": False,
            "step": error.step,
            "error": str(error),
            "cause": type(error.__cause__).__name__,
        }
    return {"n": n, "won": True, "uuid": record.uuid, "name": record.name}


def boot_together(
    managers: Sequence[ComputeManager], numbers: Sequence[int]
) -> list[dict[str, Any]]:
    """Boot server ``numbers[i]`` on ``managers[i]``, one thread each,
    all released at once; their outcomes."""
    barrier = threading.Barrier(len(numbers))

    def boot(manager: ComputeManager, n: int) -> dict[str, Any]:
        barrier.wait(timeout=TIMEOUT)
        return outcome(manager, n)

    with ThreadPoolExecutor(len(numbers)) as pool:
        return list(pool.map(boot, managers, numbers))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("root")
    parser.add_argument("numbers", type=int, nargs="+")
    args = parser.parse_args()
    race = RaceHost(pathlib.Path(args.root), args.url)
    with open_manager(race) as manager:
        print("ready", flush=True)
        if not sys.stdin.readline():
            return 2  # the test went away: no start line
        results = boot_together([manager] * len(args.numbers), args.numbers)
        domains = [d.uuid for d in manager.driver.list_instances()]
    print(json.dumps({"results": results, "domains": domains}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
