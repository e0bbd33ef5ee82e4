"""The scheduler's whole request: what a boot asks of a host.

:func:`build_request_spec` turns a flavor (vcpus, memory, disk, extra
specs), the image properties and the ports (as
:class:`~sriovirt.network.values.PortRequest` values, already read from
the network service) into one :class:`RequestSpec`:

* ``trait:NAME=required|forbidden`` extra specs become the required and
  forbidden trait sets (a standard os-traits name or ``CUSTOM_...``);
  image properties ``trait:NAME=required`` are kept apart (the request
  filters merge them, so a conflict is named);
* ``hw:virtio_packed_ring`` / ``hw_virtio_packed_ring`` are parsed by
  :mod:`sriovirt.virt.hardware` (a flavor/image disagreement is an error
  here, before any host is tried);
* ``pci_passthrough:alias=NAME:COUNT[,NAME:COUNT...]`` is resolved with
  the parsed ``[pci] alias`` values into PCI requests;
* each port that needs a VF or PF is one :class:`PortGroup`: its PCI
  request (built as the compute side builds it) and the Placement
  request group suffix that will carry it.

Every bad value is an error naming the key, the value and what is
wanted.  This module is pure: it must not call Placement, the network
service or the database, nor read configuration (aliases come in as
values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import os_traits

from sriovirt import exception
from sriovirt.network.values import PortRequest, VnicType
from sriovirt.pci.alias import PciAlias
from sriovirt.pci.device import DevType
from sriovirt.pci.request import PciRequest
from sriovirt.virt import hardware

#: Flavor extra spec prefix of trait requests.
TRAIT_PREFIX: Final = "trait:"
#: Flavor extra spec naming PCI aliases.
ALIAS_KEY: Final = "pci_passthrough:alias"
REQUIRED: Final = "required"
FORBIDDEN: Final = "forbidden"

# Placement's trait name rule (its JSON schema): upper case, digits and
# underscores, at most 255 characters.
_TRAIT_NAME = re.compile(r"[A-Z0-9_]{1,255}")
_STANDARD_TRAITS: Final = frozenset(os_traits.get_traits())


@dataclass(frozen=True, slots=True, kw_only=True)
class PortGroup:
    """One SR-IOV port: its Placement request group and PCI request."""

    #: Placement's group suffix, ``_PORT1`` for the first SR-IOV port.
    suffix: str
    port_id: str
    vnic_type: VnicType
    physical_network: str
    dev_type: DevType
    pci_request: PciRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSpec:
    """What one boot asks for; built by :func:`build_request_spec`.

    ``required_traits`` / ``forbidden_traits`` are the flavor's at
    first; the request filters add to ``required_traits`` (image traits,
    the packed ring) and return a new spec.
    """

    vcpus: int
    memory_mb: int
    disk_gb: int = 0
    required_traits: frozenset[str] = frozenset()
    forbidden_traits: frozenset[str] = frozenset()
    #: Traits the image's ``trait:NAME=required`` properties ask for.
    image_traits: frozenset[str] = frozenset()
    #: The packed ring request: True, False (explicit) or None (unset).
    packed: bool | None = None
    #: Where ``packed`` came from, for error messages.
    packed_source: str = ""
    port_groups: tuple[PortGroup, ...] = ()
    #: PCI requests of ``pci_passthrough:alias`` (no Placement group:
    #: the PCI passthrough host filter alone checks them).
    alias_requests: tuple[PciRequest, ...] = ()
    #: Who asked for each trait, for conflict messages.
    trait_sources: tuple[tuple[str, str], ...] = field(default=())

    @property
    def pci_requests(self) -> tuple[PciRequest, ...]:
        """Every PCI request: the ports' (in order), then the aliases'."""
        return (
            *(g.pci_request for g in self.port_groups),
            *self.alias_requests,
        )

    def source_of(self, trait: str) -> str:
        """Who asked for ``trait`` (``trait:X=required`` of the flavor)."""
        return dict(self.trait_sources).get(trait, "the request")

    def with_required(self, trait: str, source: str) -> RequestSpec:
        """This spec with ``trait`` required too, ``source`` noted."""
        sources = dict(self.trait_sources)
        sources.setdefault(trait, source)
        return replace(
            self,
            required_traits=self.required_traits | {trait},
            trait_sources=tuple(sorted(sources.items())),
        )


def build_request_spec(
    *,
    vcpus: int,
    memory_mb: int,
    disk_gb: int = 0,
    extra_specs: Mapping[str, str] | None = None,
    image_properties: Mapping[str, str] | None = None,
    ports: Sequence[PortRequest] = (),
    aliases: Mapping[str, PciAlias] | None = None,
) -> RequestSpec:
    """The :class:`RequestSpec` of one boot; errors name key and value.

    Raises :class:`~sriovirt.exception.InvalidFlavorExtraSpec`,
    :class:`~sriovirt.exception.InvalidImageProperty`,
    :class:`~sriovirt.exception.FlavorImageConflict` or
    :class:`~sriovirt.exception.InvalidRequestSpec`.
    """
    extra = dict(extra_specs or {})
    image = dict(image_properties or {})
    for name, value in (
        ("vcpus", vcpus),
        ("memory_mb", memory_mb),
        ("disk_gb", disk_gb),
    ):
        if type(value) is not int or value < 0:
            raise exception.InvalidRequestSpec(
                source=f"flavor {name}",
                reason=f"{value!r} is not a non-negative integer",
            )
    required, forbidden, sources = _flavor_traits(extra)
    packed = hardware.packed_virtqueue_request(extra, image)
    if hardware.FLAVOR_KEY in extra:
        packed_source = (
            f"flavor extra spec {hardware.FLAVOR_KEY}="
            f"{extra[hardware.FLAVOR_KEY]}"
        )
    elif hardware.IMAGE_KEY in image:
        packed_source = (
            f"image property {hardware.IMAGE_KEY}={image[hardware.IMAGE_KEY]}"
        )
    else:
        packed_source = ""
    return RequestSpec(
        vcpus=vcpus,
        memory_mb=memory_mb,
        disk_gb=disk_gb,
        required_traits=required,
        forbidden_traits=forbidden,
        image_traits=_image_traits(image),
        packed=packed,
        packed_source=packed_source,
        port_groups=port_groups(ports),
        alias_requests=alias_requests(extra, aliases or {}),
        trait_sources=tuple(sorted(sources.items())),
    )


def check_trait_name(name: str) -> str | None:
    """Why ``name`` is not a trait Placement knows, or None."""
    if not _TRAIT_NAME.fullmatch(name):
        return (
            f"{name!r} is not a trait name (A-Z, 0-9 and _, at most 255 "
            "characters)"
        )
    if name == "CUSTOM_":
        return "'CUSTOM_' needs a name after the prefix"
    if not name.startswith("CUSTOM_") and name not in _STANDARD_TRAITS:
        return (
            f"{name!r} is neither a standard trait (os-traits) nor a "
            "custom one (CUSTOM_...)"
        )
    return None


def _flavor_traits(
    extra: Mapping[str, object],
) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    required: set[str] = set()
    forbidden: set[str] = set()
    sources: dict[str, str] = {}
    for key, value in sorted(extra.items()):
        if not key.startswith(TRAIT_PREFIX):
            continue
        name = key.removeprefix(TRAIT_PREFIX)
        if problem := check_trait_name(name):
            raise exception.InvalidFlavorExtraSpec(
                name=key, value=value, reason=problem
            )
        if value == REQUIRED:
            required.add(name)
        elif value == FORBIDDEN:
            forbidden.add(name)
        else:
            raise exception.InvalidFlavorExtraSpec(
                name=key,
                value=value,
                reason=f"expected {REQUIRED!r} or {FORBIDDEN!r}",
            )
        sources[name] = f"flavor extra spec {key}={value}"
    return frozenset(required), frozenset(forbidden), sources


def _image_traits(image: Mapping[str, object]) -> frozenset[str]:
    traits: set[str] = set()
    for key, value in sorted(image.items()):
        if not key.startswith(TRAIT_PREFIX):
            continue
        name = key.removeprefix(TRAIT_PREFIX)
        if problem := check_trait_name(name):
            raise exception.InvalidImageProperty(
                name=key, value=value, reason=problem
            )
        # Images may only require a trait (as in Nova).
        if value != REQUIRED:
            raise exception.InvalidImageProperty(
                name=key,
                value=value,
                reason=f"an image can only ask {REQUIRED!r}",
            )
        traits.add(name)
    return frozenset(traits)


def port_groups(ports: Sequence[PortRequest]) -> tuple[PortGroup, ...]:
    """One group per port that needs a VF or PF, suffixed in port order.

    The PCI request is the one the compute side builds for the port
    (its physical network and device type, the port as requester).
    """
    groups: list[PortGroup] = []
    for port in ports:
        if port.dev_type is None:
            continue
        if not port.physical_network:
            raise exception.InvalidRequestSpec(
                source=f"port {port.port_id}",
                reason=f"vnic_type {port.vnic_type.value} needs a "
                "physical network, and the port's network has none",
            )
        request = PciRequest(
            spec=[
                {
                    "physical_network": port.physical_network,
                    "dev_type": port.dev_type.value,
                }
            ],
            requester_id=port.port_id,
        )
        groups.append(
            PortGroup(
                suffix=f"_PORT{len(groups) + 1}",
                port_id=port.port_id,
                vnic_type=port.vnic_type,
                physical_network=port.physical_network,
                dev_type=port.dev_type,
                pci_request=request,
            )
        )
    return tuple(groups)


def alias_requests(
    extra: Mapping[str, object], aliases: Mapping[str, PciAlias]
) -> tuple[PciRequest, ...]:
    """The PCI requests of ``pci_passthrough:alias``, in written order."""
    value = extra.get(ALIAS_KEY)
    if value is None:
        return ()

    def bad(reason: str) -> exception.InvalidFlavorExtraSpec:
        return exception.InvalidFlavorExtraSpec(
            name=ALIAS_KEY, value=value, reason=reason
        )

    if not isinstance(value, str) or not value.strip():
        raise bad("expected NAME:COUNT[,NAME:COUNT...]")
    requests: list[PciRequest] = []
    seen: set[str] = set()
    for part in value.split(","):
        name, sep, count_text = part.strip().partition(":")
        if not sep:
            raise bad(f"{part.strip()!r} is not NAME:COUNT")
        if not count_text.isdigit() or int(count_text) < 1:
            raise bad(
                f"count {count_text!r} of alias {name!r} is not a "
                "positive integer"
            )
        alias = aliases.get(name)
        if alias is None:
            known = ", ".join(sorted(aliases)) or "none"
            raise bad(
                f"alias {name!r} is not defined in [pci] alias "
                f"(defined: {known})"
            )
        if name in seen:
            raise bad(f"alias {name!r} is named twice")
        seen.add(name)
        requests.append(
            PciRequest(
                count=int(count_text),
                spec=alias.request_specs(),
                numa_policy=(
                    alias.numa_policy.value if alias.numa_policy else None
                ),
            )
        )
    return tuple(requests)
