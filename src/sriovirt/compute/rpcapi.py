"""The client side of the compute RPC API: what the scheduler side calls
on a chosen host's ``sriovirt-compute`` service.

Versioned like Nova's compute RPC API: every method states the version
it needs, the server side accepts every version up to
:data:`LATEST_VERSION` of the same major, and ``[upgrade_levels]
compute`` pins what a client sends while older compute services still
run (a rolling upgrade: upgrade the computes, then lift the pin).  A
method whose version is above the pin fails before anything is sent
(:class:`~sriovirt.exception.RPCVersionTooNew`).

Version history (a new method or argument bumps the minor; the
endpoint's ``target`` version moves with it):

* 1.0: ``ping``, ``build_and_run_instance``, ``terminate_instance``
* 1.1: ``reconcile``
* 1.2: ``build_and_run_instance`` carries a ``BootRequest`` object 1.1
  (``port_providers``: each SR-IOV port's PF provider, from the
  scheduler's Placement allocation)

A boot with port providers needs 1.2: under a pin below it, it is
refused before anything is sent
(:class:`~sriovirt.exception.RPCVersionTooNew`), not sent without
them.  Without its PF, an older compute would take any
matching VF, possibly of another PF than the one Placement allocated,
and Placement's usages would no longer match the host's devices (the
drift the allocation exists to prevent); refusing keeps the upgrade
rule plain: upgrade the computes, then lift the pin.  A boot without
providers (no SR-IOV port) is sent as 1.0 under such a pin, its object
backported to 1.0.

Each method takes an optional request ``context`` (oslo.context): its
``request_id`` is logged by the compute service, so one boot can be
followed from the command across processes; without one, each call gets
a fresh request id.

Every call goes to one host (``prepare(server=host)``), with a
``timeout`` (``[DEFAULT] rpc_response_timeout`` unless given) and a
bounded number of send retries (``[DEFAULT] rpc_retries``: oslo's
default retries forever through a broker outage, past the timeout).
A caller never waits more than the timeout plus ``HARD_SLACK`` (10 s):
oslo.messaging opens its reply queue's connection with unbounded
reconnects, so a call runs in a daemon thread with that deadline.
Failures become one-line sriovirt errors naming the method, the host
and the topic: :class:`~sriovirt.exception.ComputeServiceDown` (the
service table says so; nothing sent),
:class:`~sriovirt.exception.ComputeUnreachable` (no answer in time, or
the bus unreachable), :class:`~sriovirt.exception.RemoteComputeError`
(the compute ran the call and it raised).

This module must not boot anything itself, nor read the database: the
caller passes a ``service_state`` callable when it wants the services
table consulted before sending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_context.context import RequestContext
from oslo_utils import versionutils

from sriovirt import exception
from sriovirt.compute import rpc
from sriovirt.compute.boot import BootRequest
from sriovirt.compute.reconcile import Finding, Outcome, ReconcileReport
from sriovirt.db.records import InstanceRecord
from sriovirt.objects.instance import Instance

BASE_VERSION = "1.0"
LATEST_VERSION = "1.2"

#: The version whose boot object carries ``port_providers``.
PROVIDERS_VERSION = "1.2"

#: ``service_state(host)``: why ``host``'s service must not get work
#: (down, disabled), or None when it may.
ServiceState = Callable[[str], str | None]

_PIN_OPTION = "[upgrade_levels] compute"

#: Seconds a caller waits past the call's timeout before giving up on
#: a call stuck connecting to the message bus.
HARD_SLACK = 10.0


def _tuple(version: str) -> tuple[int, ...]:
    return tuple(versionutils.convert_version_to_tuple(version))


def version_cap(pin: str | None) -> str:
    """The version a client may send under ``pin`` (None: the newest)."""
    if pin is None or pin == "":
        return LATEST_VERSION
    try:
        wanted = _tuple(pin)
    except ValueError:
        wanted = ()
    if (
        len(wanted) != 2
        or wanted[0] != _tuple(BASE_VERSION)[0]
        or wanted > _tuple(LATEST_VERSION)
    ):
        raise exception.ConfigError(
            reason=f"{_PIN_OPTION} = {pin!r} is not a compute RPC version "
            f"this release can send: want {BASE_VERSION} .. "
            f"{LATEST_VERSION} (or unset)"
        )
    return pin


class ComputeAPI:
    """Client of the compute services: one method per remote call."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        transport: Any,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        service_state: ServiceState | None = None,
        slack: float = HARD_SLACK,
    ) -> None:
        self.version_cap = version_cap(conf.upgrade_levels.compute)
        self.timeout = float(
            conf.rpc_response_timeout if timeout is None else timeout
        )
        self.retries = conf.rpc_retries if retries is None else retries
        self.service_state = service_state
        self.slack = slack
        target = messaging.Target(topic=rpc.TOPIC, version=BASE_VERSION)
        self.client = messaging.get_rpc_client(
            transport,
            target,
            version_cap=self.version_cap,
            serializer=rpc.Serializer(),
        )

    def can_send_version(self, version: str) -> bool:
        return bool(self.client.can_send_version(version))

    # --- calls ---------------------------------------------------------------

    def ping(
        self, host: str, *, context: RequestContext | None = None
    ) -> dict[str, Any]:
        """The host's answer: its host name and the newest version it
        serves.  Checks the service answers before sending work."""
        answer = self._call(host, "ping", "1.0", context)
        return dict(answer)

    def build_and_run_instance(
        self,
        host: str,
        boot: BootRequest,
        *,
        context: RequestContext | None = None,
    ) -> InstanceRecord:
        """Boot ``boot`` on ``host``; its stored row.

        Sent as 1.2 (object 1.1) when the pin allows; a boot without
        port providers as 1.0 (object 1.0) under an older pin; a boot
        with port providers under an older pin is refused, nothing sent
        (see the module docstring)."""
        if self.can_send_version(PROVIDERS_VERSION):
            version, obj_version = PROVIDERS_VERSION, None
        elif boot.port_providers:
            raise exception.RPCVersionTooNew(
                method="build_and_run_instance",
                host=host,
                topic=rpc.TOPIC,
                reason=f"a boot with port providers (ports "
                f"{', '.join(sorted(boot.port_providers))} placed on "
                f"their PFs) needs compute RPC version {PROVIDERS_VERSION}, "
                f"but {_PIN_OPTION} pins {self.version_cap}: an older "
                "compute would not take the allocated PF; finish the "
                "upgrade of the compute services, then raise or remove "
                "the pin",
            )
        else:
            version, obj_version = BASE_VERSION, "1.0"
        answer = self._call(
            host,
            "build_and_run_instance",
            version,
            context,
            boot=rpc.boot_to_object(boot, obj_version),
        )
        return _record(answer)

    def terminate_instance(
        self,
        host: str,
        instance_uuid: str,
        *,
        context: RequestContext | None = None,
    ) -> InstanceRecord:
        """Delete the server ``instance_uuid`` on ``host``; its last row."""
        answer = self._call(
            host,
            "terminate_instance",
            "1.0",
            context,
            instance_uuid=instance_uuid,
        )
        return _record(answer)

    def reconcile(
        self,
        host: str,
        *,
        resume: bool,
        context: RequestContext | None = None,
    ) -> ReconcileReport:
        """Reconcile ``host`` now (see :mod:`sriovirt.compute.reconcile`)."""
        answer = self._call(host, "reconcile", "1.1", context, resume=resume)
        return ReconcileReport(
            host=answer["host"],
            findings=tuple(
                Finding(
                    uuid=f["uuid"],
                    name=f["name"],
                    outcome=Outcome(f["outcome"]),
                    detail=f["detail"],
                )
                for f in answer["findings"]
            ),
        )

    # --- plumbing ------------------------------------------------------------

    def _bounded(
        self,
        client: Any,
        context: RequestContext,
        method: str,
        kwargs: dict[str, Any],
    ) -> Any:
        """``client.call`` with a hard deadline: oslo.messaging's first
        call opens the reply queue's connection with unbounded
        reconnects, whatever the call's ``retry`` (a broker down from
        the start would hang it), so the call runs in a daemon thread
        and the caller waits at most ``timeout`` + ``slack``."""
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["answer"] = client.call(context, method, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(
            target=run, name=f"rpc-{method}", daemon=True
        )
        worker.start()
        worker.join(self.timeout + self.slack)
        if worker.is_alive():
            raise _BusStuck(self.timeout + self.slack)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("answer")

    def _call(
        self,
        host: str,
        method: str,
        version: str,
        context: RequestContext | None,
        **kwargs: Any,
    ) -> Any:
        self._check_sendable(host, method, version)
        client = self.client.prepare(
            server=host,
            version=version,
            timeout=self.timeout,
            retry=self.retries,
        )
        if context is None:
            context = RequestContext(overwrite=False)
        try:
            return self._bounded(client, context, method, kwargs)
        except Exception as exc:
            translated = self._translate(exc, method, host)
            if translated is None:
                raise
            raise translated from None

    def _check_sendable(self, host: str, method: str, version: str) -> None:
        """Refuse before sending: a version the pin forbids, or a host
        whose service is down or disabled."""
        if not self.can_send_version(version):
            raise exception.RPCVersionTooNew(
                method=method,
                host=host,
                topic=rpc.TOPIC,
                reason=f"needs compute RPC version {version}, but "
                f"{_PIN_OPTION} pins {self.version_cap}: finish the "
                "upgrade of the compute services, then raise or remove "
                "the pin",
            )
        if self.service_state is not None:
            why = self.service_state(host)
            if why is not None:
                raise exception.ComputeServiceDown(
                    method=method, host=host, topic=rpc.TOPIC, reason=why
                )

    def _translate(
        self, exc: Exception, method: str, host: str
    ) -> exception.SriovirtError | None:
        """The one-line error a failed call is, or None (not ours to
        translate: raised as it is)."""

        def down(reason: str) -> exception.SriovirtError:
            return exception.ComputeUnreachable(
                method=method, host=host, topic=rpc.TOPIC, reason=reason
            )

        def remote(error: str, reason: str) -> exception.SriovirtError:
            return exception.RemoteComputeError(
                method=method,
                host=host,
                topic=rpc.TOPIC,
                error=error,
                reason=reason,
            )

        if isinstance(exc, _BusStuck):
            return down(
                f"no connection to the message bus within {exc.seconds:g} "
                "s: is the broker of [DEFAULT] transport_url running and "
                "reachable?"
            )
        if isinstance(exc, messaging.MessagingTimeout):
            return down(
                f"no answer within {self.timeout:g} s: is the host's "
                "sriovirt-compute service running? (the call may still "
                "have run there: look before retrying)"
            )
        if isinstance(exc, messaging.MessageDeliveryFailure):
            return down(
                f"message bus unreachable after {self.retries} retries "
                f"({_first_line(exc)})"
            )
        if isinstance(exc, messaging.RemoteError):
            return remote(str(exc.exc_type), _first_line(exc.value))
        if isinstance(exc, messaging.MessagingException):
            return down(_first_line(exc))
        if _rebuilt_remote(exc):
            # An exception of the compute side rebuilt by oslo.messaging
            # (a builtin one, e.g. a bug's TypeError): its message
            # carries the remote traceback; keep the first line.
            return remote(
                type(exc).__name__.removesuffix("_Remote"), _first_line(exc)
            )
        return None


class _BusStuck(Exception):
    """The call did not get through connecting to the message bus."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _rebuilt_remote(exc: BaseException) -> bool:
    """Whether oslo.messaging rebuilt ``exc`` from a remote answer: a
    class it renamed ``*_Remote``, or (a builtin, which it cannot rename)
    a message it ended with the remote traceback."""
    return type(exc).__module__.endswith("_Remote") or (
        "Traceback (most recent call last)" in str(exc)
    )


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else repr(value)


def _record(answer: object) -> InstanceRecord:
    if not isinstance(answer, Instance):
        raise TypeError(f"expected an Instance object, got {answer!r}")
    return answer.to_record()
