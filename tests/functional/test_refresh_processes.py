"""Refreshes in real processes: two at once, and one killed mid-write.

Each refresh runs ``refresh_child.py`` in a Python process of its own on
the same database (SQLite file and PostgreSQL, ``db_url``), reading a
libvirt test-driver host document.  The child pauses inside its database
transaction when asked (an SQLAlchemy event listener of the child's own,
see that module), so the test controls the interleaving without sleeps
and without hooks in sriovirt.

What must hold: two refreshes at once both finish (the second rebuilds
from what the first wrote) and the stored state is the one a single
refresh gives; a refresh killed with SIGKILL inside its transaction
leaves the old state, whole, and the next refresh converges.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import pytest
from bench.hostdoc import host_document

from sriovirt.db import api
from sriovirt.db.records import PciDeviceRecord
from sriovirt.pci.address import PciAddress
from tests.functional.db.conftest import db_url
from tests.functional.test_refresh import (
    DEVICES,
    FULL_POOLS,
    HOST,
    INSTANCE_A,
    PF0,
    SPEC,
    TRACKED,
    Hosts,
    _instance,
    _pools,
    _rows,
    _stored_pools,
    _tracker,
    _vf_addr,
    _vf_request,
)

__all__ = ["db_url"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHILD = pathlib.Path(__file__).with_name("refresh_child.py")
TIMEOUT = 60.0


@pytest.fixture
def hosts(tmp_path: pathlib.Path) -> Iterator[Hosts]:
    made = Hosts(tmp_path / "hosts")
    made.directory.mkdir()
    yield made
    made.close()


class Child:
    """One refresh process."""

    def __init__(
        self,
        tmp_path: pathlib.Path,
        url: str,
        addresses_gone: Sequence[str] = (),
        *extra: str,
    ) -> None:
        gone = {PciAddress.parse(a) for a in addresses_gone}
        name = f"child-{len(list(tmp_path.glob('child-*.xml')))}"
        xml = tmp_path / f"{name}.xml"
        xml.write_text(
            host_document(d for d in DEVICES if d.address not in gone)
        )
        spec = tmp_path / f"{name}.json"
        spec.write_text(json.dumps(SPEC))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                # oslo.service's eventlet deprecation notice is noise.
                "-W",
                "ignore",
                str(CHILD),
                url,
                str(xml),
                str(spec),
                HOST,
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_for(self, path: pathlib.Path) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not path.exists():
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                pytest.fail(f"child ended early: {out} {err}")
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"child did not reach {path.name}")
            time.sleep(0.02)

    def result(self) -> dict[str, object]:
        out, err = self.process.communicate(timeout=TIMEOUT)
        assert self.process.returncode == 0, err
        assert "Traceback" not in err, err
        value: dict[str, object] = json.loads(out)
        return value

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=TIMEOUT)
        assert self.process.returncode == -signal.SIGKILL


@pytest.fixture
def database(db_url: str) -> Iterator[api.Database]:
    api.sync(db_url)
    with api.Database(db_url) as db:
        yield db


def _snapshot(
    database: api.Database,
) -> tuple[dict[str, PciDeviceRecord], str | None]:
    node = database.get_compute_node(HOST, HOST)
    assert node is not None
    return _rows(database), node.pci_stats


def test_two_refreshes_at_once_both_finish(
    database: api.Database, tmp_path: pathlib.Path
) -> None:
    ready, go, locking = (tmp_path / n for n in ("ready", "go", "locking"))
    # The first is inside its transaction, rows inserted, not committed.
    first = Child(tmp_path, database.url, (), "--pause", str(ready), str(go))
    first.wait_for(ready)
    # The second reads the (still empty) state and waits for the lock.
    second = Child(tmp_path, database.url, (), "--locking", str(locking))
    second.wait_for(locking)
    go.touch()

    assert first.result()["inserted"] == TRACKED
    # The second found the rows changed under it, rebuilt, and had
    # nothing left to write.
    assert second.result() == {
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "restored": 0,
        "conflicts": [],
    }
    rows = _rows(database)
    assert len(rows) == TRACKED
    assert {r.status for r in rows.values()} == {"available"}
    assert _stored_pools(database) == FULL_POOLS


def test_refresh_killed_inside_its_transaction_leaves_the_old_state(
    database: api.Database, hosts: Hosts, tmp_path: pathlib.Path
) -> None:
    rt = _tracker(database, hosts.driver(DEVICES))
    rt.start()
    _instance(database, INSTANCE_A)
    (used,) = rt.tracker.claim(INSTANCE_A, [_vf_request("physnet1")])
    rt.tracker.allocate(INSTANCE_A)
    rt.save()
    old = _snapshot(database)

    # Eight VFs vanish; the refresh is killed after its first write.
    gone = [_vf_addr(PF0, i) for i in range(120, 128)]
    ready = tmp_path / "ready"
    child = Child(tmp_path, database.url, gone, "--pause", str(ready))
    child.wait_for(ready)
    child.kill()

    # The old state, whole: not one row of the half-done write.
    assert _snapshot(database) == old
    # The next refresh converges on the new host.
    report = _tracker(database, hosts.without(*gone)).start()
    assert report.restored == 1 and report.conflicts == ()
    assert report.refresh.saved.deleted == len(gone)
    rows = _rows(database)
    assert len(rows) == TRACKED - len(gone)
    row = rows[str(used.address)]
    assert (row.status, row.instance_uuid) == ("allocated", INSTANCE_A)
    assert _stored_pools(database) == _pools(vf0=120, vf1=127, pf1=0)
    # And a process started afterwards finds nothing left to do.
    again = Child(tmp_path, database.url, gone).result()
    assert (again["inserted"], again["updated"], again["deleted"]) == (0, 0, 0)
