"""Request filters: what a boot asks of Placement, before any host.

Each filter is a small function with one reason, taking a
:class:`~sriovirt.scheduler.request_spec.RequestSpec` and returning it
(or a new one with more required traits); :data:`ALL_REQUEST_FILTERS`
runs in order through :func:`apply_request_filters`.  A request that
contradicts itself (an image requiring a trait the flavor forbids, a
packed ring asked for while the flavor forbids the packed trait) is a
:class:`~sriovirt.exception.TraitConflict` naming both sides: the
request is refused before any host is tried.

This module must not call Placement or look at hosts (host filters do,
after Placement answered).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import os_traits

from sriovirt import exception
from sriovirt.scheduler.request_spec import (
    FORBIDDEN,
    REQUIRED,
    TRAIT_PREFIX,
    RequestSpec,
)

RequestFilter = Callable[[RequestSpec], RequestSpec]

#: The trait a host has when its libvirt and QEMU can do packed rings.
PACKED_TRAIT: Final = str(os_traits.COMPUTE_NET_VIRTIO_PACKED)


def _require(spec: RequestSpec, trait: str, source: str) -> RequestSpec:
    """``spec`` with ``trait`` required; a conflict if it is forbidden."""
    if trait in spec.forbidden_traits:
        raise exception.TraitConflict(
            trait=trait,
            wanted=REQUIRED,
            wanted_by=source,
            denied=FORBIDDEN,
            denied_by=spec.source_of(trait),
        )
    return spec.with_required(trait, source)


def image_traits_filter(spec: RequestSpec) -> RequestSpec:
    """Require the traits the image's ``trait:NAME=required`` ask for."""
    for trait in sorted(spec.image_traits):
        spec = _require(
            spec, trait, f"image property {TRAIT_PREFIX}{trait}={REQUIRED}"
        )
    return spec


def packed_virtqueue_filter(spec: RequestSpec) -> RequestSpec:
    """Require ``COMPUTE_NET_VIRTIO_PACKED`` when packed rings are asked.

    An explicit false or an unset request adds nothing and forbids
    nothing: a host that can do packed rings can still run a guest that
    does not use them.
    """
    if spec.packed is not True:
        return spec
    return _require(spec, PACKED_TRAIT, spec.packed_source)


#: Every request filter, in the order they run.
ALL_REQUEST_FILTERS: Final[tuple[RequestFilter, ...]] = (
    image_traits_filter,
    packed_virtqueue_filter,
)


def apply_request_filters(
    spec: RequestSpec,
    filters: Sequence[RequestFilter] = ALL_REQUEST_FILTERS,
) -> RequestSpec:
    """``spec`` after every filter, in order."""
    for request_filter in filters:
        spec = request_filter(spec)
    return spec
