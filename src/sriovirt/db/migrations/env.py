"""Alembic environment of sriovirt: runs migrations on a given connection.

:func:`sriovirt.db.api.sync` opens the connection (so URL handling, SQLite
directories and error messages live in one place) and hands it over in
``config.attributes["connection"]``.  For developers running the
``alembic`` tool directly, ``sqlalchemy.url`` is used instead.

This module must not configure logging (the caller owns it: oslo.log in
``sriovirt-manage``) nor read sriovirt's configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from sriovirt.db import models


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        # SQLite cannot ALTER most things: revisions use batch mode, and
        # autogenerate writes batch operations too.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no connection given: use sriovirt-manage db sync, or set "
            "sqlalchemy.url / -x for the alembic tool"
        )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
