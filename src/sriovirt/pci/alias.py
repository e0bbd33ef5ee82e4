"""The ``[pci] alias`` option: named PCI device requests for flavors.

A flavor asks for ``pci_passthrough:alias=NAME:COUNT``; this module turns
the option's values into typed :class:`PciAlias` values keyed by name.
Like Nova, several entries may share a name (any of their vendor/product
pairs satisfies the alias) as long as they agree on ``device_type`` and
``numa_policy``.

Errors are :class:`~sriovirt.exception.InvalidPciAlias` naming the option,
the entry's position and text, the field and the reason, the same way
``device_spec`` errors do; :func:`problems` collects every error and
warning in one pass, for ``config check``.  This module must not read
configuration itself, nor build requests (that is
:mod:`sriovirt.pci.request`'s job).
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sriovirt import exception
from sriovirt.pci.config_entries import (
    EntryOrigin,
    SpecFieldError,
    check_text,
    config_error,
    describe_json,
    duplicate_key_warnings,
    iter_config_entries,
    parse_bool_tag,
    parse_hex_id,
    render_json,
    suggest,
)
from sriovirt.pci.device import DevType
from sriovirt.pci.request import NumaPolicy
from sriovirt.pci.tags import MAX_TAG

# NumaPolicy is re-exported: an alias's policy is the one its requests
# carry, so both modules share one enum.
__all__ = [
    "ALIAS_OPTION",
    "NumaPolicy",
    "PciAlias",
    "PciAliasSpec",
    "parse_aliases",
    "problems",
]

LOG = logging.getLogger(__name__)
_FLAVOR_SEPARATORS = re.compile(r"[:,]")

ALIAS_OPTION = "[pci] alias"

_KEYS = (
    "name",
    "vendor_id",
    "product_id",
    "device_type",
    "numa_policy",
    "resource_class",
    "traits",
    "live_migratable",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PciAliasSpec:
    """One vendor/product choice of an alias; ``None`` means any."""

    vendor_id: str | None = None
    product_id: str | None = None
    resource_class: str | None = None
    traits: str | None = None
    live_migratable: str | None = None

    def request_spec(self, device_type: DevType | None) -> dict[str, str]:
        """This choice as a PCI request spec (Nova's key names)."""
        spec: dict[str, str] = {}
        if self.vendor_id is not None:
            spec["vendor_id"] = self.vendor_id
        if self.product_id is not None:
            spec["product_id"] = self.product_id
        if device_type is not None:
            spec["dev_type"] = device_type.value
        if self.resource_class is not None:
            spec["resource_class"] = self.resource_class
        if self.traits is not None:
            spec["traits"] = self.traits
        if self.live_migratable is not None:
            spec["live_migratable"] = self.live_migratable
        return spec


@dataclass(frozen=True, slots=True, kw_only=True)
class PciAlias:
    """Every entry of one alias name, merged.

    ``numa_policy`` is ``None`` when no entry sets it (the flavor or image
    policy, or ``legacy``, then applies).
    """

    name: str
    device_type: DevType | None = None
    numa_policy: NumaPolicy | None = None
    specs: tuple[PciAliasSpec, ...] = ()

    def request_specs(self) -> list[dict[str, str]]:
        """The alias as a PCI request's ``spec`` list (any one matches)."""
        return [spec.request_spec(self.device_type) for spec in self.specs]


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    device_type: DevType | None
    numa_policy: NumaPolicy | None
    spec: PciAliasSpec


def parse_aliases(
    values: Sequence[str], option: str = ALIAS_OPTION
) -> dict[str, PciAlias]:
    """Parse every value of ``[pci] alias``; raise ``InvalidPciAlias``.

    Warnings (duplicate keys) are logged.
    """
    warnings: list[str] = []
    merged = _parse(values, option, None, warnings)
    for warning in warnings:
        LOG.warning("%s", warning)
    return merged


def problems(
    values: Sequence[str], option: str = ALIAS_OPTION
) -> tuple[list[exception.ConfigError], list[str]]:
    """Every error and warning of ``[pci] alias``, in config order.

    For ``sriovirt config check``: like
    :meth:`~sriovirt.pci.whitelist.Whitelist.problems`, a bad value or
    entry is reported and checking goes on past it (a bad entry does not
    define or extend its alias).
    """
    errors: list[exception.ConfigError] = []
    warnings: list[str] = []
    _parse(values, option, errors, warnings)
    return errors, warnings


def _parse(
    values: Sequence[str],
    option: str,
    errors: list[exception.ConfigError] | None,
    warnings: list[str],
) -> dict[str, PciAlias]:
    """Merge the entries; raise the first error unless ``errors`` given."""
    merged: dict[str, PciAlias] = {}
    first_seen: dict[str, EntryOrigin] = {}
    for entry in iter_config_entries(
        values, option, exception.InvalidPciAliasEntry, errors
    ):
        text = render_json(entry.data)
        try:
            parsed = _parse_entry(entry.data)
            previous = merged.get(parsed.name)
            if previous is not None:
                _check_agrees(previous, parsed, first_seen[parsed.name])
        except SpecFieldError as exc:
            problem = config_error(
                exception.InvalidPciAliasEntry,
                entry.origin,
                text,
                exc.field,
                exc.reason,
            )
            if errors is None:
                raise problem from None
            errors.append(problem)
            continue
        warnings.extend(
            duplicate_key_warnings(entry.origin, text, entry.duplicate_keys)
        )
        if previous is None:
            first_seen[parsed.name] = entry.origin
        merged[parsed.name] = _merge(previous, parsed)
    return merged


def _merge(previous: PciAlias | None, parsed: _Entry) -> PciAlias:
    """The alias ``parsed`` defines or extends (it agrees, checked)."""
    if previous is None:
        return PciAlias(
            name=parsed.name,
            device_type=parsed.device_type,
            numa_policy=parsed.numa_policy,
            specs=(parsed.spec,),
        )
    return PciAlias(
        name=previous.name,
        device_type=previous.device_type,
        numa_policy=previous.numa_policy or parsed.numa_policy,
        specs=(*previous.specs, parsed.spec),
    )


def _check_agrees(
    previous: PciAlias, parsed: _Entry, origin: EntryOrigin
) -> None:
    if previous.device_type != parsed.device_type:
        raise SpecFieldError(
            "device_type",
            f"alias {parsed.name!r} was first defined at {origin} with "
            f"device_type {_show(previous.device_type)}; entries sharing "
            f"a name must agree, got {_show(parsed.device_type)}",
        )
    # Nova treats a missing numa_policy as "legacy" when comparing.
    before = previous.numa_policy or NumaPolicy.LEGACY
    now = parsed.numa_policy or NumaPolicy.LEGACY
    if before != now:
        raise SpecFieldError(
            "numa_policy",
            f"alias {parsed.name!r} was first defined at {origin} with "
            f"numa_policy {before.value}; entries sharing a name must "
            f"agree, got {now.value}",
        )


def _show(value: DevType | None) -> str:
    return "unset" if value is None else value.value


def _parse_entry(data: object) -> _Entry:
    if not isinstance(data, dict):
        raise SpecFieldError(
            "entry", f"expected a JSON object, got {describe_json(data)}"
        )
    for key in data:
        if key not in _KEYS:
            hint = suggest(key, _KEYS) if isinstance(key, str) else None
            raise SpecFieldError(
                str(key),
                "unknown key"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; allowed keys: {', '.join(_KEYS)}",
            )
    name = _parse_name(data)
    device_type = _optional_enum(data, "device_type", DevType)
    numa_policy = _optional_enum(data, "numa_policy", NumaPolicy)
    spec = PciAliasSpec(
        vendor_id=_optional_id(data, "vendor_id"),
        product_id=_optional_id(data, "product_id"),
        resource_class=_optional_str(data, "resource_class"),
        traits=_optional_str(data, "traits"),
        live_migratable=(
            parse_bool_tag(data["live_migratable"], "live_migratable")
            if "live_migratable" in data
            else None
        ),
    )
    return _Entry(name, device_type, numa_policy, spec)


def _parse_name(data: dict[object, object]) -> str:
    """The alias name: a non-empty string a flavor can write."""
    if "name" not in data:
        raise SpecFieldError("name", "every alias needs a name")
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise SpecFieldError(
            "name", f"expected a non-empty string, got {describe_json(name)}"
        )
    check_text(name, "name", "alias name", MAX_TAG)
    if name != name.strip():
        raise SpecFieldError(
            "name",
            f"{render_json(name)} has leading or trailing spaces; a flavor "
            "names an alias exactly",
        )
    if _FLAVOR_SEPARATORS.search(name):
        # pci_passthrough:alias is "NAME:COUNT[,NAME:COUNT...]".
        raise SpecFieldError(
            "name",
            f"{render_json(name)} cannot contain ':' or ',': a flavor's "
            "pci_passthrough:alias=NAME:COUNT,... could never name it",
        )
    return name


def _optional_id(data: dict[object, object], key: str) -> str | None:
    if key not in data:
        return None
    # An alias is a request: "*" would be a silent "anything", so Nova's
    # hex-only rule is kept; leave the key out to mean any.
    return parse_hex_id(data[key], key, wildcard=False)


_E = TypeVar("_E", bound=enum.StrEnum)


def _optional_enum(
    data: dict[object, object], key: str, kind: type[_E]
) -> _E | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise SpecFieldError(
        key,
        f"expected one of {', '.join(m.value for m in kind)}, "
        f"got {describe_json(value)}",
    )


def _optional_str(data: dict[object, object], key: str) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str) and value.strip():
        return value
    raise SpecFieldError(
        key, f"expected a non-empty string, got {describe_json(value)}"
    )
