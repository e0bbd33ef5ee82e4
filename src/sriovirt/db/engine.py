"""Engines and connection URLs of sriovirt's database, and error wording.

What every query and migration needs before and after touching SQL: an
engine for a connection URL (SQLite foreign keys on, parent directory
created, dropped server connections replaced), the URL with its password
masked for messages, and :func:`translated`, which turns SQLAlchemy errors
and unreadable stored values into
:class:`~sriovirt.exception.DatabaseError` naming the masked URL and never
the secret.

This module must not run queries, know a table or a migration, or read
configuration (the URL comes in as a value).
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url

from sriovirt import exception


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages).

    Works on URLs SQLAlchemy cannot parse too: an unencoded ``@`` in a
    password makes the parser split at the wrong ``@`` (and fail on the
    "port", or take the rest of the password for the host), so
    everything up to the *last* ``@`` is taken as user info and masked,
    and a query string (which may carry ``password=``) is dropped.
    """
    if url.count("@") > 1:
        # SQLAlchemy may "parse" it by putting the rest of the password
        # into the host name: never trust that split.
        return _mask_unparseable(url)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (exc.ArgumentError, ValueError):
        return _mask_unparseable(url)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def _mask_unparseable(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        # No authority part to split: show only a plausible scheme.
        head = url.split(":", 1)[0] if ":" in url else ""
        shown = head if _SCHEME.fullmatch(head) else "<invalid>"
        return f"{shown}:<unparseable URL>"
    if not _SCHEME.fullmatch(scheme):
        scheme = "<invalid>"
    userinfo, at, location = rest.rpartition("@")
    location = location.split("?", 1)[0]
    if not at:
        return f"{scheme}://{location}"
    user = userinfo.split(":", 1)[0]
    # The user name is shown only when it cannot hold part of a secret.
    user = user if "@" not in user and "/" not in user else "***"
    return f"{scheme}://{user}:***@{location}"


def scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (and its raw form).

    Driver and parser messages may quote the URL or a piece of it; the
    message an operator sees must never carry the secret.
    """
    secrets: set[str] = set()
    try:
        password = make_url(url).password
        if password:
            secrets.add(str(password))
    except (exc.ArgumentError, ValueError):
        pass
    _, sep, rest = url.partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    if ":" in userinfo:
        raw = userinfo.split(":", 1)[1]
        secrets.add(raw)
        # Every piece between '@'/':' separators, so a fragment quoted
        # by a parser ("HorseBattery@db...") is caught as well.
        secrets.update(p for p in re.split(r"[@:]", raw) if len(p) >= 3)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def error_reason(error: BaseException) -> str:
    """The first line of the driver's message: what the operator needs."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _enable_sqlite_foreign_keys(
    dbapi_connection: Any, connection_record: Any
) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked, per connection.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def sqlite_file(url: str) -> pathlib.Path | None:
    """The file of a file-backed SQLite URL, else None."""
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError):
        return None
    database = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return pathlib.Path(database).expanduser()


def create_engine(
    url: str, *, foreign_keys: bool = True, create_parent: bool = True
) -> Engine:
    """An engine for ``url``; raises :class:`DatabaseError` if unusable.

    For a SQLite file the parent directory is created when
    ``create_parent`` (only ``sync`` needs it; readers must not leave
    empty files behind).  ``foreign_keys``
    (SQLite only) is turned off for migrations, whose batch table copies
    must not cascade.  The engine connects lazily: connection failures
    surface (translated) at the first query.
    """
    masked = mask_url(url)
    parsed = _parse(url, masked)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None and create_parent:
            _create_directory(path.parent, masked)
    else:
        # Connections dropped by the server (restart, idle timeout) are
        # replaced instead of failing the next query.
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (
        exc.ArgumentError,
        exc.NoSuchModuleError,
        ImportError,
        ValueError,
        TypeError,
    ) as error:
        raise exception.InvalidDatabaseUrl(
            connection=masked, reason=scrub(error_reason(error), url)
        ) from None
    if foreign_keys and parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _parse(url: str, masked: str) -> sa.URL:
    """``url`` parsed; InvalidDatabaseUrl (never quoting it) if not."""
    try:
        parsed = make_url(url)
        if parsed.host and "@" in parsed.host:
            # "u:a/b@c@h": the parser put the password's tail in the host.
            raise ValueError("'@' in the host name")
    except (exc.ArgumentError, ValueError):
        # The parser's own text quotes the URL (or the piece after a
        # stray '@', i.e. part of the password): never show it.
        raise exception.InvalidDatabaseUrl(
            connection=masked,
            reason="not a URL of the form "
            "dialect+driver://user:password@host:port/database (an '@', "
            "':' or '/' in the user name or password must be "
            "percent-encoded, '@' as %40)",
        ) from None
    return parsed


def _create_directory(parent: pathlib.Path, masked: str) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise exception.DatabaseError(
            connection=masked,
            reason=f"cannot create directory {parent}: {error.strerror}",
        ) from None


class UnreadableValue(ValueError):
    """A stored value this code cannot read (a row edited by hand)."""


@contextlib.contextmanager
def translated(url: str) -> Iterator[None]:
    """Turn SQLAlchemy errors and unreadable stored values into
    DatabaseError naming the masked URL."""
    try:
        yield
    except exception.SriovirtError:
        raise
    except exc.SQLAlchemyError as error:
        raise exception.DatabaseError(
            connection=mask_url(url), reason=scrub(error_reason(error), url)
        ) from error
    except UnreadableValue as error:
        raise exception.DatabaseError(
            connection=mask_url(url), reason=str(error)
        ) from None
