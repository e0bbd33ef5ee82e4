"""A requests transport that hands each request to a WSGI application.

Mounted on the ``requests.Session`` under a keystoneauth1 session, it
lets the embedded Placement (:mod:`sriovirt.placement.embedded`) be
reached through an ordinary keystoneauth1 Adapter with no socket and no
server: the request becomes a WSGI environ, the application's answer a
``requests.Response``.  Placement's own ``placement.direct`` does the same
through wsgi-intercept, which patches ``http.client`` for the whole
process and mocks keystoneauth's endpoint lookup; this adapter changes
nothing global.

It must not know anything about Placement: any WSGI application works.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ_of(request: requests.PreparedRequest) -> dict[str, Any]:
    """The WSGI environ of ``request`` (PEP 3333)."""
    url = urlsplit(request.url or "")
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        body = b"".join(body)  # type: ignore[arg-type]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(url.path or "/"),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


class WsgiTransport(requests.adapters.BaseAdapter):
    """Answers every request it is mounted for by calling ``app``."""

    def __init__(self, app: WsgiApp) -> None:
        super().__init__()
        self.app = app

    def send(  # noqa: PLR0917 (requests' signature)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        started: list[Any] = []

        def start_response(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: object = None,
        ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda _data: None

        result = self.app(environ_of(request), start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        response = requests.Response()
        code, _, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.raw = io.BytesIO(content)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to close: no connection was opened."""
