"""sriovirt's versioned objects: what crosses an RPC boundary or is stored
as a versioned payload.

Only those get a versioned object (a field change then needs a version
bump, pinned by ``tests/unit/objects/test_fingerprints.py``):

* ``InstancePCIRequest(s)``: an instance's PCI requests, sent with a
  boot to the compute service and stored in
  ``instance_pci_requests.requests`` (a JSON list of the fields);
* ``ImageMetaProps``: the image properties of a boot request;
* ``ComputeNode`` with ``PciDevicePool(List)``: a node and its pools as
  the scheduler side reads them (``compute_nodes.pci_stats``);
* ``PciDevice(List)``: a node's tracked devices, for anything that sends
  them (its stored form is :class:`sriovirt.pci.record.PciDeviceRecord`);
* ``BootRequest`` and ``Instance``: a boot sent to a compute service
  over RPC, and the server's row it answers (``compute/rpcapi.py``).

Local persistence does not go through them: the resource tracker and
the database exchange :class:`~sriovirt.pci.record.PciDeviceRecord` and
the other plain values of :mod:`sriovirt.db.records` directly.

Call :func:`register_all` once before using objects by name (``from
sriovirt import objects; objects.register_all(); objects.PciDevice``).
Each object module registers its classes with
:class:`~sriovirt.objects.base.SriovirtObjectRegistry` when imported.

This package must not import SQLAlchemy, read configuration or the
tracker's internals (``pci.tracker``), nor ``virt``: ``image_meta`` still
takes its boolean rule from :mod:`sriovirt.virt.hardware` until the one
boolean parser of the tag vocabulary replaces it.
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
    "sriovirt.objects.boot_request",
    "sriovirt.objects.instance",
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
