"""The scheduler's Placement client: candidates, claims and frees.

:class:`AllocationClient` asks ``GET /allocation_candidates``, writes a
boot's allocation (``PUT /allocations/{consumer}``: ``consumer_type``
INSTANCE, ``consumer_generation`` null, so a consumer that already has
allocations is refused, never allocated twice) and deletes it, and
reads a provider's usages.  A 409 on a claim is an answer (the
resources went to another consumer first, or the consumer exists):
:meth:`AllocationClient.claim` returns it as a reason.  No answer or a
5xx raises :class:`~sriovirt.exception.PlacementUnavailable`; any other
refusal :class:`~sriovirt.exception.PlacementError`.

This module speaks Placement's API through a keystoneauth1 Adapter it
is given; it must not choose hosts nor read configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sriovirt.placement import http

#: Placement's consumer type of a server (microversion 1.38).
CONSUMER_TYPE = "INSTANCE"


class AllocationClient(http.PlacementClient):
    """Allocations in the Placement of ``adapter`` (named ``endpoint``)."""

    def _shown(self, url: str) -> str:
        # Errors name the resource, not the whole query.
        return url.split("?", maxsplit=1)[0]

    def allocation_candidates(self, query: Any) -> Mapping[str, object]:
        """``GET /allocation_candidates`` of ``query`` (its
        ``query_string()``), the JSON body."""
        url = f"/allocation_candidates?{query.query_string()}"
        response = self._call("GET", url)
        if response.status_code != 200:
            self._refused("GET", url, response)
        body: Mapping[str, object] = response.json()
        return body

    def claim(
        self,
        consumer: str,
        allocations: Mapping[str, Mapping[str, int]],
        *,
        project_id: str,
        user_id: str,
    ) -> str | None:
        """Write ``consumer``'s allocations (provider -> class -> amount);
        None when done, else why Placement refused (409: taken first)."""
        url = f"/allocations/{consumer}"
        body = {
            "allocations": {
                rp: {"resources": dict(resources)}
                for rp, resources in allocations.items()
            },
            "consumer_generation": None,
            "consumer_type": CONSUMER_TYPE,
            "project_id": project_id,
            "user_id": user_id,
        }
        response = self._call("PUT", url, body)
        if response.status_code == 204:
            return None
        if response.status_code == 409:
            return f"HTTP 409 {http.detail(response)}"
        self._refused("PUT", url, response)

    def delete(self, consumer: str) -> bool:
        """Delete ``consumer``'s allocations; False when it had none."""
        url = f"/allocations/{consumer}"
        response = self._call("DELETE", url)
        if response.status_code == 204:
            return True
        if response.status_code == 404:
            return False
        self._refused("DELETE", url, response)

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        """``consumer``'s allocations: provider -> class -> amount."""
        url = f"/allocations/{consumer}"
        response = self._call("GET", url)
        if response.status_code != 200:
            self._refused("GET", url, response)
        found = response.json().get("allocations", {})
        return {
            rp: dict(value.get("resources", {})) for rp, value in found.items()
        }

    def usages(self, provider: str) -> dict[str, int]:
        """``GET /resource_providers/{provider}/usages``."""
        url = f"/resource_providers/{provider}/usages"
        response = self._call("GET", url)
        if response.status_code != 200:
            self._refused("GET", url, response)
        return dict(response.json().get("usages", {}))
