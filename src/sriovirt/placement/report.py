"""The report client: keeps one compute node's provider tree in Placement.

:meth:`ReportClient.sync` makes Placement hold a
:class:`~sriovirt.placement.tree.ProviderTree`, sending only differences:
the client remembers the tree as Placement last confirmed it (each
provider's generation, inventories and traits), so a sync with nothing
changed sends no request at all.

* First sync (or the first after an error): the tree is read back from
  Placement (``in_tree`` of the root's uuid) and *adopted*: providers
  made by an earlier process are updated, never made twice.  A child
  is matched by uuid, else by name.
* A generation conflict (409 ``placement.concurrent_update``: another
  writer changed the provider) re-reads that provider and applies the
  difference again, up to :data:`CONFLICT_ATTEMPTS` times.
* No answer from Placement, or a 5xx, raises
  :class:`~sriovirt.exception.PlacementUnavailable` naming the endpoint
  and the request; the remembered tree is dropped, so the next sync
  reads Placement again and catches up.
* Children no longer wanted are deleted; one Placement refuses to delete
  (it has allocations) is kept and reported, and asked again only after
  the tree is next read back (a new client, or after an error).

It also reads a tree for display (:meth:`ReportClient.show`).  This
module speaks Placement's API through a keystoneauth1 Adapter it is
given; it must not compute the tree nor read configuration.  It is over
the usual size because reading a tree back, adopting it and sending the
differences all work on the one remembered state and its generations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from sriovirt import exception
from sriovirt.placement import diff, http
from sriovirt.placement.diff import KnownProvider
from sriovirt.placement.tree import Inventory, Provider, ProviderTree

__all__ = ["KnownProvider", "ReportClient", "ShownProvider", "SyncReport"]

LOG = logging.getLogger(__name__)

#: How often one provider's write is tried against a changed generation.
CONFLICT_ATTEMPTS = 4
_CONCURRENT_UPDATE = "placement.concurrent_update"


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one :meth:`ReportClient.sync` did."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    #: Providers no longer wanted that Placement would not delete.
    kept: tuple[str, ...] = ()
    #: Providers adopted from Placement (read back at a first sync).
    adopted: tuple[str, ...] = ()
    requests: int = 0
    conflicts: int = 0
    ms: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


@dataclass(frozen=True, slots=True)
class ShownProvider:
    """A provider with its usages, for ``sriovirt placement show``."""

    provider: KnownProvider
    usages: Mapping[str, int]


@dataclass
class _Sync:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    conflicts: int = 0


class ReportClient(http.PlacementClient):
    """Reports one compute node's tree to the Placement of ``adapter``.

    ``endpoint`` names that Placement in errors (its URL, or the
    embedded database).  Not thread-safe: one caller syncs at a time.
    """

    NO_ANSWER_NOTE = (
        "; nothing was recorded as reported, the next sync reads "
        "Placement again"
    )
    ERROR_NOTE = "; the next sync reads Placement again"

    def __init__(self, adapter: Any, endpoint: str) -> None:
        super().__init__(adapter, endpoint)
        #: The tree as Placement last confirmed it; None: read it first.
        self._known: dict[str, KnownProvider] | None = None
        #: Custom traits and resource classes known to exist.
        self._traits: set[str] = set()
        self._classes: set[str] = set()
        #: Unwanted providers Placement would not delete (allocations):
        #: not asked again until the tree is read again.
        self._undeletable: set[str] = set()

    # --- HTTP ------------------------------------------------------------

    def _get(self, url: str) -> Any:
        response = self._call("GET", url)
        if response.status_code != 200:
            self._refused("GET", url, response)
        return response.json()

    # --- reading ---------------------------------------------------------

    def _read_provider(self, body: Mapping[str, Any]) -> KnownProvider:
        uuid = str(body["uuid"])
        inventories = self._get(f"/resource_providers/{uuid}/inventories")
        traits = self._get(f"/resource_providers/{uuid}/traits")
        return KnownProvider(
            uuid=uuid,
            name=str(body["name"]),
            parent=body.get("parent_provider_uuid"),
            # The earlier generation of the two reads: if the provider
            # changed in between, the first write conflicts and reads
            # it again instead of trusting a mixed view.
            generation=min(
                inventories["resource_provider_generation"],
                traits["resource_provider_generation"],
            ),
            inventories={
                rc: Inventory.from_json(inv)
                for rc, inv in inventories["inventories"].items()
            },
            traits=frozenset(traits["traits"]),
        )

    def _read_tree(self, root_uuid: str) -> dict[str, KnownProvider]:
        body = self._get(f"/resource_providers?in_tree={root_uuid}")
        return {
            p.uuid: p
            for p in (
                self._read_provider(rp) for rp in body["resource_providers"]
            )
        }

    def _reread(self, uuid: str) -> KnownProvider | None:
        url = f"/resource_providers/{uuid}"
        response = self._call("GET", url)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self._refused("GET", url, response)
        return self._read_provider(response.json())

    def _check_root_name(self, root: Provider) -> None:
        """A provider of the root's name but another uuid is an error:
        the compute node was made again while Placement kept the old."""
        body = self._get(f"/resource_providers?name={quote(root.name)}")
        for other in body["resource_providers"]:
            if other["uuid"] != root.uuid:
                raise exception.PlacementError(
                    endpoint=self.endpoint,
                    reason=f"resource provider {root.name!r} exists with "
                    f"uuid {other['uuid']}, not compute node uuid "
                    f"{root.uuid}: delete the old provider (and its "
                    "allocations) or restore the compute node record",
                )

    def show(self, name: str) -> list[ShownProvider]:
        """The tree whose root is named ``name``, with usages (no writes);
        empty when Placement has no such provider."""
        body = self._get(f"/resource_providers?name={quote(name)}")
        if not body["resource_providers"]:
            return []
        root = body["resource_providers"][0]["root_provider_uuid"]
        tree = self._read_tree(root)
        shown = []
        for provider in _ordered(tree, root):
            usages = self._get(f"/resource_providers/{provider.uuid}/usages")
            shown.append(ShownProvider(provider, usages["usages"]))
        return shown

    # --- writing ---------------------------------------------------------

    def sync(self, tree: ProviderTree) -> SyncReport:
        """Make Placement hold ``tree``; only differences are sent."""
        started = time.perf_counter()
        before = self.requests
        work = _Sync()
        try:
            if self._known is None:
                known = self._read_tree(tree.root.uuid)
                if tree.root.uuid not in known:
                    self._check_root_name(tree.root)
                self._known = known
                self._undeletable.clear()
                work.adopted = [p.name for p in known.values()]
            wanted = diff.adopt_by_name(self._known, tree)
            for provider in wanted:
                self._sync_provider(provider, work)
            self._delete_unwanted({p.uuid for p in wanted}, work)
        except BaseException:
            # Some writes may have landed, and a trait or class known to
            # exist may be gone: read everything again next time.
            self._known = None
            self._traits.clear()
            self._classes.clear()
            raise
        report = SyncReport(
            created=tuple(work.created),
            updated=tuple(work.updated),
            deleted=tuple(work.deleted),
            kept=tuple(work.kept),
            adopted=tuple(work.adopted),
            requests=self.requests - before,
            conflicts=work.conflicts,
            ms=(time.perf_counter() - started) * 1000.0,
        )
        if report.changed:
            LOG.info(
                "Placement %s: created %s, updated %s, deleted %s "
                "(%d requests)",
                self.endpoint,
                report.created,
                report.updated,
                report.deleted,
                report.requests,
            )
        return report

    def _sync_provider(self, wanted: Provider, work: _Sync) -> None:
        assert self._known is not None
        known = self._known.get(wanted.uuid)
        if known is None:
            known, made = self._create(wanted)
            if made:
                work.created.append(wanted.name)
        renamed = diff.diff_provider(known, wanted).rename
        if renamed:
            known = self._rename(known, wanted)
        self._ensure_traits(wanted.traits)
        self._ensure_classes(wanted.inventories)
        changed = False
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                needed = diff.diff_provider(known, wanted)
                if needed.inventories:
                    known = self._put_inventories(known, wanted)
                    changed = True
                if needed.traits:
                    known = self._put_traits(known, wanted)
                    changed = True
                break
            except _Conflict:
                work.conflicts += 1
                fresh = self._reread(wanted.uuid)
                if fresh is None or attempt == CONFLICT_ATTEMPTS:
                    raise exception.PlacementError(
                        endpoint=self.endpoint,
                        reason=f"resource provider {wanted.name} "
                        f"({wanted.uuid}) "
                        + (
                            "was deleted while it was updated"
                            if fresh is None
                            else f"kept changing: {attempt} generation "
                            "conflicts"
                        ),
                    ) from None
                known = fresh
                self._known[wanted.uuid] = known
        if (changed or renamed) and wanted.name not in work.created:
            work.updated.append(wanted.name)

    def _create(self, wanted: Provider) -> tuple[KnownProvider, bool]:
        """The provider made, and True; or, when another writer made it
        first (409), the one it made, adopted, and False."""
        body: dict[str, Any] = {"name": wanted.name, "uuid": wanted.uuid}
        if wanted.parent is not None:
            body["parent_provider_uuid"] = wanted.parent
        response = self._call("POST", "/resource_providers", body)
        if response.status_code == 409:
            fresh = self._reread(wanted.uuid)
            if fresh is not None:
                return self._confirm(fresh), False
        if response.status_code != 200:
            self._refused(
                "POST", f"/resource_providers ({wanted.name})", response
            )
        made = response.json()
        known = KnownProvider(
            uuid=wanted.uuid,
            name=wanted.name,
            parent=wanted.parent,
            generation=made["generation"],
        )
        return self._confirm(known), True

    def _rename(self, known: KnownProvider, wanted: Provider) -> KnownProvider:
        url = f"/resource_providers/{known.uuid}"
        body: dict[str, Any] = {"name": wanted.name}
        if known.parent is not None:
            body["parent_provider_uuid"] = known.parent
        response = self._call("PUT", url, body)
        if response.status_code != 200:
            self._refused("PUT", f"{url} (name {wanted.name!r})", response)
        return self._confirm(
            replace(
                known,
                name=wanted.name,
                generation=response.json()["generation"],
            )
        )

    def _ensure_traits(self, traits: frozenset[str]) -> None:
        for name in sorted(traits - self._traits):
            if name.startswith("CUSTOM_"):
                url = f"/traits/{name}"
                response = self._call("PUT", url)
                if response.status_code not in (201, 204):
                    self._refused("PUT", url, response)
            self._traits.add(name)

    def _ensure_classes(self, inventories: Mapping[str, Inventory]) -> None:
        for name in sorted(set(inventories) - self._classes):
            if name.startswith("CUSTOM_"):
                url = f"/resource_classes/{name}"
                response = self._call("PUT", url)
                if response.status_code not in (201, 204):
                    self._refused("PUT", url, response)
            self._classes.add(name)

    def _put(
        self, known: KnownProvider, what: str, body: dict[str, Any]
    ) -> Any:
        url = f"/resource_providers/{known.uuid}/{what}"
        body["resource_provider_generation"] = known.generation
        response = self._call("PUT", url, body)
        if response.status_code == 409 and _code(response) == (
            _CONCURRENT_UPDATE
        ):
            LOG.info(
                "Placement %s: provider %s changed meanwhile; reading it "
                "again",
                self.endpoint,
                known.name,
            )
            raise _Conflict()
        if response.status_code != 200:
            self._refused("PUT", url, response)
        return response.json()

    def _put_inventories(
        self, known: KnownProvider, wanted: Provider
    ) -> KnownProvider:
        body = self._put(
            known,
            "inventories",
            {
                "inventories": {
                    rc: inv.to_json() for rc, inv in wanted.inventories.items()
                }
            },
        )
        return self._confirm(
            replace(
                known,
                generation=body["resource_provider_generation"],
                inventories=dict(wanted.inventories),
            )
        )

    def _put_traits(
        self, known: KnownProvider, wanted: Provider
    ) -> KnownProvider:
        body = self._put(known, "traits", {"traits": sorted(wanted.traits)})
        return self._confirm(
            replace(
                known,
                generation=body["resource_provider_generation"],
                traits=wanted.traits,
            )
        )

    def _confirm(self, known: KnownProvider) -> KnownProvider:
        assert self._known is not None
        self._known[known.uuid] = known
        return known

    def _delete_unwanted(self, wanted: set[str], work: _Sync) -> None:
        assert self._known is not None
        for provider in diff.unwanted(self._known, wanted, self._undeletable):
            url = f"/resource_providers/{provider.uuid}"
            response = self._call("DELETE", url)
            if response.status_code in (204, 404):
                del self._known[provider.uuid]
                work.deleted.append(provider.name)
            elif response.status_code == 409:
                LOG.warning(
                    "Placement %s: provider %s is no longer on the host but "
                    "was kept: %s",
                    self.endpoint,
                    provider.name,
                    http.detail(response),
                )
                work.kept.append(provider.name)
                self._undeletable.add(provider.uuid)
            else:
                self._refused("DELETE", url, response)


class _Conflict(Exception):
    """A write met another generation (internal: retried)."""


def _code(response: Any) -> str | None:
    for error in http.errors(response):
        code = error.get("code")
        if code:
            return str(code)
    return None


def _ordered(
    tree: Mapping[str, KnownProvider], root: str
) -> list[KnownProvider]:
    """Root first, then children by name."""
    first = [tree[root]] if root in tree else []
    rest = sorted(
        (p for p in tree.values() if p.uuid != root), key=lambda p: p.name
    )
    return first + rest
