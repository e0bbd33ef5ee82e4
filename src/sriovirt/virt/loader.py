"""Loading the compute driver named by ``[DEFAULT] compute_driver``.

As Nova does it: the name is ``module.Class`` resolved inside
:mod:`sriovirt.virt` first (``libvirt.LibvirtDriver``), else a full
dotted path (``mypackage.drivers.FakeDriver``).  A package's class may
live in its ``driver`` module (``sriovirt.virt.libvirt.driver``), where
Nova re-exports it from the package instead.  The class must be a
:class:`~sriovirt.virt.driver.ComputeDriver`; every way to get this
wrong is an :class:`~sriovirt.exception.InvalidConfigOption` naming the
option and the value.

The caller (an edge: service, command, manager) reads the option and
passes its value and the configuration the driver is built from; this
module must not read configuration itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from sriovirt import exception
from sriovirt.virt.driver import ComputeDriver

OPTION = "[DEFAULT] compute_driver"
NAMESPACE = "sriovirt.virt"


def _fail(name: str, reason: str) -> exception.InvalidConfigOption:
    return exception.InvalidConfigOption(
        option=OPTION, reason=f"{name!r}: {reason}"
    )


def _import(name: str, module_name: str) -> Any | None:
    """The module, or None when it (not one of its imports) is missing."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise _fail(name, f"importing {module_name} failed: {exc}") from exc
    except ImportError as exc:
        raise _fail(name, f"importing {module_name} failed: {exc}") from exc


def _find_class(name: str, module: Any, class_name: str) -> Any:
    """``module.class_name``; a package stands for its ``driver`` module
    too (``libvirt.LibvirtDriver`` is ``libvirt/driver.py``'s class)."""
    cls = getattr(module, class_name, None)
    if cls is not None or not hasattr(module, "__path__"):
        if cls is None:
            raise _fail(name, f"module {module.__name__} has no {class_name}")
        return cls
    driver_module = _import(name, f"{module.__name__}.driver")
    cls = getattr(driver_module, class_name, None)
    if cls is None:
        raise _fail(
            name,
            f"neither package {module.__name__} nor its driver module "
            f"has {class_name}",
        )
    return cls


def driver_class(name: str) -> type[ComputeDriver]:
    """The ComputeDriver class ``name`` designates."""
    module_name, _, class_name = name.strip().rpartition(".")
    if not module_name or not class_name:
        raise _fail(name, "wanted 'module.Class', e.g. libvirt.LibvirtDriver")
    tried = [f"{NAMESPACE}.{module_name}", module_name]
    for candidate in tried:
        module = _import(name, candidate)
        if module is not None:
            break
    else:
        raise _fail(name, f"no module {tried[0]} nor {tried[1]}")
    cls = _find_class(name, module, class_name)
    if not isinstance(cls, type) or not issubclass(cls, ComputeDriver):
        raise _fail(
            name,
            f"{module.__name__}.{class_name} is not a ComputeDriver "
            f"subclass (wanted a subclass of {ComputeDriver.__module__}."
            f"{ComputeDriver.__qualname__})",
        )
    return cls


def load_compute_driver(name: str, conf: object) -> ComputeDriver:
    """An instance of the driver ``name``, built from ``conf``.

    Every driver takes the configuration as its one constructor
    argument and reads it there (an edge), never later.
    """
    cls: Any = driver_class(name)
    if getattr(cls, "__abstractmethods__", None):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise _fail(name, f"{cls.__qualname__} is abstract ({missing})")
    driver: ComputeDriver = cls(conf)
    return driver
