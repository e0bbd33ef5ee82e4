"""The ``sriovirt-compute`` service of one host: start, serve, refresh,
reload, stop.

:meth:`ComputeService.start` brings the host up in the order of design
section 9: the resource tracker started (the one place that releases
the claims of instances that no longer exist), reconcile (interrupted
boots and deletes finished or rolled back, guests resumed when
``resume``), the provider tree reported to Placement (an outage is
logged; the next periodic refresh catches up), the heartbeat, then the
RPC server.  :meth:`ComputeService.run` is the main loop: a periodic
refresh every ``update_resources_interval`` seconds (errors logged, the
loop goes on) and whatever the caller's ``wait`` reports (a stop, a
whitelist reload).  :meth:`ComputeService.stop` stops taking calls,
lets the calls in flight finish, then stops the heartbeat.

This module must not read configuration (the values come in built,
the new whitelist of a reload too), install signal handlers, or close
the database, network or Placement it was given (the command that
opened them does).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sriovirt import exception
from sriovirt.compute import multihost, rpc
from sriovirt.compute import reconcile as reconcile_mod
from sriovirt.compute.heartbeat import Heartbeat
from sriovirt.compute.manager import ComputeManager
from sriovirt.compute.resource_tracker import RefreshReport
from sriovirt.compute.rpc_endpoint import ComputeEndpoint
from sriovirt.db import api as db_api
from sriovirt.network import api as network_api
from sriovirt.pci.tracker import DeviceMatcher
from sriovirt.placement.allocations import AllocationClient
from sriovirt.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class RPCServer(Protocol):
    """What the service needs of an oslo.messaging RPC server."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait(self) -> None: ...


#: Builds the RPC server of the host's endpoint (not started).
ServerFactory = Callable[[ComputeEndpoint], RPCServer]


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The service's options, as values."""

    host: str
    #: ``[DEFAULT] resume_guests_state_on_host_boot``.
    resume: bool
    #: ``[DEFAULT] update_resources_interval``, seconds.
    update_resources_interval: float
    #: ``[DEFAULT] report_interval`` (heartbeat), seconds.
    report_interval: float
    #: ``[DEFAULT] state_path``/locks.
    locks_dir: Path


@dataclasses.dataclass(frozen=True, slots=True)
class Wake:
    """What woke the main loop: a stop, a reload, or neither (timeout)."""

    stop: bool = False
    reload: bool = False


#: Blocks at most the given seconds; says why it returned.
Waiter = Callable[[float], Wake]

#: Builds the new whitelist of a reload, or None when the new
#: configuration is refused (the caller has logged why).
WhitelistSource = Callable[[], DeviceMatcher | None]


class ComputeService:
    """One host's compute service over built collaborators."""

    def __init__(
        self,
        settings: Settings,
        *,
        driver: ComputeDriver,
        database: db_api.Database,
        network: network_api.NetworkAPI,
        placement_adapter: Any,
        placement_endpoint: str,
        whitelist: DeviceMatcher,
        rpc_server: ServerFactory,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings.update_resources_interval <= 0:
            raise ValueError(
                "update_resources_interval "
                f"{settings.update_resources_interval!r} must be > 0"
            )
        self.settings = settings
        self.driver = driver
        self.database = database
        self.network = network
        self.placement_adapter = placement_adapter
        self.placement_endpoint = placement_endpoint
        self.whitelist = whitelist
        self._rpc_server = rpc_server
        self._clock = clock
        self.manager: ComputeManager | None = None
        self.server: RPCServer | None = None
        self.heartbeat: Heartbeat | None = None
        #: Periodic refreshes done, failed ones included.
        self.refreshes = 0

    # --- start -------------------------------------------------------------

    def start(self) -> reconcile_mod.ReconcileReport:
        """Bring the host up and serve; the reconcile report."""
        LOG.info("Starting %s on host %s", rpc.BINARY, self.settings.host)
        manager = self._open_manager()
        report = self._reconcile(manager)
        self._report()
        self._beat()
        self._serve(manager)
        return report

    def _open_manager(self) -> ComputeManager:
        """The host's manager, its tracker started (claims of dead
        instances released) and its tree reported once (an outage
        logged)."""
        host = self.settings.host
        setup = multihost.HostSetup(host, self.driver, self.whitelist)
        manager = multihost.open_hosts(
            [setup],
            database=self.database,
            network=self.network,
            placement_adapter=self.placement_adapter,
            placement_endpoint=self.placement_endpoint,
            locks_dir=self.settings.locks_dir,
            start=True,
        )[host]
        self.manager = manager
        LOG.info("Resource tracker of %s started", host)
        return manager

    def _reconcile(
        self, manager: ComputeManager
    ) -> reconcile_mod.ReconcileReport:
        report = reconcile_mod.reconcile(
            manager,
            resume=self.settings.resume,
            allocations=AllocationClient(
                self.placement_adapter, self.placement_endpoint
            ),
        )
        LOG.info(
            "Reconcile of %s: %d findings%s",
            self.settings.host,
            len(report.findings),
            ", some could not be finished" if report.failed else "",
        )
        return report

    def _beat(self) -> None:
        heartbeat = Heartbeat(
            self.database, self.settings.host, self.settings.report_interval
        )
        heartbeat.start()
        self.heartbeat = heartbeat
        LOG.info(
            "Heartbeat of %s started (every %g s)",
            self.settings.host,
            self.settings.report_interval,
        )

    def _serve(self, manager: ComputeManager) -> None:
        server = self._rpc_server(ComputeEndpoint(manager))
        server.start()
        self.server = server
        host = self.settings.host
        LOG.info(
            "%s on host %s ready: serving topic %s, server %s; periodic "
            "refresh every %g s",
            rpc.BINARY,
            host,
            rpc.TOPIC,
            host,
            self.settings.update_resources_interval,
        )

    def _started(self) -> ComputeManager:
        if self.manager is None:
            raise RuntimeError("the compute service is not started")
        return self.manager

    def _report(self) -> None:
        """Report to Placement; its outage is logged, never fatal."""
        manager = self._started()
        if manager.reporter is None:
            return
        try:
            manager.reporter.report()
        except exception.SriovirtError as exc:
            LOG.warning(
                "Resource providers of %s not reported (the next periodic "
                "refresh tries again): %s",
                self.settings.host,
                exc,
            )

    # --- periodic refresh and reload ---------------------------------------

    def periodic(self) -> RefreshReport | None:
        """One refresh and report; an error is logged, never raised."""
        self.refreshes += 1
        try:
            return self._started().refresh_resources()
        except exception.SriovirtError as exc:
            LOG.warning(
                "Periodic refresh of %s failed (next in %g s): %s",
                self.settings.host,
                self.settings.update_resources_interval,
                exc,
            )
        except Exception:
            LOG.exception(
                "Periodic refresh of %s failed (next in %g s)",
                self.settings.host,
                self.settings.update_resources_interval,
            )
        return None

    def reload(self, whitelist: DeviceMatcher) -> RefreshReport:
        """Use ``whitelist`` from now on, without a restart: the tracker
        re-matches every device, keeps the claimed and allocated ones the
        new whitelist no longer matches until they are freed, stores the
        pools and reports to Placement."""
        manager = self._started()
        rt = manager.rt
        with rt.lock:
            rt.whitelist = whitelist
            rt.tracker.set_whitelist(whitelist)
            self.whitelist = whitelist
            report = manager.refresh_resources()
        sync = report.sync
        LOG.info(
            "Whitelist of %s reloaded: %d devices matched, %d added, "
            "%d removed, %d kept in use",
            self.settings.host,
            report.devices,
            len(sync.added),
            len(sync.removed),
            len(sync.kept_in_use),
        )
        return report

    def run(self, wait: Waiter, new_whitelist: WhitelistSource) -> None:
        """The main loop, until ``wait`` reports a stop: a periodic
        refresh every ``update_resources_interval`` seconds, a reload
        when ``wait`` asks for one and ``new_whitelist`` gives one."""
        interval = self.settings.update_resources_interval
        next_refresh = self._clock() + interval
        while True:
            wake = wait(max(0.0, next_refresh - self._clock()))
            if wake.stop:
                LOG.info("Stop requested")
                return
            if wake.reload:
                self._reload_from(new_whitelist)
            if self._clock() >= next_refresh:
                self.periodic()
                next_refresh = self._clock() + interval

    def _reload_from(self, new_whitelist: WhitelistSource) -> None:
        LOG.info("Reload requested: reading the configuration again")
        whitelist = new_whitelist()
        if whitelist is None:
            LOG.error(
                "New configuration refused; the whitelist in use is kept"
            )
            return
        try:
            self.reload(whitelist)
        except exception.SriovirtError as exc:
            LOG.error(
                "Whitelist reload of %s not stored (the next periodic "
                "refresh tries again): %s",
                self.settings.host,
                exc,
            )

    # --- stop ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking calls, let those in flight finish, stop the
        heartbeat.  A boot that cannot finish is left to the journal
        (the next start's reconcile)."""
        host = self.settings.host
        server, self.server = self.server, None
        if server is not None:
            LOG.info("Stopping: no more RPC calls taken on %s", host)
            server.stop()
            LOG.info("Waiting for the calls in flight on %s", host)
            server.wait()
            LOG.info("RPC server of %s stopped", host)
        LOG.info("Periodic refresh of %s stopped", host)
        heartbeat, self.heartbeat = self.heartbeat, None
        if heartbeat is not None:
            heartbeat.stop()
            LOG.info("Heartbeat of %s stopped", host)
