"""Claims of one host by several processes at once (SQLite, PostgreSQL).

Each claimer is a Python process of its own (this module run with
``-m``), with its own :class:`ResourceTracker` on the same database and
the same libvirt test-driver host: 2 PFs x 4 VFs on ``physnet0``.  They
load the stored state, wait at a start line (a file), then claim one VF
per instance, many more than there are VFs.

What must hold: no VF is given twice (in the database and in what the
processes were told), exactly as many claims succeed as there are VFs,
every loser gets one clear line (no free device on ``physnet0``, or the
conflict after every retry), and the stored rows and pools agree.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from bench.hostdoc import host_document

from sriovirt import exception, paths
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.pci.whitelist import Whitelist
from sriovirt.virt.libvirt.driver import LibvirtDriver
from sriovirt.virt.libvirt.host import Host
from tests.doubles import empty_conf
from tests.functional.db.conftest import db_url

__all__ = ["db_url"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "claim-host"
PFS = ("0000:81:00.0", "0000:81:00.1")
N_VFS = 4
PROCESSES = 4
CLAIMS_PER_PROCESS = 3
TIMEOUT = 120.0
SPEC = [
    json.dumps({"address": pf, "physical_network": "physnet0"}) for pf in PFS
]


def _devices() -> list[HostPciDevice]:
    out: list[HostPciDevice] = []
    for n, pf in enumerate(PciAddress.parse(a) for a in PFS):
        out.append(
            HostPciDevice(
                address=pf,
                vendor_id="8086",
                product_id="1572",
                dev_type=DevType.PF,
                numa_node=0,
                ifname=f"enp129s0f{n}",
            )
        )
        out.extend(
            HostPciDevice(
                address=PciAddress(0, 0x81, 2 + n, i),
                vendor_id="8086",
                product_id="154c",
                dev_type=DevType.VF,
                parent_addr=pf,
                numa_node=0,
                ifname=f"enp129s0f{n}v{i}",
                parent_ifname=f"enp129s0f{n}",
            )
            for i in range(N_VFS)
        )
    return out


def _uuid(process: int, n: int) -> str:
    return f"00000000-0000-4000-8000-{process:06d}{n:06d}"


def _tracker(
    database: api.Database, host_xml: pathlib.Path
) -> tuple[ResourceTracker, Host]:
    conf = empty_conf()
    conf.set_override("host", HOST)
    host = Host(paths.test_driver_uri(host_xml))
    driver = LibvirtDriver(conf, host=host)
    rt = ResourceTracker(HOST, driver, database, Whitelist.from_config(SPEC))
    return rt, host


# --- the claimer process ---------------------------------------------------


def _claimer(args: argparse.Namespace) -> dict[str, object]:
    won: dict[str, str] = {}
    lost: list[list[str]] = []
    with api.Database(args.url) as database:
        rt, host = _tracker(database, pathlib.Path(args.host_xml))
        try:
            rt.load_and_refresh()
            pathlib.Path(args.ready).touch()
            while not pathlib.Path(args.go).exists():
                time.sleep(0.01)
            for n in range(args.claims):
                uuid = _uuid(args.index, n)
                request = PciRequest(
                    spec=[{"physical_network": "physnet0"}],
                    requester_id=f"port-{args.index}-{n}",
                )
                try:
                    (dev,) = rt.claim(uuid, [request]).devices
                except (
                    exception.PciRequestUnsatisfiable,
                    exception.PciStateConflict,
                ) as error:
                    lost.append([type(error).__name__, str(error)])
                else:
                    assert dev.request_id == request.request_id
                    won[uuid] = str(dev.address)
        finally:
            host.close()
    return {"won": won, "lost": lost}


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("url", "host_xml", "ready", "go"):
        parser.add_argument(name)
    parser.add_argument("index", type=int)
    parser.add_argument("claims", type=int)
    print(json.dumps(_claimer(parser.parse_args())))
    return 0


# --- the test --------------------------------------------------------------


@pytest.fixture
def database(db_url: str) -> Iterator[api.Database]:
    api.sync(db_url)
    with api.Database(db_url) as db:
        yield db


def _start(
    url: str, host_xml: pathlib.Path, tmp_path: pathlib.Path, index: int
) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p
        for p in (str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", ""))
        if p
    )
    return subprocess.Popen(
        [
            sys.executable,
            # oslo.service's eventlet deprecation notice is noise.
            "-W",
            "ignore",
            "-m",
            "tests.functional.test_claim_processes",
            url,
            str(host_xml),
            str(tmp_path / f"ready-{index}"),
            str(tmp_path / "go"),
            str(index),
            str(CLAIMS_PER_PROCESS),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_ready(
    children: list[subprocess.Popen[str]], tmp_path: pathlib.Path
) -> None:
    deadline = time.monotonic() + TIMEOUT
    for index, child in enumerate(children):
        while not (tmp_path / f"ready-{index}").exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"claimer {index} ended early: {out} {err}")
            if time.monotonic() > deadline:
                pytest.fail(f"claimer {index} never got ready")
            time.sleep(0.02)


def test_processes_claiming_at_once_never_share_a_vf(
    database: api.Database, tmp_path: pathlib.Path
) -> None:
    host_xml = tmp_path / "host.xml"
    host_xml.write_text(host_document(_devices()))
    rt, host = _tracker(database, host_xml)
    try:
        rt.start()
    finally:
        host.close()
    children = [
        _start(database.url, host_xml, tmp_path, i) for i in range(PROCESSES)
    ]
    try:
        _wait_ready(children, tmp_path)
        (tmp_path / "go").touch()
        results = []
        for child in children:
            out, err = child.communicate(timeout=TIMEOUT)
            assert child.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()

    won = {u: a for r in results for u, a in r["won"].items()}
    lost = [entry for r in results for entry in r["lost"]]
    # Nobody was told a VF another process was told.
    assert len(set(won.values())) == len(won)
    assert len(won) + len(lost) == PROCESSES * CLAIMS_PER_PROCESS
    for kind, text in lost:
        assert "\n" not in text
        if kind == "PciRequestUnsatisfiable":
            assert "physnet0" in text
        else:
            assert kind == "PciStateConflict" and HOST in text
    # Retries absorb the collisions: every VF is given, once.
    assert len(won) == len(PFS) * N_VFS, lost

    node = database.get_compute_node(HOST, HOST)
    assert node is not None
    rows = {r.address: r for r in database.read_pci_devices(node.id)}
    claimed = {
        a: r.instance_uuid for a, r in rows.items() if r.status == "claimed"
    }
    assert claimed == {a: u for u, a in won.items()}
    assert all(rows[a].request_id for a in claimed)
    assert {rows[pf].status for pf in PFS} == {"unclaimable"}
    # The stored pools agree with the rows: nothing left free.
    assert node.pci_stats == "[]"


if __name__ == "__main__":
    sys.exit(main())
