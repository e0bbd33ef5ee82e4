"""``sriovirt-compute``: the compute service of one host, as a process.

Reads the configuration and sets up oslo.log as the ``sriovirt``
commands do (:mod:`sriovirt.cmd.startup`; the log, INFO and above, goes
to standard error unless ``log_file`` says otherwise), builds the host
from it (the driver of ``[DEFAULT] compute_driver``, the database, the
network service, the Placement of ``[placement]``) and runs
:class:`~sriovirt.compute.service.ComputeService` on the main thread
until SIGTERM or SIGINT.  ``[DEFAULT] transport_url`` must name the
message bus: without it the service refuses to start (exit status 2).

Signals: SIGTERM and SIGINT stop the service cleanly (exit status 0);
SIGHUP reads the configuration files again, checks them with the
checks of ``sriovirt config check`` and, when they pass, applies the
new ``[pci] device_spec`` without a restart; otherwise the errors are
logged and the whitelist in use is kept.  Other options take effect at
the next restart.  The handlers only set a flag and wake the main loop
(:func:`signal.set_wakeup_fd`); the work runs on the main thread.

This module must not decide anything the service decides (start order,
what a reload keeps); it reads options and hands values over.
"""

from __future__ import annotations

import logging
import select
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from oslo_config import cfg

from sriovirt import cmd, exception
from sriovirt import conf as sriovirt_conf
from sriovirt.cmd import config_check, local, startup
from sriovirt.cmd.app import PROJECT
from sriovirt.compute import rpc
from sriovirt.compute.rpc_endpoint import ComputeEndpoint
from sriovirt.compute.service import ComputeService, RPCServer, Settings, Wake
from sriovirt.conf import pci as pci_conf
from sriovirt.pci.tracker import DeviceMatcher
from sriovirt.pci.whitelist import Whitelist

LOG = logging.getLogger(__name__)

PROG = "sriovirt-compute"

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Signals:
    """SIGTERM/SIGINT/SIGHUP as flags the main loop waits on.

    The handlers set a flag; the C-level wake-up fd makes
    :meth:`wait`'s ``select`` return at once.
    """

    def __init__(self) -> None:
        self.stop_requested = False
        self.reload_requested = False
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._old_fd = -1
        self._old: dict[int, Any] = {}

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested = True

    def install(self) -> None:
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno())
        for signum in _STOP_SIGNALS:
            self._old[signum] = signal.signal(signum, self._on_stop)
        self._old[signal.SIGHUP] = signal.signal(
            signal.SIGHUP, self._on_reload
        )

    def uninstall(self) -> None:
        for signum, handler in self._old.items():
            signal.signal(signum, handler)
        self._old.clear()
        signal.set_wakeup_fd(self._old_fd)
        self._reader.close()
        self._writer.close()

    def wait(self, timeout: float) -> Wake:
        """Block until a signal arrives or ``timeout`` seconds passed."""
        if not (self.stop_requested or self.reload_requested):
            select.select([self._reader], [], [], timeout)
        try:
            while self._reader.recv(512):
                pass
        except BlockingIOError:
            pass
        reload, self.reload_requested = self.reload_requested, False
        return Wake(stop=self.stop_requested, reload=reload)


def new_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    cmd.register_logging(conf)
    return conf


def _service_logging() -> None:
    """A service's log is its output: INFO and above on standard error
    too (the commands show only warnings there)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.NOTSET)


def reloaded_whitelist(argv: Sequence[str]) -> DeviceMatcher | None:
    """The whitelist of the configuration files as they are now, checked
    as ``sriovirt config check`` checks them; None (errors logged) when
    they do not pass."""
    conf = new_conf()
    args = startup.normalise_argv(argv)
    try:
        startup.read_files(args, PROJECT, PROG)
        conf(args, project=PROJECT, prog=PROG)
    except exception.ConfigError as exc:
        LOG.error("Reload: %s", cmd.one_line(str(exc)))
        return None
    except cfg.Error as exc:
        LOG.error("Reload: %s", cmd.config_error_text(exc))
        return None
    except SystemExit:
        LOG.error("Reload: the command line cannot be parsed again")
        return None
    try:
        found = config_check.findings(conf)
        errors = 0
        for f in found:
            if f.severity is config_check.Severity.ERROR:
                errors += 1
                LOG.error("Reload: %s (%s): %s", f.option, f.source, f.message)
            elif f.severity is config_check.Severity.WARNING:
                LOG.warning(
                    "Reload: %s (%s): %s", f.option, f.source, f.message
                )
        if errors:
            LOG.error(
                "Reload refused: %d error(s) in %s", errors, conf.config_file
            )
            return None
        whitelist = Whitelist.from_options(pci_conf.device_spec_values(conf))
        LOG.info(
            "Reload: configuration checked; [pci] device_spec is applied "
            "now, other options at the next restart"
        )
        return whitelist
    finally:
        conf.reset()


def _settings(conf: cfg.ConfigOpts) -> Settings:
    return Settings(
        host=cmd.host_name(conf),
        resume=bool(conf.resume_guests_state_on_host_boot),
        update_resources_interval=float(conf.update_resources_interval),
        report_interval=float(conf.report_interval),
        locks_dir=Path(str(conf.state_path)) / "locks",
    )


def _check_transport(conf: cfg.ConfigOpts) -> str:
    url = conf.transport_url
    if not url:
        raise exception.ConfigError(
            reason="[DEFAULT] transport_url is not set (from "
            f"{cmd.option_source(conf, 'transport_url')}): {PROG} serves "
            "its host over the message bus; set it to the broker's URL, "
            "e.g. rabbit://USER:PASSWORD@HOST:5672/"
        )
    return str(url)


def serve(conf: cfg.ConfigOpts, argv: Sequence[str], signals: Signals) -> int:
    """Run the service until a stop signal; the exit status."""
    _check_transport(conf)
    settings = _settings(conf)
    whitelist = Whitelist.from_options(pci_conf.device_spec_values(conf))
    with (
        local.open_host(conf) as found,
        local.open_placement(conf) as placement,
    ):
        transport = rpc.transport(conf)

        def rpc_server(endpoint: ComputeEndpoint) -> RPCServer:
            made: RPCServer = rpc.server(
                conf, transport, settings.host, endpoint
            )
            return made

        service = ComputeService(
            settings,
            driver=found.driver,
            database=found.db,
            network=found.network,
            placement_adapter=placement.adapter,
            placement_endpoint=placement.endpoint,
            whitelist=whitelist,
            rpc_server=rpc_server,
        )
        try:
            service.start()
            service.run(signals.wait, lambda: reloaded_whitelist(argv))
        finally:
            service.stop()
            if not rpc.cleanup(transport):
                LOG.warning("Message bus connections not closed in time")
            LOG.info("Message bus connections closed")
    LOG.info("Placement and database closed")
    LOG.info("%s on host %s stopped cleanly", PROG, settings.host)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    conf = new_conf()
    stop = startup.load(conf, args, project=PROJECT, prog=PROG)
    if stop is not None:
        return stop
    _service_logging()
    signals = Signals()
    signals.install()
    try:
        return cmd.run_action(PROG, lambda: serve(conf, args, signals))
    finally:
        signals.uninstall()
        conf.reset()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
