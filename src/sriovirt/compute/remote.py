"""The compute hosts of the scheduler side when they run as services:
each host's manager reached over the message bus.

:class:`RemoteCompute` is one host's compute as
:class:`~sriovirt.compute.conductor.SchedulerManager` drives it (the
conductor's ``Compute`` protocol), calling
:class:`~sriovirt.compute.rpcapi.ComputeAPI` for that host;
:class:`RemoteComputes` is the registry (host -> compute) for any host
name, so the conductor is the same class whether its hosts are
in-process managers or services: one flow, two transports.

Every call of one command carries the same request ``context``
(oslo.context): its ``request_id`` is logged by the command and by each
compute service it reaches, so one boot can be followed across
processes.

A failed attempt is a :class:`~sriovirt.exception.BuildFailed`, as for
an in-process manager, so the conductor frees the allocation and tries
the next alternate:

* the compute ran the boot and failed it (rolled back there: a remote
  ``BuildFailed``);
* the host's service is down or disabled in the services table
  (:class:`~sriovirt.exception.ComputeServiceDown`: nothing sent).

A call that got no answer (:class:`~sriovirt.exception.ComputeUnreachable`:
no answer within ``rpc_response_timeout``, or the broker could not be
reached) is raised as it is: whether the host acted on it is for the
conductor to find out from the instance's row (see
:mod:`sriovirt.compute.conductor`), not a failed attempt by itself.  A
boot delivered after its caller gave up is refused by the compute when
the scheduler's allocation no longer holds that host's providers
(:meth:`~sriovirt.compute.manager.ComputeManager.build_and_run_instance`).

Any other remote error (a name in use, a bug) is raised as the RPC API
raised it (:class:`~sriovirt.exception.RemoteComputeError`): the
conductor frees the allocation and stops.

This module must not pick hosts, claim or free resources (the
conductor does), nor read the database or the configuration.
"""

from __future__ import annotations

from oslo_context.context import RequestContext

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.rpcapi import ComputeAPI
from sriovirt.db.records import InstanceRecord


class RemoteCompute:
    """One host's compute service, as the conductor drives a manager."""

    def __init__(
        self, api: ComputeAPI, host: str, context: RequestContext
    ) -> None:
        self.api = api
        self.host = host
        self.context = context

    def build_and_run_instance(self, boot: BootRequest) -> InstanceRecord:
        """Boot ``boot`` on this host; its row.  Raises
        :class:`~sriovirt.exception.BuildFailed` for a failed attempt
        (see the module docstring)."""
        instance = f"{boot.name!r} ({boot.uuid})"
        try:
            return self.api.build_and_run_instance(
                self.host, boot, context=self.context
            )
        except exception.RemoteComputeError as exc:
            if exc.error != "BuildFailed":
                raise
            raise exception.BuildFailed(
                instance=instance,
                step=f"build_and_run_instance on host {self.host}",
                reason=exc.reason,
                aftermath=f"as host {self.host} reported it",
            ) from exc
        except exception.ComputeServiceDown as exc:
            raise exception.BuildFailed(
                instance=instance,
                step=f"build_and_run_instance on host {self.host}",
                reason=str(exc),
                aftermath="nothing was sent",
            ) from exc

    def terminate_instance(self, instance_uuid: str) -> InstanceRecord:
        """Delete the server on this host; its last row."""
        return self.api.terminate_instance(
            self.host, instance_uuid, context=self.context
        )


class RemoteComputes:
    """host -> :class:`RemoteCompute`, for any host name: the services
    table and the RPC API say whether a host answers, not this
    registry."""

    def __init__(self, api: ComputeAPI, context: RequestContext) -> None:
        self.api = api
        self.context = context

    def get(self, host: str, /) -> RemoteCompute:
        return RemoteCompute(self.api, host, self.context)
