"""Flavor and image constraints on guest hardware: the packed virtqueue.

A user asks for virtio packed virtqueues with the flavor extra spec
``hw:virtio_packed_ring`` or the image property ``hw_virtio_packed_ring``.
This module turns those raw values into a decision:

* values are parsed strictly, by :func:`sriovirt.pci.tags.parse_bool`
  (``true/false``, ``yes/no``, ``on/off``, ``1/0``, ``t/f``, ``y/n`` in
  any case, or a real ``bool``; a number is not a boolean); anything
  else is :class:`~sriovirt.exception.InvalidFlavorExtraSpec` or
  :class:`~sriovirt.exception.InvalidImageProperty` naming the key and
  the value.  The image is held to the flavor's rules (Nova is laxer
  there);
* flavor and image both set and different is
  :class:`~sriovirt.exception.FlavorImageConflict`;
* otherwise the flavor's value, else the image's, else unset.

:func:`packed_virtqueue_request` keeps "unset" apart from "false" (the
XML layer writes ``packed='off'`` for an explicit false and nothing when
unset); :func:`packed_virtqueue_constraint` is the boolean the scheduler
uses (unset means not required).

This module is pure: it must not read configuration, talk to libvirt or
render XML.
"""

from __future__ import annotations

from collections.abc import Mapping

from sriovirt import exception
from sriovirt.pci.tags import BOOL_EXPECTED, parse_bool, strict_image_bool

#: Flavor extra spec asking for packed virtqueues.
FLAVOR_KEY = "hw:virtio_packed_ring"
#: Image property asking for packed virtqueues.
IMAGE_KEY = "hw_virtio_packed_ring"


def parse_flavor_packed(extra_specs: Mapping[str, object]) -> bool | None:
    """``hw:virtio_packed_ring`` of a flavor: True, False or None (unset).

    Raises :class:`~sriovirt.exception.InvalidFlavorExtraSpec`.
    """
    value = extra_specs.get(FLAVOR_KEY)
    if value is None:
        return None
    result = parse_bool(value)
    if result is None:
        raise exception.InvalidFlavorExtraSpec(
            name=FLAVOR_KEY, value=value, reason=BOOL_EXPECTED
        )
    return result


def parse_image_packed(image_props: Mapping[str, object]) -> bool | None:
    """``hw_virtio_packed_ring`` of an image: True, False or None (unset).

    Raises :class:`~sriovirt.exception.InvalidImageProperty`.
    """
    value = image_props.get(IMAGE_KEY)
    if value is None:
        return None
    return strict_image_bool(IMAGE_KEY, value)


def packed_virtqueue_request(
    extra_specs: Mapping[str, object], image_props: Mapping[str, object]
) -> bool | None:
    """The packed ring request: True, False (explicit) or None (unset).

    Raises the invalid-value errors above, or
    :class:`~sriovirt.exception.FlavorImageConflict` when both are set
    and disagree.
    """
    flavor = parse_flavor_packed(extra_specs)
    image = parse_image_packed(image_props)
    if flavor is not None and image is not None and flavor != image:
        raise exception.FlavorImageConflict(
            flavor_key=FLAVOR_KEY,
            flavor_value=extra_specs.get(FLAVOR_KEY),
            image_key=IMAGE_KEY,
            image_value=image_props.get(IMAGE_KEY),
        )
    return flavor if flavor is not None else image


def packed_virtqueue_constraint(
    extra_specs: Mapping[str, object], image_props: Mapping[str, object]
) -> bool:
    """True when the flavor or image asks for packed virtqueues.

    Unset is False.  Raises like :func:`packed_virtqueue_request`.
    """
    return packed_virtqueue_request(extra_specs, image_props) is True
