"""The scheduler side of the ``server`` commands when the computes are
services on the message bus (``[DEFAULT] transport_url`` set).

:class:`Cluster` is what a controller opens: the database and the
network service, no driver (it runs no hypervisor).  It finds servers on
every host that runs a ``sriovirt-compute`` service (names are unique
per host: a name on several hosts needs ``--host``), and builds the
same :class:`~sriovirt.compute.conductor.SchedulerManager` as the
in-process commands, over :class:`~sriovirt.compute.remote.RemoteComputes`
and with :class:`~sriovirt.compute.service_filter.ComputeServiceFilter`
first.  :func:`remote_computes` creates the command's one request
context (its id logged at debug) and the RPC client that consults the
services table before each call.

This module must not boot, delete, claim or free anything itself (the
conductor and the compute services do), nor print.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any, Protocol

from oslo_config import cfg
from oslo_context.context import RequestContext

from sriovirt import cmd, exception
from sriovirt.cmd import network_backend
from sriovirt.compute import rpc, rpcapi, services
from sriovirt.compute.conductor import Computes, SchedulerManager
from sriovirt.compute.remote import RemoteComputes
from sriovirt.compute.service_filter import ComputeServiceFilter
from sriovirt.db import api as db_api
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.placement.allocations import AllocationClient
from sriovirt.scheduler.destinations import SchedulerSettings
from sriovirt.scheduler.filters import ALL_HOST_FILTERS

LOG = logging.getLogger(__name__)


class PlacementHandle(Protocol):
    """The Placement the command opened: an Adapter and its name."""

    @property
    def adapter(self) -> Any: ...

    @property
    def endpoint(self) -> str: ...


def over_rpc(conf: cfg.ConfigOpts) -> bool:
    """Whether the computes are services on the message bus
    (``[DEFAULT] transport_url`` set) rather than in this process."""
    return bool(conf.transport_url)


def scheduler_settings(conf: cfg.ConfigOpts) -> SchedulerSettings:
    return SchedulerSettings(
        max_attempts=conf.scheduler.max_attempts,
        free_vf_weight_multiplier=conf.scheduler.free_vf_weight_multiplier,
        max_placement_results=conf.scheduler.max_placement_results,
    )


@dataclasses.dataclass
class Cluster:
    """The scheduler side's collaborators when the computes are
    services on the message bus: no driver (a controller runs no
    hypervisor)."""

    network: network_api.NetworkAPI
    db: db_api.Database

    def hosts(self) -> list[str]:
        """The hosts that run a compute service, sorted."""
        return sorted({s.host for s in self.db.get_services(rpc.BINARY)})

    def records(self) -> list[InstanceRecord]:
        """The servers of every compute host (one query)."""
        return self.db.get_instances_of_hosts(self.hosts())

    def get(self, name: str, host: str | None = None) -> InstanceRecord:
        """The server named ``name`` (on ``host``, when given): names
        are unique per host, so a name on several hosts needs one."""
        hosts = [host] if host is not None else self.hosts()
        found = self.db.get_instances_by_name_on_hosts(name, hosts)
        if not found:
            where = (
                host
                if host is not None
                else (
                    "any compute host (" + (", ".join(hosts) or "none") + ")"
                )
            )
            raise exception.ServerNotFound(server=repr(name), host=where)
        if len(found) > 1:
            raise cmd.CommandLineError(
                reason=f"server name {name!r} is used on hosts "
                f"{', '.join(str(r.host) for r in found)}: pick one with "
                "--host HOST"
            )
        return found[0]

    def node_of(self, record: InstanceRecord) -> str | None:
        return record.node

    def scheduler(
        self,
        conf: cfg.ConfigOpts,
        placement: PlacementHandle,
        computes: Computes,
    ) -> SchedulerManager:
        """The scheduler over every compute service: the hosts whose
        service is down or disabled are filtered out first."""
        return SchedulerManager(
            placement=AllocationClient(placement.adapter, placement.endpoint),
            nodes=self.db,
            instances=self.db,
            computes=computes,
            settings=scheduler_settings(conf),
            host_filters=(
                ComputeServiceFilter(self.db, float(conf.service_down_time)),
                *ALL_HOST_FILTERS,
            ),
        )


@contextlib.contextmanager
def open_cluster(conf: cfg.ConfigOpts) -> Iterator[Cluster]:
    """The database and the network service; no driver loaded."""
    network = network_backend.from_config(conf)
    with db_api.Database(str(conf.database.connection)) as database:
        database.check_synced()
        yield Cluster(network, database)


@contextlib.contextmanager
def remote_computes(
    conf: cfg.ConfigOpts, database: db_api.Database
) -> Iterator[RemoteComputes]:
    """The compute services over ``[DEFAULT] transport_url``, every call
    carrying one request context (its id logged here at debug); a host
    whose service is down or disabled is refused before sending."""
    context = RequestContext(overwrite=False)
    LOG.debug("Request %s: computes over the message bus", context.request_id)
    transport = rpc.transport(conf)
    try:
        api = rpcapi.ComputeAPI(
            conf,
            transport,
            service_state=services.service_state(
                database, float(conf.service_down_time)
            ),
        )
        yield RemoteComputes(api, context)
    finally:
        rpc.cleanup(transport)
