"""Engine creation, URL masking and schema helpers of sriovirt.db.api."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.db import api, records


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+psycopg2://u:secret@db.example/sriovirt",
            "postgresql+psycopg2://u:***@db.example/sriovirt",
        ),
        ("sqlite:////var/lib/x.sqlite", "sqlite:////var/lib/x.sqlite"),
        ("not a url", "<invalid>:<unparseable URL>"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert api.mask_url(url) == masked


def test_sqlite_parent_directory_is_created(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite"
    engine = api.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert path.exists()


def test_sqlite_foreign_keys_are_enforced(tmp_path: pathlib.Path) -> None:
    engine = api.create_engine(f"sqlite:///{tmp_path / 'fk.sqlite'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_unparseable_url() -> None:
    with pytest.raises(
        exception.InvalidDatabaseUrl,
        match=r"^Invalid \[database\] connection <invalid>:<unparseable",
    ):
        api.create_engine("nonsense")


def test_unknown_driver_names_url_without_password() -> None:
    with pytest.raises(exception.DatabaseError) as info:
        api.create_engine("nosuchdb://u:secret@h/d")
    assert "secret" not in str(info.value)
    assert "u:***@h/d" in str(info.value)


def test_connect_failure_masks_password() -> None:
    url = "postgresql+psycopg2://u:secret@127.0.0.1:1/d"
    with pytest.raises(exception.DatabaseError) as info:
        api.version(url)
    text = str(info.value)
    assert "secret" not in text
    assert "u:***@127.0.0.1:1/d" in text
    with (
        api.Database(url) as db,
        pytest.raises(exception.DatabaseError, match=r"\*\*\*"),
    ):
        db.get_compute_node("h", "h")


def test_sqlite_directory_cannot_be_created(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(exception.DatabaseError, match="cannot create"):
        api.create_engine(f"sqlite:///{blocker / 'sub' / 'db.sqlite'}")


def test_history_and_head() -> None:
    assert [str(s) for s in api.history()] == [
        "0001 (initial schema)",
        "0002 (add request_id)",
        "0003 (add instance name and guest)",
        "0004 (add compute node pci_generation)",
        "0005 (add services)",
    ]
    assert api.head() == api.history()[-1]


def test_in_memory_sqlite_version() -> None:
    # An in-memory URL has no file to create; a fresh one is empty.
    assert api.version("sqlite://") is None


def test_save_result_written() -> None:
    assert records.PciSaveResult().written == 0
    assert records.PciSaveResult(1, 2, 3, True).written == 7


def test_sync_result_text() -> None:
    step = records.MigrationStep("0002", "add request_id")
    assert str(records.MigrationResult("sqlite://", None, step)) == (
        "database sqlite:// upgraded from <none> to 0002 (add request_id)"
    )
    assert not records.MigrationResult("sqlite://", step, step).changed


# --- an unencoded '@' in the password (issue 7, 2.3) -----------------------

#: The password is "Tr0ub4dor@x:HorseBattery", its '@' not percent-encoded.
AT_IN_PASSWORD = (
    "postgresql+psycopg2://u:Tr0ub4dor@x:HorseBattery@db.example:5432/s"
)
SECRET_PIECES = ("Tr0ub4dor", "HorseBattery")


def _no_secret(text: str) -> None:
    for piece in SECRET_PIECES:
        assert piece not in text
    assert "\n" not in text


def test_mask_url_of_an_unparseable_url_hides_the_whole_password() -> None:
    masked = api.mask_url(AT_IN_PASSWORD)
    _no_secret(masked)
    assert masked == "postgresql+psycopg2://u:***@db.example:5432/s"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:a/b@c@h:1/d", "postgresql://u:***@h:1/d"),
        ("mysql://u:p@h:port/d?password=x", "mysql://u:***@h:port/d"),
        ("postgresql://h:bad/d", "postgresql://h:bad/d"),
        ("u:secret@host", "u:<unparseable URL>"),
    ],
)
def test_mask_url_of_other_unparseable_urls(url: str, masked: str) -> None:
    assert api.mask_url(url) == masked


def test_password_tail_taken_for_the_host_is_refused() -> None:
    # SQLAlchemy parses this one, with host "c@h": refuse, not connect.
    with pytest.raises(exception.InvalidDatabaseUrl) as info:
        api.create_engine("postgresql://u:a/b@c@h:1/d")
    assert "a/b" not in str(info.value) and "c@h" not in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        api.create_engine,
        api.Database,
        api.version,
        api.sync,
        api.check_synced,
    ],
)
def test_unparseable_url_is_one_line_naming_the_option(call: Any) -> None:
    with pytest.raises(exception.InvalidDatabaseUrl) as info:
        call(AT_IN_PASSWORD)
    text = str(info.value)
    _no_secret(text)
    assert text.startswith(
        "Invalid [database] connection "
        "postgresql+psycopg2://u:***@db.example:5432/s: "
    )
    assert "%40" in text


# --- a revision this release does not know (issue 7, 2.4) ------------------


def _at_unknown_revision(tmp_path: pathlib.Path) -> str:
    url = f"sqlite:///{tmp_path / 'future.sqlite'}"
    api.sync(url)
    engine = api.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE alembic_version SET version_num = '9999'"
            )
    finally:
        engine.dispose()
    return url


def test_unknown_revision_is_reported_by_version(
    tmp_path: pathlib.Path,
) -> None:
    step = api.version(_at_unknown_revision(tmp_path))
    assert step is not None
    assert (step.revision, step.known) == ("9999", False)
    assert str(step) == "9999 (unknown to this sriovirt)"


@pytest.mark.parametrize("call", [api.check_synced, api.sync])
def test_unknown_revision_is_refused(
    tmp_path: pathlib.Path, call: Any
) -> None:
    url = _at_unknown_revision(tmp_path)
    with pytest.raises(exception.DatabaseRevisionUnknown) as info:
        call(url)
    text = str(info.value)
    assert "revision 9999, which this sriovirt does not know" in text
    assert f"its newest is {api.head()}" in text
    assert "newer release" in text
    assert "\n" not in text
    # Refused before any write: still at the unknown revision.
    step = api.version(url)
    assert step is not None and step.revision == "9999"


def test_database_at_unknown_revision_is_not_written(
    tmp_path: pathlib.Path,
) -> None:
    url = _at_unknown_revision(tmp_path)
    with (
        api.Database(url) as db,
        pytest.raises(exception.DatabaseRevisionUnknown),
    ):
        db.check_synced()


def test_compute_nodes_by_uuids_in_one_query(tmp_path: pathlib.Path) -> None:
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'nodes.sqlite'}"
    api.sync(url)
    with api.Database(url) as db:
        uuids = []
        for i in range(30):
            node = db.get_or_create_compute_node(f"host{i}", f"node{i}")
            uuids.append(node.uuid)
        db.save_pci_state(
            db.get_or_create_compute_node("host3", "node3").id, [], "[]"
        )
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        found = db.get_compute_nodes_by_uuids([*uuids, "missing-uuid"])
        event.remove(db.engine, "before_cursor_execute", count)
        assert [s for s in statements if s.startswith("SELECT")] == [
            statements[0]
        ]
        assert len(statements) == 1
        assert set(found) == set(uuids)
        assert found[uuids[3]].host == "host3"
        assert found[uuids[3]].pci_stats == "[]"
        assert found[uuids[4]].pci_stats is None
        assert db.get_compute_nodes_by_uuids([]) == {}


def test_instances_of_many_hosts_and_by_name_in_chunked_queries(
    tmp_path: pathlib.Path,
) -> None:
    """Servers across hosts are read in one query per CHUNK hosts (not
    one per host), by host then uuid; a name is looked up the same
    way and found on every host that has it."""
    from sqlalchemy import event

    from sriovirt.db import common

    url = f"sqlite:///{tmp_path / 'instances.sqlite'}"
    api.sync(url)
    hosts = [f"host{i:04d}" for i in range(common.CHUNK + 20)]
    with api.Database(url) as db:
        for i, host in enumerate(hosts[::50]):
            for name in ("vm-a", f"vm-{i}"):
                db.create_instance(
                    records.InstanceRecord(
                        uuid=f"{i:04d}-{name}",
                        vm_state="active",
                        host=host,
                        name=name,
                    )
                )
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        every = db.get_instances_of_hosts(hosts)
        named = db.get_instances_by_name_on_hosts("vm-a", hosts[::-1])
        event.remove(db.engine, "before_cursor_execute", count)
        assert len(statements) == 4  # two chunks each
        assert [(r.host, r.uuid) for r in every] == sorted(
            (r.host, r.uuid) for r in every
        )
        assert len(every) == 2 * len(hosts[::50])
        assert [r.host for r in named] == hosts[::50]
        assert {r.name for r in named} == {"vm-a"}
        assert (
            db.get_instances_by_name_on_hosts("vm-3", hosts)[0].host
            == (hosts[150])
        )
        assert db.get_instances_by_name_on_hosts("vm-a", ["other"]) == []
        assert db.get_instances_of_hosts([]) == []
