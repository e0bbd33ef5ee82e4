"""sriovirt's versioned objects: what is stored in the database or sent.

Call :func:`register_all` once before using objects by name (``from
sriovirt import objects; objects.register_all(); objects.PciDevice``).
Each object module registers its classes with
:class:`~sriovirt.objects.base.SriovirtObjectRegistry` when imported.

This package must not import SQLAlchemy or read configuration.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every object module; each registers its classes on import.
_MODULES = (
    "sriovirt.objects.pci_device",
    "sriovirt.objects.pci_device_pool",
    "sriovirt.objects.compute_node",
    "sriovirt.objects.instance_pci_requests",
    "sriovirt.objects.image_meta",
)


def register_all() -> None:
    """Import every object module so its classes are registered."""
    for name in _MODULES:
        importlib.import_module(name)


def __getattr__(name: str) -> Any:
    # Registered classes are set on this module by the registry hook;
    # this only turns a missing one into a helpful error.
    raise AttributeError(
        f"sriovirt.objects has no object {name!r}; did you call "
        "sriovirt.objects.register_all()?"
    )
