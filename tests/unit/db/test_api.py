"""Engine creation, URL masking and schema helpers of sriovirt.db.api."""

from __future__ import annotations

import pathlib

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
    with pytest.raises(exception.DatabaseError, match="invalid URL"):
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
    assert str(records.SyncResult("sqlite://", None, step)) == (
        "database sqlite:// upgraded from <none> to 0002 (add request_id)"
    )
    assert not records.SyncResult("sqlite://", step, step).changed
