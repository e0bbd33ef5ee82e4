"""A :class:`~sriovirt.scheduler.request_spec.RequestSpec` as the
Placement ``GET /allocation_candidates`` query (microversion 1.39).

* unsuffixed ``resources=VCPU:n,MEMORY_MB:m,DISK_GB:d`` (zero amounts
  left out: Placement wants positive amounts) and ``required=`` with the
  required traits, then ``!TRAIT`` for each forbidden one (1.22);
* one granular group per SR-IOV port (1.33 string suffixes):
  ``resources_PORT1=SRIOV_NET_VF:1`` (``CUSTOM_SRIOV_NET_PF:1`` for
  ``direct-physical``) and ``required_PORT1=CUSTOM_PHYSNET_<NAME>,
  CUSTOM_VNIC_TYPE_<TYPE>``;
* ``group_policy=none`` (1.25: needed with two groups or more, harmless
  otherwise: the ports may share a PF) and ``limit``.

:class:`AllocationCandidatesQuery` is a frozen value whose
:meth:`~AllocationCandidatesQuery.params` are in a fixed order, names
and amounts sorted, so the same spec always renders the same text.

The trait helpers here name the traits the report client puts on each
PF provider; the two must agree.  This module must not send requests
(the report client does) nor read configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

import os_traits

from sriovirt.network.values import VnicType
from sriovirt.pci.device import DevType
from sriovirt.scheduler.request_spec import RequestSpec

#: The Placement microversion the query's semantics are those of.
MICROVERSION: Final = "1.39"
#: Resource class of one VF (a standard Placement class).
VF_RESOURCE_CLASS: Final = "SRIOV_NET_VF"
#: Resource class of one whole PF for a ``direct-physical`` port.  It
#: must equal the class the Placement report client
#: (:mod:`sriovirt.placement`) puts on each PF provider's inventory, or
#: no ``direct-physical`` port is ever scheduled.
PF_RESOURCE_CLASS: Final = "CUSTOM_SRIOV_NET_PF"
GROUP_POLICY: Final = "none"


def physnet_trait(physical_network: str) -> str:
    """``CUSTOM_PHYSNET_<NAME>`` as Neutron and os-traits spell it."""
    return str(os_traits.normalize_name(f"PHYSNET_{physical_network}"))


def vnic_type_trait(vnic_type: VnicType) -> str:
    """``CUSTOM_VNIC_TYPE_DIRECT`` / ``_MACVTAP`` / ``_DIRECT_PHYSICAL``."""
    return str(os_traits.normalize_name(f"VNIC_TYPE_{vnic_type.value}"))


def resource_class(dev_type: DevType) -> str:
    """The Placement resource class a port's device type consumes."""
    return PF_RESOURCE_CLASS if dev_type is DevType.PF else VF_RESOURCE_CLASS


@dataclass(frozen=True, slots=True)
class RequestGroup:
    """One suffixed granular group (one SR-IOV port)."""

    suffix: str
    resources: tuple[tuple[str, int], ...]
    required: tuple[str, ...]
    #: The port it stands for (not sent; for the allocation's mapping).
    port_id: str = ""


@dataclass(frozen=True, slots=True)
class AllocationCandidatesQuery:
    """The allocation-candidates query of one request spec."""

    resources: tuple[tuple[str, int], ...]
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    groups: tuple[RequestGroup, ...] = ()
    group_policy: str = GROUP_POLICY
    limit: int | None = None

    def params(self) -> list[tuple[str, str]]:
        """Query parameters in a fixed order."""
        out: list[tuple[str, str]] = []
        if self.resources:
            out.append(("resources", _amounts(self.resources)))
        traits = [*self.required, *(f"!{t}" for t in self.forbidden)]
        if traits:
            out.append(("required", ",".join(traits)))
        for group in self.groups:
            out.append((f"resources{group.suffix}", _amounts(group.resources)))
            if group.required:
                out.append(
                    (f"required{group.suffix}", ",".join(group.required))
                )
        out.append(("group_policy", self.group_policy))
        if self.limit is not None:
            out.append(("limit", str(self.limit)))
        return out

    def query_string(self) -> str:
        """The URL query, with ``, : !`` left readable."""
        return urlencode(self.params(), safe=",:!")

    def __str__(self) -> str:
        return self.query_string()


def _amounts(resources: Iterable[tuple[str, int]]) -> str:
    return ",".join(f"{rc}:{n}" for rc, n in resources)


#: The unsuffixed resources in the order they are written.
_ROOT_CLASSES: Final = ("VCPU", "MEMORY_MB", "DISK_GB")


def allocation_candidates_query(
    spec: RequestSpec, *, limit: int | None = None
) -> AllocationCandidatesQuery:
    """The query for ``spec`` (after the request filters ran on it)."""
    amounts = dict(
        zip(
            _ROOT_CLASSES,
            (spec.vcpus, spec.memory_mb, spec.disk_gb),
            strict=True,
        )
    )
    groups = tuple(
        RequestGroup(
            suffix=g.suffix,
            resources=((resource_class(g.dev_type), 1),),
            required=(
                physnet_trait(g.physical_network),
                vnic_type_trait(g.vnic_type),
            ),
            port_id=g.port_id,
        )
        for g in spec.port_groups
    )
    return AllocationCandidatesQuery(
        resources=tuple((rc, n) for rc, n in amounts.items() if n > 0),
        required=tuple(sorted(spec.required_traits)),
        forbidden=tuple(sorted(spec.forbidden_traits)),
        groups=groups,
        limit=limit,
    )
