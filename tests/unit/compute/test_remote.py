"""The remote compute adapter: the conductor's Compute over the RPC API.

The RPC API is replaced by a double answering or raising what the real
one raises (tests/functional/test_server_rpc.py runs the real one over
RabbitMQ): here, which of its errors are failed attempts (BuildFailed:
the conductor tries the next host) and which stop the boot.
"""

from __future__ import annotations

from typing import cast

import pytest
from oslo_context.context import RequestContext

from sriovirt import exception
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.remote import RemoteCompute, RemoteComputes
from sriovirt.compute.rpcapi import ComputeAPI
from sriovirt.db.records import InstanceRecord

BOOT = BootRequest(
    name="vm-r",
    port_ids=("p1",),
    uuid="0b5e5a1d-0000-4000-8000-0000000000d1",
)


class _API:
    """Answers a row, or raises ``error``; records each call's context."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, str, object]] = []

    def build_and_run_instance(
        self, host: str, boot: BootRequest, *, context: RequestContext
    ) -> InstanceRecord:
        self.calls.append(("build", host, context))
        if self.error is not None:
            raise self.error
        return InstanceRecord(
            uuid=boot.uuid, vm_state="active", name=boot.name, host=host
        )

    def terminate_instance(
        self, host: str, instance_uuid: str, *, context: RequestContext
    ) -> InstanceRecord:
        self.calls.append(("terminate", host, context))
        return InstanceRecord(uuid=instance_uuid, vm_state="active", host=host)


def _remote(
    error: Exception | None = None,
) -> tuple[RemoteComputes, _API, RequestContext]:
    api = _API(error)
    context = RequestContext()
    return RemoteComputes(cast(ComputeAPI, api), context), api, context


def _rpc_error(
    cls: type[exception.ComputeRPCError], **extra: str
) -> Exception:
    return cls(
        method="build_and_run_instance",
        host="host-b",
        topic="sriovirt-compute",
        reason="it went wrong",
        **extra,
    )


def test_registry_has_every_host_and_one_context_for_all_calls() -> None:
    computes, api, context = _remote()
    a = computes.get("host-a")
    b = computes.get("host-b")
    assert isinstance(a, RemoteCompute) and a.host == "host-a"
    record = a.build_and_run_instance(BOOT)
    assert (record.uuid, record.host) == (BOOT.uuid, "host-a")
    b.terminate_instance(BOOT.uuid)
    assert api.calls == [
        ("build", "host-a", context),
        ("terminate", "host-b", context),
    ]


@pytest.mark.parametrize(
    ("error", "aftermath"),
    [
        (
            _rpc_error(exception.RemoteComputeError, error="BuildFailed"),
            "as host host-b reported it",
        ),
        (_rpc_error(exception.ComputeServiceDown), "nothing was sent"),
    ],
)
def test_failed_attempts_are_build_failures(
    error: Exception, aftermath: str
) -> None:
    computes, _, _ = _remote(error)
    with pytest.raises(exception.BuildFailed) as caught:
        computes.get("host-b").build_and_run_instance(BOOT)
    failed = caught.value
    assert failed.instance == f"'vm-r' ({BOOT.uuid})"
    assert failed.step == "build_and_run_instance on host host-b"
    assert "it went wrong" in failed.reason
    assert failed.aftermath == aftermath
    assert failed.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [
        _rpc_error(exception.RemoteComputeError, error="ServerNameInUse"),
        _rpc_error(exception.RPCVersionTooNew),
        # Unanswered: the conductor reads the row to know what happened.
        _rpc_error(exception.ComputeUnreachable),
    ],
)
def test_other_rpc_errors_stop_the_boot(error: Exception) -> None:
    computes, _, _ = _remote(error)
    with pytest.raises(type(error)) as caught:
        computes.get("host-b").build_and_run_instance(BOOT)
    assert caught.value is error
