"""Database access of sriovirt: engines, schema sync and query functions.

Everything here takes a connection URL (a value: the caller reads
``[database] connection``) and returns plain values from
:mod:`sriovirt.db.records`; ORM rows never leave this module.  SQLAlchemy
and alembic errors are translated into :class:`~sriovirt.exception.
DatabaseError` here, naming the URL with its password masked.

Entry points:

* :func:`sync`, :func:`version`, :func:`check_synced`: the schema.
* :class:`Database`: an engine plus the queries the compute service needs
  (compute node, its PCI devices and pools, instances and their PCI
  requests).

This module must not read configuration or import the objects layer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import re
import sqlite3
from collections.abc import (
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from oslo_utils import uuidutils
from sqlalchemy import event, exc, orm
from sqlalchemy.engine import Engine, make_url

from sriovirt import exception
from sriovirt.db import models
from sriovirt.db.models import (
    ComputeNodeRow,
    InstancePciRequestsRow,
    InstanceRow,
    PciDeviceRow,
)
from sriovirt.db.records import (
    ComputeNodeRecord,
    InstanceRecord,
    MigrationStep,
    PciDeviceRecord,
    PciSaveResult,
    SyncResult,
)

MIGRATIONS_DIR = pathlib.Path(__file__).parent / "migrations"

#: Rows per statement for IN lists and bulk writes: below every
#: backend's bound-parameter limit (SQLite's was 999 before 3.32).
CHUNK = 500

#: The columns of pci_devices that PciDeviceRecord carries as they are
#: (``extra_info`` is JSON text in the row, a dict in the record).
_DEVICE_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(PciDeviceRecord)
    if f.name not in ("extra_info", "id", "problem")
)


# --- URLs and engines ------------------------------------------------------


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


def _scrub(text: str, url: str) -> str:
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


def _reason(error: BaseException) -> str:
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
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None and create_parent:
            parent = path.parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise exception.DatabaseError(
                    connection=masked,
                    reason=f"cannot create directory {parent}: "
                    f"{error.strerror}",
                ) from None
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
            connection=masked, reason=_scrub(_reason(error), url)
        ) from None
    if foreign_keys and parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


class _UnreadableValue(ValueError):
    """A stored value this code cannot read (a row edited by hand)."""


@contextlib.contextmanager
def _translated(url: str) -> Iterator[None]:
    """Turn SQLAlchemy errors and unreadable stored values into
    DatabaseError naming the masked URL."""
    try:
        yield
    except exception.SriovirtError:
        raise
    except exc.SQLAlchemyError as error:
        raise exception.DatabaseError(
            connection=mask_url(url), reason=_scrub(_reason(error), url)
        ) from error
    except _UnreadableValue as error:
        raise exception.DatabaseError(
            connection=mask_url(url), reason=str(error)
        ) from None


# --- Schema: migrations ----------------------------------------------------


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
        with _translated(url), engine.connect() as conn:
            return _step(_script(), _current(conn))
    finally:
        engine.dispose()


def sync(url: str, revision: str = "head") -> SyncResult:
    """Upgrade the database at ``url`` to ``revision`` (default newest).

    Never downgrades: a target older than the current revision is an
    error, as is an unknown revision.
    """
    masked = mask_url(url)
    script = _script()
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
    engine = create_engine(url, foreign_keys=False)
    try:
        with _translated(url), engine.connect() as conn:
            before = _current(conn)
            conn.commit()
            # A revision we do not ship cannot be upgraded from (alembic
            # cannot place it) and must not be written over.
            _refuse_unknown(url, _step(script, before))
            if before is not None and before != target.revision:
                ancestors = {
                    rev.revision
                    for rev in script.iterate_revisions(before, "base")
                }
                if target.revision in ancestors:
                    raise exception.DatabaseError(
                        connection=masked,
                        reason=f"is at {_step(script, before)}, newer than "
                        f"the requested {_step(script, target.revision)}; "
                        "sync never downgrades",
                    )
            config = _alembic_config()
            config.attributes["connection"] = conn
            alembic_command.upgrade(config, target.revision)
            conn.commit()
            after = _current(conn)
    finally:
        engine.dispose()
    return SyncResult(masked, _step(script, before), _step(script, after))


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


# --- Row <-> record conversions -------------------------------------------


def _dump_info(info: dict[str, str]) -> str:
    # Sorted keys: the same tags always give the same text.
    return json.dumps(info, sort_keys=True, separators=(",", ":"))


def _load_info(text: str | None, address: str) -> dict[str, str]:
    if not text:
        return {}
    where = f"pci_devices.extra_info of {address}"
    try:
        value = json.loads(text)
    except ValueError as error:
        raise _UnreadableValue(f"{where} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise _UnreadableValue(f"{where} is not a JSON object: {text[:80]!r}")
    return {str(k): str(v) for k, v in value.items()}


def _node_record(row: ComputeNodeRow) -> ComputeNodeRecord:
    return ComputeNodeRecord(
        id=row.id,
        uuid=row.uuid,
        host=row.host,
        hypervisor_hostname=row.hypervisor_hostname,
        pci_stats=row.pci_stats,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _device_record(row: PciDeviceRow) -> PciDeviceRecord:
    """The row as a record; an unreadable ``extra_info`` is kept as
    ``problem`` (with empty tags) for the caller to report."""
    try:
        info, problem = _load_info(row.extra_info, row.address), None
    except _UnreadableValue as error:
        info, problem = {}, str(error)
    return PciDeviceRecord(
        **{name: getattr(row, name) for name in _DEVICE_FIELDS},
        extra_info=info,
        id=row.id,
        problem=problem,
    )


def _device_values(dev: PciDeviceRecord) -> dict[str, Any]:
    values = {name: getattr(dev, name) for name in _DEVICE_FIELDS}
    values["extra_info"] = _dump_info(dev.extra_info)
    return values


def _instance_record(row: InstanceRow) -> InstanceRecord:
    return InstanceRecord(
        uuid=row.uuid,
        host=row.host,
        node=row.node,
        vm_state=row.vm_state,
        task_state=row.task_state,
        flavor=row.flavor,
        image=row.image,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _same_json(old: str | None, new: str | None) -> bool:
    if old is None or new is None:
        return old is new
    try:
        return bool(json.loads(old) == json.loads(new))
    except ValueError:
        return old == new


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- Queries ---------------------------------------------------------------


class Database:
    """An engine for one URL and the queries of the compute service.

    Each method is one transaction.  Call :meth:`close` (or use it as a
    context manager) to release the connections.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.masked_url = mask_url(url)
        self.engine = create_engine(url, create_parent=False)
        self._sessions = orm.sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[orm.Session]:
        with _translated(self.url), self._sessions.begin() as session:
            yield session

    def check_synced(self) -> MigrationStep:
        """Raise DatabaseNotSynced unless the schema is at the head."""
        return check_synced(self.url)

    # compute nodes

    def get_compute_node(
        self, host: str, hypervisor_hostname: str
    ) -> ComputeNodeRecord | None:
        with self._session() as session:
            row = session.scalars(
                sa.select(ComputeNodeRow).where(
                    ComputeNodeRow.host == host,
                    ComputeNodeRow.hypervisor_hostname == hypervisor_hostname,
                )
            ).one_or_none()
            return _node_record(row) if row is not None else None

    def get_or_create_compute_node(
        self,
        host: str,
        hypervisor_hostname: str,
        uuid: str | None = None,
    ) -> ComputeNodeRecord:
        """The node of (host, hypervisor_hostname), created if missing.

        Two services racing to create it both end up with the same row:
        the loser's insert hits the unique constraint and it reads the
        winner's row.
        """
        found = self.get_compute_node(host, hypervisor_hostname)
        if found is not None:
            return found
        row = ComputeNodeRow(
            uuid=uuid or uuidutils.generate_uuid(),
            host=host,
            hypervisor_hostname=hypervisor_hostname,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                return _node_record(row)
        except exc.IntegrityError:
            found = self.get_compute_node(host, hypervisor_hostname)
            if found is None:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"cannot create compute node {host}/"
                    f"{hypervisor_hostname}: its uuid {row.uuid} is taken",
                ) from None
            return found
        except exc.SQLAlchemyError as error:
            raise exception.DatabaseError(
                connection=self.masked_url, reason=_reason(error)
            ) from error

    # PCI devices and pools

    def get_pci_devices(self, compute_node_id: int) -> list[PciDeviceRecord]:
        """The node's devices, ordered by address.

        A row whose ``extra_info`` cannot be read is a DatabaseError
        naming it; :meth:`read_pci_devices` reports it instead.
        """
        records = self.read_pci_devices(compute_node_id)
        for record in records:
            if record.problem is not None:
                raise exception.DatabaseError(
                    connection=self.masked_url, reason=record.problem
                )
        return records

    def read_pci_devices(self, compute_node_id: int) -> list[PciDeviceRecord]:
        """The node's rows as stored, ordered by address, with their ids.

        Never fails on a row's content: a row edited by hand comes back
        with ``problem`` set (unreadable ``extra_info``) or with the odd
        values as they are, for the caller to decode and report.
        """
        with self._session() as session:
            rows = session.scalars(
                sa.select(PciDeviceRow)
                .where(PciDeviceRow.compute_node_id == compute_node_id)
                .order_by(PciDeviceRow.address)
            )
            return [_device_record(row) for row in rows]

    def save_pci_state(
        self,
        compute_node_id: int,
        devices: Iterable[PciDeviceRecord],
        pci_stats: str,
        *,
        expected: Mapping[str, PciDeviceRecord] | None = None,
        keep: Collection[str] = (),
    ) -> PciSaveResult:
        """Make the node's stored devices and pools equal the given ones.

        One transaction, one SELECT: stored rows are keyed by address and
        only the differences are written (bulk insert, bulk update by
        primary key, delete of the rows no longer given).  Saving the
        same state twice writes nothing the second time
        (``result.written == 0``).

        Writers of one node are serialised: the transaction first locks
        the node (its row on PostgreSQL/MySQL, the database on SQLite),
        so the rows compared are the latest committed ones.  With
        ``expected`` (the rows as the caller last read or wrote them,
        by address) the save is a compare-and-swap: if the stored rows
        differ, another writer got there first and
        :class:`~sriovirt.exception.PciStateConflict` is raised with
        nothing written.  Rows at the addresses in ``keep`` are left as
        they are (neither updated nor deleted).
        """
        wanted: dict[str, PciDeviceRecord] = {}
        for dev in devices:
            if dev.address in wanted:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"PCI device {dev.address} given twice for "
                    f"compute node {compute_node_id}",
                )
            wanted[dev.address] = dev
        with self._session() as session:
            node = self._lock_node(session, compute_node_id)
            if node is None:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"compute node {compute_node_id} does not exist",
                )
            stored = {
                row.address: row
                for row in session.scalars(
                    sa.select(PciDeviceRow).where(
                        PciDeviceRow.compute_node_id == compute_node_id
                    )
                )
            }
            if expected is not None:
                self._compare(node, stored, expected)
            for address in keep:
                stored.pop(address, None)
                wanted.pop(address, None)
            now = models.utcnow()
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for address, dev in wanted.items():
                row = stored.pop(address, None)
                if row is None:
                    values = _device_values(dev)
                    values.update(
                        compute_node_id=compute_node_id, created_at=now
                    )
                    inserts.append(values)
                elif _device_record(row) != dev:
                    values = _device_values(dev)
                    values.update(id=row.id, updated_at=now)
                    updates.append(values)
            # What is left in ``stored`` was not given: gone from the host.
            deleted_ids = [row.id for row in stored.values()]
            # The ORM objects loaded above would be stale after bulk
            # statements; nothing reads them again.
            old_stats = node.pci_stats
            session.expunge_all()
            for chunk in _chunks(inserts):
                session.execute(sa.insert(PciDeviceRow), list(chunk))
            for chunk in _chunks(updates):
                session.execute(sa.update(PciDeviceRow), list(chunk))
            for chunk in _chunks(deleted_ids):
                session.execute(
                    sa.delete(PciDeviceRow).where(PciDeviceRow.id.in_(chunk))
                )
            stats_updated = not _same_json(old_stats, pci_stats)
            if stats_updated:
                session.execute(
                    sa.update(ComputeNodeRow)
                    .where(ComputeNodeRow.id == compute_node_id)
                    .values(pci_stats=pci_stats, updated_at=now)
                )
        return PciSaveResult(
            inserted=len(inserts),
            updated=len(updates),
            deleted=len(deleted_ids),
            stats_updated=stats_updated,
        )

    def _lock_node(
        self, session: orm.Session, compute_node_id: int
    ) -> ComputeNodeRow | None:
        """The node's row, locked against other writers until commit."""
        try:
            if self.engine.dialect.name == "sqlite":
                # pysqlite opens a transaction only at the first write,
                # so two writers would both read the old rows and the
                # second would fail on the unique address.  BEGIN
                # IMMEDIATE takes the write lock before anything is read
                # (a second writer waits for it, up to the busy
                # timeout).
                session.execute(sa.text("BEGIN IMMEDIATE"))
                return session.get(ComputeNodeRow, compute_node_id)
            return session.scalars(
                sa.select(ComputeNodeRow)
                .where(ComputeNodeRow.id == compute_node_id)
                .with_for_update()
            ).one_or_none()
        except exc.OperationalError as error:
            if "locked" not in str(error.orig):
                raise
            raise exception.PciStateConflict(
                connection=self.masked_url,
                node=compute_node_id,
                reason="another process (a concurrent `sriovirt pci "
                "refresh` or the compute service) held the database "
                "lock for too long; run it again",
            ) from None

    def _compare(
        self,
        node: ComputeNodeRow,
        stored: Mapping[str, PciDeviceRow],
        expected: Mapping[str, PciDeviceRecord],
    ) -> None:
        """Raise PciStateConflict unless ``stored`` equals ``expected``."""
        differ = sorted(
            address
            for address in stored.keys() | expected.keys()
            if address not in stored
            or address not in expected
            or _device_record(stored[address]) != expected[address]
        )
        if differ:
            raise exception.PciStateConflict(
                connection=self.masked_url,
                node=f"{node.host}/{node.hypervisor_hostname}",
                reason=f"another process (a concurrent `sriovirt pci "
                f"refresh` or the compute service) changed its "
                f"pci_devices rows since this one read them "
                f"({len(differ)} differ, first {differ[0]}); nothing "
                "written, run it again",
            )

    # instances

    def create_instance(
        self, instance: InstanceRecord, pci_requests: str | None = None
    ) -> InstanceRecord:
        """Store a new instance and, if given, its PCI requests (JSON)."""
        with self._session() as session:
            row = InstanceRow(
                uuid=instance.uuid,
                host=instance.host,
                node=instance.node,
                vm_state=instance.vm_state,
                task_state=instance.task_state,
                flavor=instance.flavor,
                image=instance.image,
            )
            session.add(row)
            # No ORM relationship orders the inserts: the parent first.
            session.flush()
            if pci_requests is not None:
                session.add(
                    InstancePciRequestsRow(
                        instance_uuid=instance.uuid, requests=pci_requests
                    )
                )
            session.flush()
            return _instance_record(row)

    def get_instance(self, uuid: str) -> InstanceRecord | None:
        with self._session() as session:
            row = session.get(InstanceRow, uuid)
            return _instance_record(row) if row is not None else None

    def get_instances_by_host(
        self, host: str, node: str | None = None
    ) -> list[InstanceRecord]:
        """Instances on ``host`` (and ``node`` if given), by uuid.

        What the compute service reads at restart to know which
        instances exist.
        """
        query = sa.select(InstanceRow).where(InstanceRow.host == host)
        if node is not None:
            query = query.where(InstanceRow.node == node)
        with self._session() as session:
            rows = session.scalars(query.order_by(InstanceRow.uuid))
            return [_instance_record(row) for row in rows]

    def update_instance(
        self,
        uuid: str,
        *,
        vm_state: str | None = None,
        task_state: str | None = None,
        clear_task_state: bool = False,
        host: str | None = None,
        node: str | None = None,
    ) -> InstanceRecord:
        """Change the given fields; ``clear_task_state`` sets it to None."""
        with self._session() as session:
            row = session.get(InstanceRow, uuid)
            if row is None:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"instance {uuid} does not exist",
                )
            if vm_state is not None:
                row.vm_state = vm_state
            if task_state is not None or clear_task_state:
                row.task_state = task_state
            if host is not None:
                row.host = host
            if node is not None:
                row.node = node
            session.flush()
            return _instance_record(row)

    def delete_instance(self, uuid: str) -> bool:
        """Delete the instance and its PCI requests; False if absent."""
        with self._session() as session:
            # Explicit child delete: do not rely on the backend's cascade
            # (SQLite connections made elsewhere may not enforce FKs).
            session.execute(
                sa.delete(InstancePciRequestsRow).where(
                    InstancePciRequestsRow.instance_uuid == uuid
                )
            )
            result = session.execute(
                sa.delete(InstanceRow).where(InstanceRow.uuid == uuid)
            )
            return bool(getattr(result, "rowcount", 0))

    # instance PCI requests

    def save_instance_pci_requests(
        self, instance_uuid: str, requests: str
    ) -> None:
        """Create or replace the instance's PCI requests (JSON text)."""
        with self._session() as session:
            row = session.scalars(
                sa.select(InstancePciRequestsRow).where(
                    InstancePciRequestsRow.instance_uuid == instance_uuid
                )
            ).one_or_none()
            if row is None:
                session.add(
                    InstancePciRequestsRow(
                        instance_uuid=instance_uuid, requests=requests
                    )
                )
            elif not _same_json(row.requests, requests):
                row.requests = requests

    def get_instance_pci_requests(self, instance_uuid: str) -> str | None:
        """The instance's PCI requests (JSON text), None if never saved."""
        found = self.get_pci_requests_by_instances([instance_uuid])
        return found.get(instance_uuid)

    def get_pci_requests_by_instances(
        self, instance_uuids: Iterable[str]
    ) -> dict[str, str]:
        """PCI requests (JSON text) of several instances, by uuid."""
        uuids = sorted(set(instance_uuids))
        found: dict[str, str] = {}
        with self._session() as session:
            for chunk in _chunks(uuids):
                rows = session.scalars(
                    sa.select(InstancePciRequestsRow).where(
                        InstancePciRequestsRow.instance_uuid.in_(chunk)
                    )
                )
                found.update((row.instance_uuid, row.requests) for row in rows)
        return found
