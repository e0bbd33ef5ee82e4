"""The server side of the compute RPC API: one host's calls, run on its
:class:`~sriovirt.compute.manager.ComputeManager`.

Each method is one call of :mod:`sriovirt.compute.rpcapi` (same name,
same arguments); ``target`` declares the newest version served, and
oslo.messaging refuses a call of a newer minor or another major.
sriovirt errors are expected outcomes (a busy name, a failed boot):
they go back to the caller, which raises them as one line naming the
error, without a traceback in this service's log.  Anything else is a
bug and is logged with its traceback by oslo.messaging.

This module must not build the manager nor start the server (the
compute service does), and must not decide anything the manager
decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import oslo_messaging as messaging

from sriovirt import exception
from sriovirt.compute import reconcile as reconcile_mod
from sriovirt.compute import rpc, rpcapi
from sriovirt.compute.manager import ComputeManager
from sriovirt.objects.boot_request import BootRequest as BootRequestObject
from sriovirt.objects.instance import Instance

LOG = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


def _expected(func: _F) -> _F:
    """sriovirt errors are answers, not bugs: no traceback logged."""
    wrap = messaging.expected_exceptions(exception.SriovirtError)
    return cast(_F, wrap(func))


class ComputeEndpoint:
    """The calls a compute service serves for its host."""

    target = messaging.Target(topic=rpc.TOPIC, version=rpcapi.LATEST_VERSION)

    def __init__(self, manager: ComputeManager) -> None:
        self.manager = manager

    def ping(self, context: Any) -> dict[str, Any]:
        return {"host": self.manager.host, "version": rpcapi.LATEST_VERSION}

    @_expected
    def build_and_run_instance(
        self, context: Any, boot: BootRequestObject
    ) -> Instance:
        LOG.info(
            "Boot of %s (%s) received, request %s",
            boot.name,
            boot.uuid,
            getattr(context, "request_id", None),
        )
        record = self.manager.build_and_run_instance(
            rpc.boot_from_object(boot)
        )
        return Instance.from_record(record)

    @_expected
    def terminate_instance(self, context: Any, instance_uuid: str) -> Instance:
        LOG.info(
            "Delete of %s received, request %s",
            instance_uuid,
            getattr(context, "request_id", None),
        )
        return Instance.from_record(
            self.manager.terminate_instance(instance_uuid)
        )

    @_expected
    def reconcile(self, context: Any, resume: bool) -> dict[str, Any]:
        report = reconcile_mod.reconcile(self.manager, resume=resume)
        return {
            "host": report.host,
            "findings": [
                {
                    "uuid": f.uuid,
                    "name": f.name,
                    "outcome": f.outcome.value,
                    "detail": f.detail,
                }
                for f in report.findings
            ],
        }
