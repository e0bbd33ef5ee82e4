"""WsgiTransport: a keystoneauth Adapter reaching a WSGI app, no socket."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import requests
from keystoneauth1 import adapter, session

from sriovirt.placement.wsgi_transport import WsgiTransport

SEEN: list[dict[str, Any]] = []


def _echo(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0))
    SEEN.append(dict(environ))
    answer = json.dumps(
        {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": environ["QUERY_STRING"],
            "body": body.decode(),
            "token": environ.get("HTTP_X_AUTH_TOKEN"),
            "version": environ.get("HTTP_OPENSTACK_API_VERSION"),
            "type": environ.get("CONTENT_TYPE"),
        }
    ).encode()
    start_response(
        "409 Conflict",
        [("Content-Type", "application/json"), ("X-Extra", "yes")],
    )
    return [answer[:5], answer[5:]]


def _adapter() -> Any:
    http = requests.Session()
    http.mount("http://app.test/", WsgiTransport(_echo))
    sess = session.Session(
        auth=None, session=http, additional_headers={"x-auth-token": "t"}
    )
    return adapter.Adapter(
        sess,
        service_type="placement",
        endpoint_override="http://app.test",
        default_microversion="1.39",
        raise_exc=False,
    )


def test_request_reaches_the_app_and_its_answer_comes_back() -> None:
    response = _adapter().put(
        "/resource_providers/a%20b/traits?x=1&y=2", json={"traits": ["T"]}
    )
    assert response.status_code == 409
    assert response.reason == "Conflict"
    assert response.headers["x-extra"] == "yes"
    seen = response.json()
    assert seen == {
        "method": "PUT",
        "path": "/resource_providers/a b/traits",
        "query": "x=1&y=2",
        "body": '{"traits": ["T"]}',
        "token": "t",
        "version": "placement 1.39",
        "type": "application/json",
    }
    assert SEEN[-1]["SERVER_NAME"] == "app.test"
    assert SEEN[-1]["wsgi.url_scheme"] == "http"


def test_get_without_body() -> None:
    seen = _adapter().get("/").json()
    assert seen["method"] == "GET" and seen["body"] == ""
