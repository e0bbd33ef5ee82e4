"""``sriovirt compute list|disable|enable`` as subprocesses on a SQLite
database whose services table holds heartbeats written the way a
compute service writes them: a fresh one (up) and an old one (down)."""

from __future__ import annotations

import datetime
import json
import pathlib

import sqlalchemy as sa

from sriovirt.db import api
from tests.functional.test_cli import manage, sriovirt

BINARY = "sriovirt-compute"


def _setup(tmp_path: pathlib.Path) -> pathlib.Path:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    conf = tmp_path / "c.conf"
    conf.write_text(
        f"[DEFAULT]\nservice_down_time = 30\n[database]\nconnection = {url}\n"
    )
    assert manage(tmp_path, conf, "db", "sync").returncode == 0
    with api.Database(url) as db:
        db.service_heartbeat("h1", BINARY, BINARY, "1.1")
        db.service_heartbeat("h2", BINARY, BINARY, "1.0")
        # h2 last reported 2 minutes ago.
        old = datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None
        ) - datetime.timedelta(minutes=2)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE services SET last_seen_up = :t WHERE host = 'h2'"
                ),
                {"t": old},
            )
    return conf


def test_list_disable_enable(tmp_path: pathlib.Path) -> None:
    conf = _setup(tmp_path)

    off = sriovirt(
        tmp_path, conf, "compute", "disable", "h1", "--reason", "NIC fw"
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout == "sriovirt-compute on host h1: disabled (NIC fw)\n"

    listed = sriovirt(tmp_path, conf, "compute", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["host"]: r for r in json.loads(listed.stdout)}
    assert rows["h1"]["status"] == "disabled"
    assert rows["h1"]["state"] == "up"
    assert rows["h1"]["disabled reason"] == "NIC fw"
    assert rows["h1"]["version"] == "1.1"
    assert rows["h2"]["status"] == "enabled"
    assert rows["h2"]["state"] == "down"
    assert rows["h2"]["version"] == "1.0"

    table = sriovirt(tmp_path, conf, "compute", "list")
    assert table.stdout.splitlines()[-1] == (
        "2 compute services, 1 up (down after 30 s without a heartbeat: "
        "[DEFAULT] service_down_time)"
    )

    on = sriovirt(tmp_path, conf, "compute", "enable", "h1")
    assert on.returncode == 0, on.stderr
    assert on.stdout == "sriovirt-compute on host h1: enabled\n"


def test_disable_unknown_host_is_one_clear_line(
    tmp_path: pathlib.Path,
) -> None:
    conf = _setup(tmp_path)
    result = sriovirt(tmp_path, conf, "compute", "disable", "h9")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "No sriovirt-compute service on host h9" in lines[0]
