"""One request to Placement and what its failures become.

:class:`PlacementClient` is the part every sriovirt Placement client
shares (the report client, the scheduler's allocation client): a
keystoneauth1 Adapter and the name errors give that Placement, a count
of requests sent, and :meth:`~PlacementClient._call`, which turns no
answer and a 5xx into :class:`~sriovirt.exception.PlacementUnavailable`
and leaves every other status to the caller
(:meth:`~PlacementClient._refused` raises
:class:`~sriovirt.exception.PlacementError` for it).  A subclass says
what follows each error (``NO_ANSWER_NOTE``, ``ERROR_NOTE``) and how a
URL is shown (:meth:`~PlacementClient._shown`).

This module must not know any Placement resource: its subclasses do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from keystoneauth1 import exceptions as ks_exc

from sriovirt import exception

#: keystoneauth's errors for a request that got no answer.
NO_ANSWER = (
    ks_exc.ConnectionError,
    ks_exc.EndpointNotFound,
    ks_exc.DiscoveryFailure,
    ks_exc.RequestTimeout,
    ks_exc.SSLError,
)


class PlacementClient:
    """Requests to the Placement of ``adapter`` (named ``endpoint``)."""

    #: Appended to the reason of a request that got no answer.
    NO_ANSWER_NOTE = ""
    #: Appended to the reason of a 5xx.
    ERROR_NOTE = ""

    def __init__(self, adapter: Any, endpoint: str) -> None:
        self.adapter = adapter
        self.endpoint = endpoint
        #: Requests sent since this client was made.
        self.requests = 0

    def _shown(self, url: str) -> str:
        """``url`` as errors show it."""
        return url

    def _call(self, method: str, url: str, body: object = None) -> Any:
        """The response of ``method url`` (with JSON ``body``), whatever
        its status below 500."""
        self.requests += 1
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["json"] = body
        try:
            response = self.adapter.request(
                url, method, raise_exc=False, **kwargs
            )
        except NO_ANSWER as exc:
            raise exception.PlacementUnavailable(
                endpoint=self.endpoint,
                reason=f"{method} {self._shown(url)}: no answer "
                f"({why(exc)}){self.NO_ANSWER_NOTE}",
            ) from None
        if response.status_code >= 500:
            raise exception.PlacementUnavailable(
                endpoint=self.endpoint,
                reason=f"{method} {self._shown(url)}: HTTP "
                f"{response.status_code} {detail(response)}"
                f"{self.ERROR_NOTE}",
            )
        return response

    def _refused(self, method: str, url: str, response: Any) -> NoReturn:
        """Raise the :class:`~sriovirt.exception.PlacementError` of a
        status the caller did not expect."""
        raise exception.PlacementError(
            endpoint=self.endpoint,
            reason=f"{method} {self._shown(url)}: HTTP "
            f"{response.status_code} {detail(response)}",
        )


def why(exc: Exception) -> str:
    """The root of a keystoneauth connection error, in a few words
    ("ConnectFailure: Connection refused"), not urllib3's whole story."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno is not None:
        text = errno.group(1).strip()
    elif len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}"


def errors(response: Any) -> Sequence[Mapping[str, Any]]:
    """The ``errors`` list of a Placement error body (empty if none)."""
    try:
        found = response.json().get("errors", [])
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def detail(response: Any) -> str:
    """The details of a Placement error body on one line (else the
    start of its text)."""
    details = [str(e.get("detail", "")).strip() for e in errors(response)]
    text = "; ".join(d for d in details if d) or response.text[:200]
    return " ".join(text.split())
