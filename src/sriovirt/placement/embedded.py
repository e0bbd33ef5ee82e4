"""The embedded Placement: the real openstack-placement app in-process.

With no ``[placement]`` endpoint configured, sriovirt needs no Placement
server: :class:`EmbeddedPlacement` loads openstack-placement's WSGI
application (``placement.deploy.loadapp``) in the calling process, on
the SQLite file ``<state_path>/placement.sqlite``, and hands out
keystoneauth1 Adapters whose requests reach that application through
:class:`~sriovirt.placement.wsgi_transport.WsgiTransport` (no socket).

Every process of the machine opens the same file, so they all see one
Placement.  The schema is created and upgraded by Placement's own
migrations (``placement.db.sqlalchemy.migration.upgrade``), under an
exclusive ``flock`` on ``placement.sqlite.lock`` so that two processes
starting at once do not both create it; the standard traits and resource
classes are synced under the same lock.  The file is switched to WAL
journaling once, so readers do not wait for a writer; writes (any
method but GET) are serialised, across threads and processes (a
``flock`` on ``placement.sqlite.w``), because SQLite fails at once a
transaction that read before another wrote and then wants to write.

Placement's options live in a ``ConfigOpts`` of their own
(:func:`sriovirt.conf.placement.service_conf`), never in sriovirt's.
Placement keeps its database engine in a module global
(``placement.db_api.placement_context_manager``): one process serves
one embedded database at a time; :meth:`EmbeddedPlacement.close` lets a
process (a test) open another.

This module must not decide anything about providers: it only starts
Placement and connects to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from oslo_context import context as oslo_context

from sriovirt import exception
from sriovirt.conf.placement import service_conf
from sriovirt.placement.wsgi_transport import WsgiApp, WsgiTransport

LOG = logging.getLogger(__name__)

#: The URL the embedded Placement answers on (never resolved: the
#: transport is mounted for it).
ENDPOINT = "http://placement.embedded"
DATABASE_FILE = "placement.sqlite"
#: The microversion sriovirt speaks (consumer_type needs 1.38; any-of
#: traits 1.39).
MICROVERSION = "1.39"
#: The token Placement's ``noauth2`` strategy takes as admin.
NOAUTH_HEADERS = {"x-auth-token": "admin"}

_lock = threading.Lock()
#: Serialises this process's writes to the embedded database.
_write_lock = threading.Lock()
#: The embedded Placement this process serves ("active"), if any.
_serving: dict[str, EmbeddedPlacement] = {}


@contextlib.contextmanager
def _callers_context() -> Iterator[None]:
    """Placement makes its own request context the thread's current one
    (oslo.context's thread-local, which oslo.log reads): give the calling
    thread its own back, so that its later log lines keep the caller's
    request id rather than Placement's."""
    saved = oslo_context.get_current()
    try:
        yield
    finally:
        if saved is not None:
            saved.update_store()
        else:
            # oslo.context has no public way to clear the current one.
            oslo_context._request_store.__dict__.pop("context", None)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class EmbeddedPlacement:
    """Placement on ``<state_path>/placement.sqlite``, loaded on first use."""

    def __init__(self, state_path: Path | str) -> None:
        self.state_path = Path(state_path).absolute()
        self.database = self.state_path / DATABASE_FILE
        self._app: WsgiApp | None = None
        self._reset: Callable[[], None] | None = None
        #: How long loading took (schema check or creation, app), in ms.
        self.load_ms = 0.0

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"

    def describe(self) -> str:
        return f"embedded Placement on {self.database}"

    def app(self) -> WsgiApp:
        """The WSGI application, loaded (and the schema made) once."""
        with _lock:
            if self._app is not None:
                return self._app
            _active = _serving.get("active")
            if _active is not None and _active is not self:
                if _active.database != self.database:
                    raise exception.PlacementError(
                        endpoint=self.describe(),
                        reason=f"this process already serves "
                        f"{_active.describe()}; one embedded Placement "
                        "database per process (close it first)",
                    )
                assert _active._app is not None
                return _active._app
            started = time.perf_counter()
            self._app = self._load()
            self.load_ms = (time.perf_counter() - started) * 1000.0
            _serving["active"] = self
            return self._app

    def _load(self) -> WsgiApp:
        from oslo_db.sqlalchemy import enginefacade
        from placement import db_api, deploy
        from placement.db.sqlalchemy import migration
        from placement.objects import resource_class, trait

        try:
            self.state_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise exception.PlacementError(
                endpoint=self.describe(),
                reason=f"cannot create [DEFAULT] state_path "
                f"{self.state_path}: {exc.strerror}",
            ) from None
        conf = service_conf(self.url)
        manager = enginefacade.transaction_context()
        manager.configure(connection=self.url)
        self._reset = db_api.placement_context_manager.patch_factory(manager)
        # Placement remembers per process that it synced the standard
        # traits and classes; a new database needs them again.
        trait._TRAITS_SYNCED = False
        resource_class._RESOURCE_CLASSES_SYNCED = False
        try:
            with _file_lock(self.database.with_suffix(".sqlite.lock")):
                with contextlib.closing(sqlite3.connect(self.database)) as db:
                    db.execute("PRAGMA journal_mode=WAL")
                migration.upgrade("head")
                app: WsgiApp = deploy.loadapp(conf)
        except Exception as exc:
            self._reset()
            self._reset = None
            raise exception.PlacementError(
                endpoint=self.describe(),
                reason=f"cannot load it: {type(exc).__name__}: {exc}",
            ) from exc
        LOG.debug("Loaded %s", self.describe())
        return app

    def adapter(self, microversion: str = MICROVERSION) -> Any:
        """A keystoneauth1 Adapter reaching this Placement, no socket."""
        transport = WsgiTransport(self._lazy_app)
        http = requests.Session()
        http.mount(ENDPOINT + "/", transport)
        session = ks_session.Session(
            auth=None, session=http, additional_headers=NOAUTH_HEADERS
        )
        return ks_adapter.Adapter(
            session,
            service_type="placement",
            endpoint_override=ENDPOINT,
            default_microversion=microversion,
            raise_exc=False,
        )

    def _lazy_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        app = self.app()
        if environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            with _callers_context():
                return list(app(environ, start_response))
        # One writer at a time: SQLite refuses at once (database is
        # locked, no busy wait) a transaction that read and then wants
        # to write while another one wrote; Placement reads before it
        # writes.  Threads queue on the lock, processes on the flock.
        with (
            _callers_context(),
            _write_lock,
            _file_lock(self.database.with_suffix(".sqlite.w")),
        ):
            return list(app(environ, start_response))

    def close(self) -> None:
        """Let this process open another embedded database."""
        with _lock:
            if self._reset is not None:
                self._reset()
                self._reset = None
            self._app = None
            if _serving.get("active") is self:
                del _serving["active"]
