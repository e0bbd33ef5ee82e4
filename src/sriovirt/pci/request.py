"""PCI requests: what an instance asks of a host's PCI devices.

A :class:`PciRequest` is one ask (usually one SR-IOV port): ``count``
devices that match any one of its ``spec`` alternatives.  Specs arrive as
Nova writes them, a list of dicts such as
``[{"physical_network": "physnet1", "dev_type": "type-VF"}]``, and are
normalised once, at construction, into :class:`SpecAlternative` values that
also carry the pre-computed sets the pool matching needs.  Matching code
(:mod:`sriovirt.pci.filters`, :mod:`sriovirt.pci.stats`) must therefore
never re-parse a spec per call.

This module must not know about pools or devices on a host.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from sriovirt import exception
from sriovirt.pci.device import DevType, hex_id
from sriovirt.pci.tags import BOOLEAN_TAGS, parse_bool

#: Keys with their own field (not tags).
_FIELDS: Final = ("vendor_id", "product_id", "dev_type", "physical_network")

PF_ITEM: Final = ("dev_type", DevType.PF.value)
REMOTE_MANAGED_ITEM: Final = ("remote_managed", "true")
TRUSTED_ITEM: Final = ("trusted", "true")


class NumaPolicy(enum.StrEnum):
    """How strictly devices must share the instance's NUMA cells."""

    REQUIRED = "required"
    LEGACY = "legacy"
    PREFERRED = "preferred"
    #: Treated as ``required`` for now (see doc/source/pci_tracking.rst).
    SOCKET = "socket"


def _bad(request_id: str, reason: str) -> exception.InvalidPciRequest:
    return exception.InvalidPciRequest(request_id=request_id, reason=reason)


def _bool_tag(key: str, value: object, request_id: str) -> str:
    parsed = parse_bool(value)
    if parsed is not None:
        return "true" if parsed else "false"
    raise _bad(request_id, f"spec {key}={value!r} is not a boolean")


@dataclass(frozen=True, slots=True)
class SpecAlternative:
    """One normalised alternative of a request's ``spec``.

    (Not called ``RequestSpec``: that is the scheduler's whole request.)

    The ``init=False`` fields are derived once in ``__post_init__`` and
    let a pool be tested with two set operations:
    ``required <= pool.items and forbidden.isdisjoint(pool.items)``.
    """

    vendor_id: str | None = None
    product_id: str | None = None
    dev_type: DevType | None = None
    physical_network: str | None = None
    #: Every other key, sorted; boolean tags normalised.
    tags: tuple[tuple[str, str], ...] = ()

    #: Items a pool must have for the "spec" stage (no trusted and
    #: remote_managed: those have stages of their own).
    spec_items: frozenset[tuple[str, str]] = field(
        init=False, repr=False, compare=False
    )
    wants_pf: bool = field(init=False, repr=False, compare=False)
    wants_remote_managed: bool = field(init=False, repr=False, compare=False)
    wants_trusted: bool = field(init=False, repr=False, compare=False)
    required: frozenset[tuple[str, str]] = field(
        init=False, repr=False, compare=False
    )
    forbidden: frozenset[tuple[str, str]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        tags = dict(self.tags)
        items = {
            (name, str(value))
            for name, value in (
                ("vendor_id", self.vendor_id),
                ("product_id", self.product_id),
                ("dev_type", self.dev_type),
                ("physical_network", self.physical_network),
            )
            if value is not None
        }
        items.update(
            (k, v)
            for k, v in self.tags
            if k not in ("trusted", "remote_managed")
        )
        wants_pf = self.dev_type is DevType.PF
        wants_rm = tags.get("remote_managed") == "true"
        wants_trusted = tags.get("trusted") == "true"
        required = set(items)
        forbidden = set()
        if wants_rm:
            required.add(REMOTE_MANAGED_ITEM)
        else:
            forbidden.add(REMOTE_MANAGED_ITEM)
        if wants_trusted:
            required.add(TRUSTED_ITEM)
        if not wants_pf:
            forbidden.add(PF_ITEM)
        setattr_ = object.__setattr__
        setattr_(self, "spec_items", frozenset(items))
        setattr_(self, "wants_pf", wants_pf)
        setattr_(self, "wants_remote_managed", wants_rm)
        setattr_(self, "wants_trusted", wants_trusted)
        setattr_(self, "required", frozenset(required))
        setattr_(self, "forbidden", frozenset(forbidden))

    @classmethod
    def parse(
        cls, entry: Mapping[str, object], *, request_id: str = "<new>"
    ) -> SpecAlternative:
        """Normalise one spec dict; :class:`InvalidPciRequest` if bad."""
        if not isinstance(entry, Mapping):
            raise _bad(
                request_id, f"spec entry {entry!r} is not a JSON object"
            )
        return cls(
            vendor_id=_spec_id(entry, "vendor_id", request_id),
            product_id=_spec_id(entry, "product_id", request_id),
            dev_type=_spec_dev_type(entry, request_id),
            physical_network=_spec_physnet(entry, request_id),
            tags=_spec_tags(entry, request_id),
        )

    def to_dict(self) -> dict[str, str]:
        """The spec as Nova writes it (inverse of :meth:`parse`)."""
        out = dict(self.tags)
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.to_dict().items()))


def _spec_id(
    entry: Mapping[str, object], name: str, request_id: str
) -> str | None:
    value = entry.get(name)
    if value is None or value == "*":
        return None
    normal = hex_id(value)
    if normal is None:
        raise _bad(
            request_id, f"spec {name}={value!r} is not a 4-digit hex id"
        )
    return normal


def _spec_dev_type(
    entry: Mapping[str, object], request_id: str
) -> DevType | None:
    raw_type = entry.get("dev_type")
    if raw_type is None:
        return None
    if not isinstance(raw_type, str):
        raw_type = repr(raw_type)
    try:
        return DevType(raw_type)
    except ValueError:
        raise _bad(
            request_id,
            f"spec dev_type={raw_type!r} is not one of "
            f"{', '.join(t.value for t in DevType)}",
        ) from None


def _spec_physnet(entry: Mapping[str, object], request_id: str) -> str | None:
    physnet = entry.get("physical_network")
    if physnet is None:
        return None
    if not isinstance(physnet, str) or not physnet:
        raise _bad(
            request_id,
            f"spec physical_network={physnet!r} is not a non-empty string",
        )
    return physnet


def _spec_tags(
    entry: Mapping[str, object], request_id: str
) -> tuple[tuple[str, str], ...]:
    """Every key without a field of its own, sorted; booleans normalised."""
    tags: list[tuple[str, str]] = []
    for key, value in entry.items():
        if key in _FIELDS:
            continue
        if not isinstance(key, str) or not key:
            raise _bad(request_id, f"spec key {key!r} is not a name")
        # The whitelist's boolean tags: a request normalises exactly
        # those, or its "yes" would never meet a pool's "true".
        if key in BOOLEAN_TAGS:
            tags.append((key, _bool_tag(key, value, request_id)))
        elif isinstance(value, str):
            tags.append((key, value))
        else:
            raise _bad(request_id, f"spec {key}={value!r} must be a string")
    return tuple(sorted(tags))


SpecInput = Mapping[str, object] | SpecAlternative


@dataclass(frozen=True, slots=True, init=False)
class PciRequest:
    """``count`` devices matching any one of ``spec``.

    Keyword-only: ``PciRequest(count=1, spec=[{...}], request_id=None,
    requester_id=None, numa_policy=None)``.  ``spec`` accepts dicts (or
    :class:`SpecAlternative` values) and is stored as a tuple of
    :class:`SpecAlternative`.  ``request_id`` defaults to a fresh uuid4.
    """

    count: int
    spec: tuple[SpecAlternative, ...]
    request_id: str
    #: The port id for SR-IOV ports.
    requester_id: str | None
    numa_policy: NumaPolicy | None

    def __init__(
        self,
        *,
        count: int = 1,
        spec: Iterable[SpecInput],
        request_id: str | None = None,
        requester_id: str | None = None,
        numa_policy: str | None = None,
    ) -> None:
        request_id = _request_id(request_id)
        if type(count) is not int or count < 1:
            raise _bad(
                request_id, f"count {count!r} is not a positive integer"
            )
        specs = _alternatives(spec, request_id)
        policy = _numa_policy(numa_policy, request_id)
        if requester_id is not None and not isinstance(requester_id, str):
            raise _bad(
                request_id, f"requester_id {requester_id!r} is not a string"
            )
        setattr_ = object.__setattr__
        setattr_(self, "count", count)
        setattr_(self, "spec", specs)
        setattr_(self, "request_id", request_id)
        setattr_(self, "requester_id", requester_id)
        setattr_(self, "numa_policy", policy)

    def spec_dicts(self) -> list[dict[str, str]]:
        return [s.to_dict() for s in self.spec]

    def describe(self) -> str:
        """Short human text: ``2 x (physical_network=physnet1) or (...)``."""
        alternatives = " or ".join(f"({s})" for s in self.spec)
        return f"{self.count} x {alternatives}"


def _request_id(request_id: object) -> str:
    """``request_id`` checked to be a uuid string, or a fresh uuid4."""
    if request_id is None:
        return str(uuid.uuid4())
    if not isinstance(request_id, str):
        raise _bad(repr(request_id), "request_id must be a uuid string")
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise _bad(repr(request_id), "request_id is not a uuid") from None
    return request_id


def _alternatives(
    spec: Iterable[SpecInput], request_id: str
) -> tuple[SpecAlternative, ...]:
    if isinstance(spec, Mapping | str) or not isinstance(spec, Iterable):
        raise _bad(
            request_id,
            f"spec {spec!r} must be a list of JSON objects",
        )
    specs = tuple(
        s
        if isinstance(s, SpecAlternative)
        else SpecAlternative.parse(s, request_id=request_id)
        for s in spec
    )
    if not specs:
        raise _bad(request_id, "spec needs at least one entry")
    return specs


def _numa_policy(
    numa_policy: str | None, request_id: str
) -> NumaPolicy | None:
    if numa_policy is None:
        return None
    try:
        return NumaPolicy(numa_policy)
    except ValueError:
        raise _bad(
            request_id,
            f"numa_policy {numa_policy!r} is not one of "
            f"{', '.join(p.value for p in NumaPolicy)}",
        ) from None
