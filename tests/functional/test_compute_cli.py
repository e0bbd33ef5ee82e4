"""``sriovirt compute reconcile`` as a subprocess, on the sample
configuration (see test_server_cli.py): what it prints, in the table and
JSON formats, and its exit status.

The decisions themselves are tested in tests/unit/compute/test_reconcile.py
and, with processes killed at every step, in test_journal.py.  Here a dead
boot is a journal row written the way a boot writes it, with nobody
holding its lock: what a boot killed after its first write leaves.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from sriovirt.db import api
from sriovirt.db.records import InstanceRecord
from tests.functional.test_server_cli import DIRECT, NORMAL, Env

DEAD = "0dead000-0000-4000-8000-000000000001"


@pytest.fixture
def env(tmp_path: pathlib.Path) -> Env:
    return Env(tmp_path)


def _dead_boot(env: Env, *ports: str) -> None:
    url = f"sqlite:///{env.state / 'sriovirt.sqlite'}"
    networks = [{"port_id": p, "vnic_type": "normal"} for p in ports]
    with api.Database(url) as db:
        db.create_instance(
            InstanceRecord(
                uuid=DEAD,
                vm_state="building",
                task_state="binding",
                host="sample-host",
                name="vm-dead",
                requested_networks=json.dumps(networks),
            )
        )


def _findings(report: Any) -> list[tuple[str, str]]:
    return [(f["name"], f["outcome"]) for f in report["findings"]]


def test_reconcile_resumes_servers_and_rolls_back_a_dead_boot(
    env: Env,
) -> None:
    env.boot("vm-a", "--port", NORMAL)
    env.boot("vm-b", "--port", DIRECT)
    _dead_boot(env)

    report = env.json("compute", "reconcile")

    assert report["host"] == "sample-host"
    assert sorted(_findings(report)) == [
        ("vm-a", "guest resumed"),
        ("vm-b", "guest resumed"),
        ("vm-dead", "boot rolled back"),
    ]
    listed = env.json("server", "list")
    assert sorted(s["name"] for s in listed) == ["vm-a", "vm-b"]

    table = env.run("compute", "reconcile")
    assert table.returncode == 0, table.stderr
    assert table.stderr == ""
    assert table.stdout.startswith("host sample-host: 2 findings, 2 acted on")
    assert "vm-dead" not in table.stdout


def test_reconcile_that_cannot_finish_exits_1_naming_why(env: Env) -> None:
    env.boot("vm-a", "--port", NORMAL)
    _dead_boot(env, DIRECT)
    bindings = env.state / "port_bindings.sqlite"
    kept = bindings.read_bytes()
    bindings.write_bytes(b"{damaged")

    failed = env.run("compute", "reconcile", "-f", "json")

    assert failed.returncode == 1, failed.stderr
    found = json.loads(failed.stdout)["findings"]
    outcomes = {f["name"]: f for f in found}
    assert outcomes["vm-dead"]["outcome"] == "failed"
    assert f"unbind port {DIRECT}" in outcomes["vm-dead"]["detail"]
    bindings.write_bytes(kept)
    again = env.json("compute", "reconcile")
    assert ("vm-dead", "boot rolled back") in _findings(again)
