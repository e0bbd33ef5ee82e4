"""The compute service's heartbeat: its row in the services table,
stamped every ``report_interval`` seconds from a thread of its own.

:class:`Heartbeat` registers the service at :meth:`~Heartbeat.start`
(the first report is written before ``start`` returns, so a failing
database stops the start with its error) and then reports until
:meth:`~Heartbeat.stop`.  A later failed report is logged and retried
at the next interval: a database outage makes the service look down to
the scheduler side, it does not stop the service.

This module must not decide whether a service is up (that is
:mod:`sriovirt.compute.services`'s rule) nor read configuration: the
caller passes the interval.
"""

from __future__ import annotations

import logging
import threading

from sriovirt import exception
from sriovirt.compute import rpc, rpcapi
from sriovirt.db import api as db_api

LOG = logging.getLogger(__name__)


class Heartbeat:
    """Reports ``host``'s compute service every ``interval`` seconds."""

    def __init__(
        self,
        database: db_api.Database,
        host: str,
        interval: float,
        *,
        version: str = rpcapi.LATEST_VERSION,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"heartbeat interval {interval!r} must be > 0")
        self.database = database
        self.host = host
        self.interval = interval
        self.version = version
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Reports written since start (failed ones not counted).
        self.reports = 0

    def report(self) -> None:
        self.database.service_heartbeat(
            self.host, rpc.BINARY, rpc.TOPIC, self.version
        )
        self.reports += 1

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("heartbeat already started")
        self.report()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.host}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.report()
            except exception.SriovirtError as exc:
                LOG.warning(
                    "Heartbeat of %s on host %s not written (next try in "
                    "%g s): %s",
                    rpc.BINARY,
                    self.host,
                    self.interval,
                    exc,
                )

    def stop(self) -> None:
        """Stop reporting; returns once the thread has ended."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join()
