"""This host's collaborators for the commands and the compute service
(``[DEFAULT] transport_url`` unset, or the service itself): the
in-process counterpart of :mod:`sriovirt.cmd.cluster`.

:func:`open_host` loads the driver ``[DEFAULT] compute_driver`` names,
the network service of ``[network]`` and the database (checked synced);
:class:`Host` builds the compute manager (its resource tracker loaded
and refreshed, never started: only reconcile releases claims) and the
scheduler over this one host; :func:`open_placement` opens the
Placement of ``[placement]``, embedded by default.

This module must not boot, bind, claim or free anything itself, nor
print.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oslo_config import cfg

from sriovirt import cmd, exception
from sriovirt.cmd import host_name, network_backend
from sriovirt.cmd import placement as placement_cmd
from sriovirt.cmd.cluster import scheduler_settings
from sriovirt.compute import conductor, multihost
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.conductor import SchedulerManager
from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import ComputeManager, StepHook
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.conf import pci as pci_conf
from sriovirt.conf import placement as placement_conf
from sriovirt.db import api as db_api
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.pci.alias import parse_aliases
from sriovirt.pci.whitelist import Whitelist
from sriovirt.placement.allocations import AllocationClient
from sriovirt.placement.embedded import EmbeddedPlacement
from sriovirt.scheduler.request_spec import RequestSpec
from sriovirt.virt import loader
from sriovirt.virt.driver import ComputeDriver


def _network(conf: cfg.ConfigOpts) -> network_api.NetworkAPI:
    return network_backend.from_config(conf)


@dataclasses.dataclass
class Host:
    """This host's collaborators, built from the configuration."""

    host: str
    driver: ComputeDriver
    network: network_api.NetworkAPI
    db: db_api.Database

    def manager(
        self,
        conf: cfg.ConfigOpts,
        on_step: StepHook | None = None,
        placement: _Placement | None = None,
    ) -> ComputeManager:
        """The manager, its resource tracker loaded and refreshed (never
        started: only reconcile releases claims, and only dead ones);
        with ``placement``, it reports its tree after each change."""
        wl = Whitelist.from_options(pci_conf.device_spec_values(conf))
        locks = Path(str(conf.state_path)) / "locks"
        if placement is not None:
            setup = multihost.HostSetup(self.host, self.driver, wl)
            return multihost.open_hosts(
                [setup],
                database=self.db,
                network=self.network,
                placement_adapter=placement.adapter,
                placement_endpoint=placement.endpoint,
                locks_dir=locks,
                start=False,
                on_step=on_step,
            )[self.host]
        rt = ResourceTracker(self.host, self.driver, self.db, wl)
        rt.load_and_refresh()
        return ComputeManager(
            driver=self.driver,
            resource_tracker=rt,
            network=self.network,
            database=self.db,
            host=self.host,
            locks=InstanceLocks(locks),
            on_step=on_step,
        )

    def scheduler(
        self,
        conf: cfg.ConfigOpts,
        placement: _Placement,
        manager: ComputeManager,
    ) -> SchedulerManager:
        """The scheduler over this one host (the in-process registry)."""
        return SchedulerManager(
            placement=AllocationClient(placement.adapter, placement.endpoint),
            nodes=self.db,
            computes={self.host: manager},
            settings=scheduler_settings(conf),
        )

    def node_of(self, record: InstanceRecord) -> str:
        return record.node or self.driver.nodename()

    def get(self, name: str, host: str | None = None) -> InstanceRecord:
        if host is not None and host != self.host:
            raise cmd.CommandLineError(
                reason=f"--host {host}: with [DEFAULT] transport_url unset "
                f"the commands reach host {self.host} only (set "
                "transport_url to reach the compute services of other "
                "hosts)"
            )
        found = self.db.get_instance_by_name(self.host, name)
        if found is None:
            raise exception.ServerNotFound(server=repr(name), host=self.host)
        return found


@dataclasses.dataclass(frozen=True)
class _Placement:
    """The Placement of the ``[placement]`` options: an Adapter and the
    name errors give it."""

    adapter: Any
    endpoint: str


@contextlib.contextmanager
def open_placement(conf: cfg.ConfigOpts) -> Iterator[_Placement]:
    """Embedded (closed after) or remote, as ``[placement]`` says."""
    if placement_conf.mode(conf) is placement_conf.Mode.EMBEDDED:
        embedded = EmbeddedPlacement(Path(str(conf.state_path)))
        try:
            yield _Placement(embedded.adapter(), embedded.describe())
        finally:
            embedded.close()
        return
    client = placement_cmd.report_client(conf)
    yield _Placement(client.adapter, client.endpoint)


def request_spec(
    conf: cfg.ConfigOpts, network: network_api.NetworkAPI, boot: BootRequest
) -> RequestSpec:
    """The scheduler's request of ``boot``: flavor, image, its ports."""
    return conductor.request_spec_of(
        boot, network, parse_aliases(list(conf.pci.alias))
    )


@contextlib.contextmanager
def open_host(conf: cfg.ConfigOpts) -> Iterator[Host]:
    host = host_name(conf)
    driver = loader.load_compute_driver(str(conf.compute_driver), conf)
    network = _network(conf)
    with db_api.Database(str(conf.database.connection)) as database:
        database.check_synced()
        yield Host(host, driver, network, database)
