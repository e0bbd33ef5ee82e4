"""The tag vocabulary of PCI devices, and the one boolean parser.

A ``[pci] device_spec`` entry gives the devices it selects tags
(``physical_network``, ``trusted``, custom names); pools and PCI requests
compare them as strings.  This module names the tags sriovirt knows, the
names it reserves for its own values, the length limits, and the
spelling of a boolean: :func:`parse_bool` is the only place that decides
what "true" is, so a request's ``"yes"`` meets a pool's ``"true"`` and a
flavor, an image, a port and a device_spec entry all accept the same
words.

The vocabulary is oslo.utils' ``strutils.bool_from_string`` (as Nova uses
for these values): true is ``1 t true on y yes``, false is
``0 f false off n no``, in any case, surrounding spaces ignored; a JSON
boolean is itself.  It is implemented here because ``pci/`` imports only
the standard library and :mod:`sriovirt.exception`.

This module must not parse entries, raise errors or import anything of
the project: callers turn "not a boolean" into their own error.
"""

from __future__ import annotations

from typing import Final

from sriovirt import exception

#: Tags whose value is a boolean, stored as "true"/"false".
BOOLEAN_TAGS: Final = (
    "trusted",
    "remote_managed",
    "managed",
    "live_migratable",
    "one_time_use",
)
#: Tags whose value must be a string.
STRING_TAGS: Final = ("resource_class", "traits")
KNOWN_TAGS: Final = ("physical_network", *BOOLEAN_TAGS, *STRING_TAGS)
#: Names sriovirt stores its own values under, next to the tags: the
#: device's ``extra_info`` (netdev names, removal state), a pool's JSON
#: (``dev_type`` in its tags; ``numa_node``, ``count`` beside them) and
#: the ``pci_devices`` columns.  A tag of that name would overwrite them.
RESERVED_TAGS: Final = (
    "dev_type",
    "ifname",
    "parent_ifname",
    "pending_removal",
    "numa_node",
    "count",
    "parent_addr",
    "status",
    "instance_uuid",
    "request_id",
    "compute_node_id",
)
#: Neutron's ``networksegments.physical_network`` column is 64 long: a
#: longer name can never meet a network.
MAX_PHYSNET: Final = 64
#: Every other tag name and value (they are stored in each device row).
MAX_TAG: Final = 255

TRUE_WORDS: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS: Final = frozenset({"0", "f", "false", "off", "n", "no"})


#: What a boolean value must look like, for error messages.
BOOL_EXPECTED: Final = (
    "expected a boolean: true/false, yes/no, on/off, y/n, t/f, 1/0 "
    "(any case) or a JSON boolean"
)


def parse_bool(value: object) -> bool | None:
    """The boolean ``value`` spells, or ``None`` when it spells none.

    ``value`` is a ``bool`` or a string of :data:`TRUE_WORDS` or
    :data:`FALSE_WORDS` (any case, surrounding spaces ignored); anything
    else (``None``, numbers, other words) is ``None``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def strict_image_bool(name: str, value: object) -> bool:
    """Parse the boolean image property ``name`` as strictly as a flavor.

    Raises :class:`~sriovirt.exception.InvalidImageProperty` naming
    ``name`` and ``value``.  Image properties use the same vocabulary as
    every other boolean (the versioned ``ImageMetaProps`` and
    :mod:`sriovirt.virt.hardware` both call this).
    """
    result = parse_bool(value)
    if result is None:
        raise exception.InvalidImageProperty(
            name=name, value=value, reason=BOOL_EXPECTED
        )
    return result
