"""The static backend's binding state: one SQLite file, a row per port.

:class:`BindingStore` keeps what binding wrote on each port (the
*overlay*: only the keys of :data:`OVERLAY_KEYS`) by port id, in a
stdlib :mod:`sqlite3` database at ``[network] bindings_file``.  One bind
reads and writes one row (primary-key lookups, O(log n)), whatever the
number of ports bound: the cost of a boot must not grow with the number
of servers on the host (design section 7).  Changes run in ``BEGIN
IMMEDIATE`` transactions: SQLite's own lock serialises writers across
threads and processes (a writer waits up to :data:`BUSY_TIMEOUT_S`), a
transaction is all or nothing (a process killed in the middle of one
leaves the file as it was), and readers never see half a change.

The file is created whole (written beside it, then linked into place),
so a file of zero bytes or of another format is damage and an
:class:`~sriovirt.exception.InvalidNetworkFile` naming it, never "no
bindings".  A state file of the earlier format (a JSON document
``{"version": 1, "ports": {...}}``) at the path is converted in place,
once, under an ``fcntl`` lock on ``<path>.lock``.

This module must not read configuration (the path is passed in), know
about ports files or compute bindings (:mod:`~sriovirt.network.static`
and :mod:`~sriovirt.network.binding` do).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sriovirt import exception
from sriovirt.network.checks import show

WHAT = "port binding state file"
#: ``PRAGMA user_version`` of a store this module writes.
SCHEMA_VERSION = 1
#: The earlier format: a JSON document of this version.
JSON_VERSION = 1
#: How long a writer waits for another's transaction.
BUSY_TIMEOUT_S = 60.0
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The only keys a binding overlays on a port of the ports file.
OVERLAY_KEYS = frozenset(
    {
        "binding:host_id",
        "device_id",
        "device_owner",
        "binding:profile",
        "binding:vif_type",
        "binding:vif_details",
    }
)

Overlay = dict[str, Any]
_SCHEMA = (
    "CREATE TABLE bindings ("
    " port_id TEXT PRIMARY KEY NOT NULL,"
    " overlay TEXT NOT NULL"
    ") WITHOUT ROWID"
)


class Transaction:
    """The bindings inside one write transaction, a port at a time."""

    def __init__(self, store: BindingStore, conn: sqlite3.Connection) -> None:
        self._store = store
        self._conn = conn

    def get(self, port_id: str) -> Overlay | None:
        return self._store._row(self._conn, port_id)

    def __setitem__(self, port_id: str, overlay: Mapping[str, Any]) -> None:
        text = _dump(self._store.path, port_id, overlay)
        self._store._query(
            self._conn,
            "INSERT INTO bindings (port_id, overlay) VALUES (?, ?) "
            "ON CONFLICT (port_id) DO UPDATE SET overlay = excluded.overlay",
            (port_id, text),
        )

    def pop(self, port_id: str, default: None = None) -> None:
        self._store._query(
            self._conn, "DELETE FROM bindings WHERE port_id = ?", (port_id,)
        )


class BindingStore:
    """Port id -> overlay, in one SQLite file shared by processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_file = self.path.with_name(self.path.name + ".lock")
        self._ready = False

    def get(self, port_id: str) -> Overlay | None:
        """The overlay of one port; None when it has none."""
        if self._absent():
            return None
        with self._connect() as conn:
            return self._row(conn, port_id)

    def all(self) -> dict[str, Overlay]:
        """Every port's overlay (for listings, not for a boot)."""
        if self._absent():
            return {}
        with self._connect() as conn:
            rows = self._query(
                conn, "SELECT port_id, overlay FROM bindings", ()
            )
            return {
                port_id: _load(self.path, port_id, text)
                for port_id, text in rows
            }

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction: committed when the block ends, rolled
        back when it raises (or the process dies in it)."""
        with self._connect() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._damaged("locked for writing", exc) from None
            try:
                yield Transaction(self, conn)
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            try:
                conn.commit()
            except sqlite3.Error as exc:
                raise self._damaged("written", exc) from None

    def _absent(self) -> bool:
        """No file yet: nothing bound (a read does not create it)."""
        return not self._ready and not self.path.exists()

    # --- reading rows ------------------------------------------------------

    def _row(self, conn: sqlite3.Connection, port_id: str) -> Overlay | None:
        rows = self._query(
            conn, "SELECT overlay FROM bindings WHERE port_id = ?", (port_id,)
        )
        if not rows:
            return None
        return _load(self.path, port_id, rows[0][0])

    def _query(
        self, conn: sqlite3.Connection, sql: str, args: tuple[str, ...]
    ) -> list[Any]:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._damaged("read", exc) from None

    def _damaged(
        self, action: str, exc: sqlite3.Error
    ) -> exception.InvalidNetworkFile:
        """The error for a failed statement: what the file is now (it
        may have been replaced or emptied since it was opened)."""
        self._ready = False  # look at the file again on the next use
        try:
            kind = self._kind()
            if kind == "json":
                self._read_json()  # raises when it is not one
                return self._bad(
                    "was replaced by a JSON state file while in use; it is "
                    "converted on the next use"
                )
            if kind == "sqlite":
                self._check_schema()
        except exception.InvalidNetworkFile as bad:
            return bad
        return self._bad(f"cannot be {action}: {exc}")

    # --- the file ----------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._prepare()
        with self._open() as conn:
            yield conn

    @contextlib.contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._bad(f"cannot be opened: {exc}") from None
        try:
            yield conn
        finally:
            conn.close()

    def _prepare(self) -> None:
        """Create the file, or convert one of the JSON format, once."""
        kind = self._kind()
        if kind != "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._lock_file, "a+b") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                kind = self._kind()  # another process may have done it
                if kind == "missing":
                    self._install({}, replace=False)
                elif kind == "json":
                    self._install(self._read_json(), replace=True)
        self._check_schema()
        self._ready = True

    def _kind(self) -> str:
        try:
            with open(self.path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            raise self._bad(f"cannot be read: {exc.strerror}") from None
        if head == SQLITE_MAGIC:
            return "sqlite"
        if not head:
            raise self._bad(
                "is empty; it is only ever created whole, so it was "
                "damaged outside sriovirt"
            )
        return "json"

    def _check_schema(self) -> None:
        with self._open() as conn:
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                }
            except sqlite3.Error as exc:
                raise self._bad(f"cannot be read: {exc}") from None
        if version != SCHEMA_VERSION or "bindings" not in tables:
            raise self._bad(
                f"is a SQLite database of schema version {version} with "
                f"tables {sorted(tables)}, not a binding store of version "
                f"{SCHEMA_VERSION} (table bindings)"
            )

    def _install(self, bindings: Mapping[str, Overlay], replace: bool) -> None:
        """A complete store of ``bindings`` written beside the path, then
        put in its place (linked when new, renamed over a JSON file)."""
        fd, tmp = tempfile.mkstemp(
            prefix=self.path.name + ".", dir=self.path.parent
        )
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("BEGIN")
                conn.execute(_SCHEMA)
                conn.executemany(
                    "INSERT INTO bindings (port_id, overlay) VALUES (?, ?)",
                    [
                        (port_id, _dump(self.path, port_id, overlay))
                        for port_id, overlay in bindings.items()
                    ],
                )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.commit()
            finally:
                conn.close()
            if replace:
                os.replace(tmp, self.path)
            else:
                os.link(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _read_json(self) -> dict[str, Overlay]:
        """The bindings of a state file of the earlier JSON format."""
        try:
            text = self.path.read_text(encoding="utf-8")
            body = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._bad(
                f"is neither a SQLite binding store nor a JSON state file "
                f"of version {JSON_VERSION} ({exc}); it is only written "
                "whole, so it was damaged outside sriovirt"
            ) from None
        if not isinstance(body, dict) or body.get("version") != JSON_VERSION:
            raise self._bad(
                f"is not an object with version {JSON_VERSION} "
                f"(got {show(body)})"
            )
        ports = body.get("ports")
        if not isinstance(ports, dict):
            raise self._bad(f"ports {show(ports)} is not an object")
        for port_id, overlay in ports.items():
            _check(self.path, port_id, overlay)
        return ports

    def _bad(self, reason: str) -> exception.InvalidNetworkFile:
        return _bad(self.path, reason)


def _check(path: Path, port_id: str, overlay: object) -> None:
    if not isinstance(overlay, dict) or not set(overlay) <= OVERLAY_KEYS:
        raise _bad(
            path,
            f"ports.{port_id} {show(overlay)} is not an object of "
            f"{', '.join(sorted(OVERLAY_KEYS))}",
        )


def _dump(path: Path, port_id: str, overlay: Mapping[str, Any]) -> str:
    _check(path, port_id, dict(overlay))
    return json.dumps(dict(overlay), sort_keys=True, separators=(",", ":"))


def _load(path: Path, port_id: str, text: str) -> Overlay:
    try:
        overlay = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"ports.{port_id} is not JSON ({exc})") from None
    _check(path, port_id, overlay)
    assert isinstance(overlay, dict)
    return overlay


def _bad(path: Path, reason: str) -> exception.InvalidNetworkFile:
    return exception.InvalidNetworkFile(
        what=WHAT, path=str(path), reason=reason
    )
