"""The schema of sriovirt's database: alembic revisions, version, sync.

:func:`head` and :func:`history` describe the revisions this code ships;
:func:`version` reads where a database is; :func:`sync` upgrades it
(never downgrades, never writes over a revision it does not know);
:func:`check_synced` is what a service calls before its first query.

This module must not run queries on the tables (that is the per-table
modules behind :class:`~sriovirt.db.api.Database`) nor read
configuration.
"""

from __future__ import annotations

import pathlib

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError

from sriovirt import exception
from sriovirt.db.engine import create_engine, mask_url, sqlite_file, translated
from sriovirt.db.records import MigrationResult, MigrationStep

MIGRATIONS_DIR = pathlib.Path(__file__).parent / "migrations"


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def _step(
    script: ScriptDirectory, revision: str | None
) -> MigrationStep | None:
    if revision is None:
        return None
    try:
        rev = script.get_revision(revision)
    except AlembicCommandError:
        rev = None
    if rev is None:
        return MigrationStep(revision, "unknown to this sriovirt", known=False)
    return MigrationStep(rev.revision, rev.doc.strip())


def _refuse_unknown(url: str, step: MigrationStep | None) -> None:
    """Raise DatabaseRevisionUnknown if ``step`` is not one of ours."""
    if step is not None and not step.known:
        raise exception.DatabaseRevisionUnknown(
            connection=mask_url(url),
            revision=step.revision,
            head=str(head()),
        )


def head() -> MigrationStep:
    """The newest revision this code knows."""
    script = _script()
    step = _step(script, script.get_current_head())
    assert step is not None  # the package always ships revisions
    return step


def history() -> list[MigrationStep]:
    """Every revision, oldest first."""
    script = _script()
    steps = [
        MigrationStep(rev.revision, rev.doc.strip())
        for rev in script.walk_revisions()
    ]
    return steps[::-1]


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def version(url: str) -> MigrationStep | None:
    """The revision the database at ``url`` is at (None: empty).

    A SQLite file that does not exist is empty; it is not created.
    """
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    engine = create_engine(url, create_parent=False)
    try:
        with translated(url), engine.connect() as conn:
            return _step(_script(), _current(conn))
    finally:
        engine.dispose()


def sync(url: str, revision: str = "head") -> MigrationResult:
    """Upgrade the database at ``url`` to ``revision`` (default newest).

    Never downgrades: a target older than the current revision is an
    error, as is an unknown revision.
    """
    masked = mask_url(url)
    script = _script()
    target = _target(script, revision, masked)
    engine = create_engine(url, foreign_keys=False)
    try:
        with translated(url), engine.connect() as conn:
            before = _current(conn)
            conn.commit()
            # A revision we do not ship cannot be upgraded from (alembic
            # cannot place it) and must not be written over.
            _refuse_unknown(url, _step(script, before))
            _refuse_downgrade(script, before, target, masked)
            config = _alembic_config()
            config.attributes["connection"] = conn
            alembic_command.upgrade(config, target)
            conn.commit()
            after = _current(conn)
    finally:
        engine.dispose()
    return MigrationResult(masked, _step(script, before), _step(script, after))


def _target(script: ScriptDirectory, revision: str, masked: str) -> str:
    """The revision id ``revision`` names; DatabaseError if unknown."""
    try:
        target = script.get_revision(revision)
    except Exception as error:  # alembic raises several kinds
        raise exception.DatabaseError(
            connection=masked,
            reason=f"unknown revision {revision!r}: {error}",
        ) from None
    if target is None:
        raise exception.DatabaseError(
            connection=masked, reason=f"unknown revision {revision!r}"
        )
    return str(target.revision)


def _refuse_downgrade(
    script: ScriptDirectory, before: str | None, target: str, masked: str
) -> None:
    """Raise DatabaseError if ``target`` is older than ``before``."""
    if before is None or before == target:
        return
    ancestors = {
        rev.revision for rev in script.iterate_revisions(before, "base")
    }
    if target in ancestors:
        raise exception.DatabaseError(
            connection=masked,
            reason=f"is at {_step(script, before)}, newer than "
            f"the requested {_step(script, target)}; "
            "sync never downgrades",
        )


def check_synced(url: str) -> MigrationStep:
    """Raise :class:`DatabaseNotSynced` unless ``url`` is at the head."""
    expected = head()
    current = version(url)
    _refuse_unknown(url, current)
    if current is None or current.revision != expected.revision:
        raise exception.DatabaseNotSynced(
            connection=mask_url(url),
            current=str(current) if current else "<none>",
            expected=str(expected),
        )
    return current
