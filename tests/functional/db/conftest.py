"""``db_url``: the same functional DB tests on SQLite and on PostgreSQL.

Each test gets an empty database: a new SQLite file, or the session's
PostgreSQL database with its ``public`` schema dropped and recreated.
"""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    if request.param == "sqlite":
        # A sub-directory that does not exist yet: the engine creates it.
        return f"sqlite:///{tmp_path / 'state' / 'sriovirt.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url
