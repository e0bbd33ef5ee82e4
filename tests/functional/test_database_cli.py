"""What the commands say about a database they cannot use (issue 7).

``config check``, ``pci refresh`` and ``sriovirt-manage db`` run as
subprocesses, as an operator runs them, against a database URL with an
unencoded ``@`` in its password and against a database at a revision
this release does not ship (as after a rollback to an older release).
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import sqlalchemy as sa

from sriovirt.db import api
from tests.functional.db.conftest import db_url
from tests.functional.test_cli import _write_conf, manage, sriovirt

__all__ = ["db_url"]

#: The password is "Tr0ub4dor@x:HorseBattery", its '@' not percent-encoded.
AT_IN_PASSWORD = (
    "postgresql+psycopg2://u:Tr0ub4dor@x:HorseBattery@db.example:5432/s"
)
MASKED = "postgresql+psycopg2://u:***@db.example:5432/s"


def _no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for piece in ("Tr0ub4dor", "HorseBattery"):
        assert piece not in result.stdout + result.stderr


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    return line


def test_config_check_reports_an_unparseable_url_and_goes_on(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(tmp_path, connection=AT_IN_PASSWORD)
    result = sriovirt(tmp_path, conf, "config", "check", "--format", "json")
    _no_secret(result)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    by_option = {f["option"]: f for f in report["findings"]}
    database = by_option["[database] connection"]
    assert database["severity"] == "error"
    assert database["source"] == str(conf)
    assert database["message"].startswith(
        f"Invalid [database] connection {MASKED}: "
    )
    assert "%40" in database["message"]
    # The other checks ran too.
    assert by_option["[pci] device_spec"]["severity"] == "ok"
    assert by_option["[libvirt] connection_uri"]["severity"] == "ok"


def test_commands_say_one_masked_line_for_an_unparseable_url(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(tmp_path, connection=AT_IN_PASSWORD)
    for result in (
        sriovirt(tmp_path, conf, "pci", "refresh"),
        sriovirt(tmp_path, conf, "pci", "list"),
        manage(tmp_path, conf, "db", "sync"),
        manage(tmp_path, conf, "db", "version"),
    ):
        _no_secret(result)
        line = _error_line(result)
        assert f": error: Invalid [database] connection {MASKED}: " in line


def _set_revision(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE alembic_version SET version_num = :r"),
                {"r": revision},
            )
    finally:
        engine.dispose()


def test_database_at_an_unknown_revision(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    conf = _write_conf(tmp_path, connection=db_url)
    assert manage(tmp_path, conf, "db", "sync").returncode == 0
    _set_revision(db_url, "9999")
    unknown = (
        f"Database {api.mask_url(db_url)} is at revision 9999, which this "
        f"sriovirt does not know (its newest is {api.head()}): a newer "
        "release probably upgraded it; refusing to use it"
    )

    check = sriovirt(tmp_path, conf, "config", "check", "--format", "json")
    assert check.returncode == 1
    (finding,) = [
        f
        for f in json.loads(check.stdout)["findings"]
        if f["option"] == "[database] connection"
    ]
    assert finding["severity"] == "error"
    assert finding["message"].startswith(unknown)

    for result in (
        sriovirt(tmp_path, conf, "pci", "refresh"),
        manage(tmp_path, conf, "db", "sync"),
    ):
        assert unknown in _error_line(result)
    version = manage(tmp_path, conf, "db", "version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == (
        f"database {api.mask_url(db_url)} is at 9999 (unknown to this "
        f"sriovirt); its newest is {api.head()}: the database was "
        "upgraded by a newer release"
    )
    # Nothing was written: still at 9999, and no compute node row.
    step = api.version(db_url)
    assert step is not None and step.revision == "9999"
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            nodes = conn.exec_driver_sql(
                "SELECT count(*) FROM compute_nodes"
            ).scalar()
    finally:
        engine.dispose()
    assert nodes == 0


def test_pci_refresh_reports_an_unreadable_row_and_goes_on(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    conf = _write_conf(tmp_path, connection=db_url)
    assert manage(tmp_path, conf, "db", "sync").returncode == 0
    assert sriovirt(tmp_path, conf, "pci", "refresh").returncode == 0
    listed = sriovirt(tmp_path, conf, "pci", "list", "--format", "json")
    vf = next(
        d for d in json.loads(listed.stdout) if d["dev_type"] == "type-VF"
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE pci_devices SET status = 'bogus' "
                    "WHERE address = :a"
                ),
                {"a": vf["address"]},
            )
            row_id = conn.execute(
                sa.text("SELECT id FROM pci_devices WHERE address = :a"),
                {"a": vf["address"]},
            ).scalar()
    finally:
        engine.dispose()

    for _ in range(2):
        result = sriovirt(tmp_path, conf, "pci", "refresh")
        assert result.returncode == 0, result.stderr
        assert (
            f"conflicting records: pci_devices row {row_id} (address "
            f"{vf['address']!r}) of compute node cli-host/cli-host cannot "
            "be read: status 'bogus' is not one of available, "
        ) in result.stdout
        assert (
            f"skipped: {vf['address']}: withheld: its pci_devices row is "
            "unreadable"
        ) in result.stdout
    listed = sriovirt(tmp_path, conf, "pci", "list", "--format", "json")
    stored = {d["address"]: d["status"] for d in json.loads(listed.stdout)}
    assert stored[vf["address"]] == "bogus"
