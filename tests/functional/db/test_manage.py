"""``sriovirt-manage db`` as a subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from sriovirt.db import api

SRC = pathlib.Path(__file__).resolve().parents[3] / "src"


def _manage(
    tmp_path: pathlib.Path, url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "sriovirt.conf"
    conf.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path}\n[database]\nconnection = {url}\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC), env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sriovirt.cmd.manage",
            "--config-file",
            str(conf),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_db_sync_and_version(db_url: str, tmp_path: pathlib.Path) -> None:
    masked = api.mask_url(db_url)
    before = _manage(tmp_path, db_url, "db", "version")
    assert before.returncode == 0, before.stderr
    assert "<none>" in before.stdout and "db sync" in before.stdout

    step = _manage(tmp_path, db_url, "db", "sync", "--revision", "0001")
    assert step.returncode == 0, step.stderr
    assert step.stdout.strip() == (
        f"database {masked} upgraded from <none> to 0001 (initial schema)"
    )
    done = _manage(tmp_path, db_url, "db", "sync")
    assert done.stdout.strip() == (
        f"database {masked} upgraded from 0001 (initial schema) to "
        "0005 (add services)"
    )
    assert "Traceback" not in done.stderr
    after = _manage(tmp_path, db_url, "db", "version")
    assert after.stdout.strip() == (
        f"database {masked} is at 0005 (add services)"
    )


def test_errors_are_one_line_and_status_1(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    _manage(tmp_path, db_url, "db", "sync")
    down = _manage(tmp_path, db_url, "db", "sync", "--revision", "0001")
    assert down.returncode == 1
    assert down.stderr.strip().count("\n") == 0
    assert "never downgrades" in down.stderr
    assert "Traceback" not in down.stderr


def test_unreachable_database_masks_password(tmp_path: pathlib.Path) -> None:
    url = "postgresql+psycopg2://sriovirt:s3cret@127.0.0.1:1/sriovirt"
    result = _manage(tmp_path, url, "db", "version")
    assert result.returncode == 1
    assert "s3cret" not in result.stderr + result.stdout
    assert "sriovirt:***@127.0.0.1:1/sriovirt" in result.stderr
    assert "Traceback" not in result.stderr
