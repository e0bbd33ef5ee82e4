"""What must change in Placement: the wanted tree against the known one.

Pure values: :class:`KnownProvider` (a provider as Placement last
confirmed it), :func:`diff_provider` (which writes one provider needs),
:func:`adopt_by_name` (wanted providers taking the uuid of a known
provider of their name) and :func:`unwanted` (known providers to delete,
children first).  The report client
(:mod:`sriovirt.placement.report`) sends exactly what these say; this
module must not send anything.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from sriovirt.placement.tree import Inventory, Provider, ProviderTree


@dataclass(frozen=True, slots=True)
class KnownProvider:
    """A provider as Placement last confirmed it."""

    uuid: str
    name: str
    parent: str | None
    generation: int
    inventories: Mapping[str, Inventory] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProviderDiff:
    """The writes one provider needs (none: ``empty``)."""

    create: bool = False
    rename: bool = False
    inventories: bool = False
    traits: bool = False

    @property
    def empty(self) -> bool:
        return not (self.create or self.rename or self.inventories) and (
            not self.traits
        )


def diff_provider(
    known: KnownProvider | None, wanted: Provider
) -> ProviderDiff:
    """What ``wanted`` needs written over ``known`` (None: not there)."""
    if known is None:
        return ProviderDiff(
            create=True,
            inventories=bool(wanted.inventories),
            traits=bool(wanted.traits),
        )
    return ProviderDiff(
        rename=known.name != wanted.name,
        inventories=dict(known.inventories) != dict(wanted.inventories),
        traits=known.traits != wanted.traits,
    )


def adopt_by_name(
    known: Mapping[str, KnownProvider], tree: ProviderTree
) -> list[Provider]:
    """The wanted providers; one whose uuid is unknown but whose name is
    known takes that provider's uuid (its children follow)."""
    by_name = {p.name: p.uuid for p in known.values()}
    renamed: dict[str, str] = {}
    wanted: list[Provider] = []
    for provider in tree.providers:
        uuid = provider.uuid
        if uuid not in known and provider.name in by_name:
            uuid = by_name[provider.name]
        renamed[provider.uuid] = uuid
        parent = (
            None
            if provider.parent is None
            else renamed.get(provider.parent, provider.parent)
        )
        wanted.append(replace(provider, uuid=uuid, parent=parent))
    return wanted


def unwanted(
    known: Mapping[str, KnownProvider],
    wanted: Collection[str],
    skip: Collection[str] = (),
) -> list[KnownProvider]:
    """Known providers not in ``wanted`` (nor ``skip``), deepest first."""
    depth: dict[str, int] = {}

    def level(uuid: str) -> int:
        if uuid not in depth:
            parent = known[uuid].parent
            depth[uuid] = (
                0
                if parent is None or parent not in known
                else 1 + level(parent)
            )
        return depth[uuid]

    gone = [
        p
        for p in known.values()
        if p.uuid not in wanted and p.uuid not in skip
    ]
    return sorted(gone, key=lambda p: (-level(p.uuid), p.name))
