"""The embedded Placement leaves the calling thread's request context
alone: oslo.log reads the thread's current context, and a compute
service's boot logs lines after its report to Placement that must carry
the caller's request id, not Placement's.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
from oslo_context import context as oslo_context

from sriovirt.placement.embedded import EmbeddedPlacement


@pytest.fixture
def embedded(tmp_path: pathlib.Path) -> Iterator[EmbeddedPlacement]:
    placement = EmbeddedPlacement(tmp_path / "state")
    try:
        yield placement
    finally:
        placement.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_callers_context_stays_current(
    embedded: EmbeddedPlacement, method: str
) -> None:
    mine = oslo_context.RequestContext()
    adapter = embedded.adapter()
    if method == "GET":
        answer = adapter.get("/resource_providers")
    else:
        answer = adapter.post("/resource_providers", json={"name": "ctx-host"})
    assert answer.status_code in (200, 201)
    assert oslo_context.get_current() is mine


def test_no_context_before_means_none_after(
    embedded: EmbeddedPlacement,
) -> None:
    oslo_context._request_store.__dict__.pop("context", None)
    assert embedded.adapter().get("/resource_providers").status_code == 200
    assert oslo_context.get_current() is None
