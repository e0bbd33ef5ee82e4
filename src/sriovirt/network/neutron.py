"""The Neutron network backend: :class:`NetworkAPI` over Neutron's REST API.

:class:`NeutronNetwork` implements :class:`~sriovirt.network.api.
NetworkAPI` (``[network] backend = neutron``) with keystoneauth1
adapters handed in ready-made by the edge (see :mod:`sriovirt.conf.
neutron`):

- ``reader`` shows ports and networks.  Its credentials need the
  ``admin`` role: Neutron shows ``provider:physical_network`` to admins
  only, and the ``binding:*`` attributes not to members.
- ``binder`` writes bindings.  Under Neutron's new default RBAC only the
  ``service`` role may write ``binding:host_id`` and ``binding:profile``
  (admin is refused), as Nova does it.  One set of credentials with both
  roles may serve as both adapters.

Binding writes ``binding:host_id``, ``device_id``, ``device_owner`` and
the PCI keys of ``binding:profile``
(:meth:`~sriovirt.network.api.PortBinding.fields`), then re-reads the
port: a ``binding_failed`` port is unbound again and reported as
:class:`~sriovirt.exception.PortBindingFailed` naming the port and host.
Unbinding removes exactly the keys a binding adds and keeps the rest.

Connection errors and 5xx answers are retried with a doubling delay,
a few times (:class:`RetryPolicy`); 4xx answers are not.  Every failure
is a one-line :class:`~sriovirt.exception.NeutronError` naming the port
(or network), the call and the status; 404 is
:class:`~sriovirt.exception.PortNotFound` or
:class:`~sriovirt.exception.NetworkNotFound`.

This module must not read configuration (no oslo.config: adapters come
in built) and must not decide vif types (Neutron does).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from keystoneauth1 import exceptions as ks_exc

from sriovirt import exception
from sriovirt.network.api import PROFILE_KEYS, PortBinding, unbound_fields

BINDING_FAILED = "binding_failed"
API = "/v2.0"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a failing call is tried again.

    ``attempts`` calls in all; the delay before the second is ``delay``
    and doubles each time, capped at ``max_delay``.  The defaults give
    up after ~0.6 s of waiting.
    """

    attempts: int = 3
    delay: float = 0.2
    max_delay: float = 1.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.delay < 0 or self.max_delay < 0:
            raise exception.Invalid(reason=f"retry policy {self!r}")

    def delays(self) -> Iterator[float]:
        """The waits between attempts (one fewer than attempts)."""
        delay = self.delay
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay)
            delay *= 2


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    """One REST call: what it is for (errors name it) and how to do it."""

    method: str
    path: str
    subject: str
    body: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class NeutronNetwork:
    """Ports and networks of a real Neutron (see the module docstring)."""

    def __init__(
        self,
        *,
        reader: Any,
        binder: Any | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._reader = reader
        self._binder = reader if binder is None else binder
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def show_port(self, port_id: str) -> dict[str, Any]:
        return self._port(self._reader, _get_port(port_id))

    def show_network(self, network_id: str) -> dict[str, Any]:
        call = _Call(
            method="GET",
            path=f"{API}/networks/{quote(network_id, safe='')}",
            subject=f"network {network_id}",
        )
        answer = self._request(self._reader, call)
        if answer.status == 404:
            raise exception.NetworkNotFound(
                network_id=network_id, source=self._source()
            )
        return self._checked(call, answer).inner(call, "network")

    def bind_port(self, port_id: str, binding: PortBinding) -> dict[str, Any]:
        current = self.show_port(port_id)
        self._put_port(port_id, binding.fields(current))
        bound = self.show_port(port_id)
        if bound.get("binding:vif_type") != BINDING_FAILED:
            return bound
        why = (
            f"Neutron set binding:vif_type {BINDING_FAILED} (no mechanism "
            "driver bound it with binding:profile "
            f"{bound.get('binding:profile')!r})"
        )
        try:
            self._put_port(port_id, unbound_fields(bound))
        except exception.SriovirtError as undo:
            # The binding failure is the news; the caller's rollback
            # unbinds again.
            raise exception.PortBindingFailed(
                port_id=port_id,
                host=binding.host,
                reason=f"{why}; unbinding it again failed: {undo}",
            ) from undo
        raise exception.PortBindingFailed(
            port_id=port_id, host=binding.host, reason=f"{why}; unbound again"
        )

    def unbind_port(self, port_id: str) -> dict[str, Any]:
        current = self.show_port(port_id)
        if not _is_bound(current):
            return current
        self._put_port(port_id, unbound_fields(current))
        return self.show_port(port_id)

    def _put_port(self, port_id: str, fields: Mapping[str, Any]) -> None:
        call = _Call(
            method="PUT",
            path=f"{API}/ports/{quote(port_id, safe='')}",
            subject=f"port {port_id}",
            body={"port": dict(fields)},
        )
        self._port(self._binder, call)

    def _port(self, adapter: Any, call: _Call) -> dict[str, Any]:
        answer = self._request(adapter, call)
        if answer.status == 404:
            port_id = call.subject.removeprefix("port ")
            raise exception.PortNotFound(
                port_id=port_id, source=self._source()
            )
        return self._checked(call, answer).inner(call, "port")

    def _source(self) -> str:
        endpoint = None
        with contextlib.suppress(ks_exc.ClientException):
            endpoint = self._reader.get_endpoint()
        return f"Neutron at {endpoint or '(no endpoint)'}"

    def _checked(self, call: _Call, answer: _Answer) -> _Answer:
        if 200 <= answer.status < 300:
            return answer
        raise exception.NeutronError(
            call=str(call),
            subject=call.subject,
            attempts=answer.attempts,
            status=answer.describe(),
        )

    def _request(self, adapter: Any, call: _Call) -> _Answer:
        """``call``, tried again on no answer or 5xx; a 5xx or a
        connection error left after the last attempt is raised."""
        waits = self._retry.delays()
        attempt = 0
        while True:
            attempt += 1
            answer = _send(adapter, call, attempt)
            if not answer.retriable:
                return answer
            wait = next(waits, None)
            if wait is None:
                raise exception.NeutronUnavailable(
                    call=str(call),
                    subject=call.subject,
                    attempts=attempt,
                    status=answer.describe(),
                )
            self._sleep(wait)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Answer:
    """An HTTP answer, or the connection error instead of one."""

    attempts: int
    status: int = 0
    body: Any = None
    error: str | None = None
    #: A connection error is worth another try; a refused token is not.
    error_retriable: bool = True

    @property
    def retriable(self) -> bool:
        if self.error is not None:
            return self.error_retriable
        return self.status >= 500

    def describe(self) -> str:
        if self.error is not None:
            return f"no answer: {self.error}"
        return f"HTTP {self.status} {_neutron_message(self.body)}".strip()

    def inner(self, call: _Call, key: str) -> dict[str, Any]:
        body = self.body
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise exception.NeutronError(
                call=str(call),
                subject=call.subject,
                attempts=self.attempts,
                status=f"HTTP {self.status} but the body has no {key!r} "
                "object",
            )
        return dict(body[key])


def _send(adapter: Any, call: _Call, attempt: int) -> _Answer:
    try:
        resp = adapter.request(
            call.path,
            call.method,
            json=call.body,
            raise_exc=False,
            headers={"Accept": "application/json"},
        )
    except ks_exc.ConnectionError as exc:
        return _Answer(attempts=attempt, error=_one_line(exc))
    except ks_exc.ClientException as exc:
        # Not retriable (no endpoint, authentication refused, ...).
        return _Answer(
            attempts=attempt, error=_one_line(exc), error_retriable=False
        )
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    return _Answer(attempts=attempt, status=resp.status_code, body=body)


def _neutron_message(body: object) -> str:
    """Neutron's ``{"NeutronError": {"type", "message"}}``, one line."""
    if isinstance(body, dict):
        error = body.get("NeutronError")
        if isinstance(error, dict):
            kind = error.get("type") or "NeutronError"
            return _one_line(f"{kind}: {error.get('message', '')}")
        return _one_line(body)[:300]
    return _one_line(body or "")[:300]


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _get_port(port_id: str) -> _Call:
    return _Call(
        method="GET",
        path=f"{API}/ports/{quote(port_id, safe='')}",
        subject=f"port {port_id}",
    )


def _is_bound(port: Mapping[str, Any]) -> bool:
    profile = port.get("binding:profile")
    ours = isinstance(profile, Mapping) and bool(PROFILE_KEYS & set(profile))
    return bool(port.get("binding:host_id") or port.get("device_id") or ours)
