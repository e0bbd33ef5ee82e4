"""The network service the configuration names: ``[network] backend``.

:func:`from_config` is the one place a command (or the compute service)
turns ``[network]`` and ``[neutron]`` into a
:class:`~sriovirt.network.api.NetworkAPI`:

- ``static``: :class:`~sriovirt.network.static.StaticNetwork` over
  ``[network] ports_file`` and ``bindings_file``;
- ``neutron``: :class:`~sriovirt.network.neutron.NeutronNetwork` with
  the keystoneauth1 adapter of ``[neutron]``
  (:func:`sriovirt.conf.neutron.load_adapter`) as both reader and
  binder: Nova's ``[neutron]`` credentials are one set, and they need
  the ``admin`` role (to read ``provider:physical_network``) and the
  ``service`` role (to write bindings under Neutron's new RBAC).

It lives at the edge (``cmd/``) because ``network/`` must not read
configuration.  It must not call the network service: building a
backend sends no request (keystoneauth1 authenticates on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from oslo_config import cfg

from sriovirt import exception
from sriovirt.cmd import option_source
from sriovirt.conf import neutron as neutron_conf
from sriovirt.network.api import NetworkAPI
from sriovirt.network.neutron import NeutronNetwork
from sriovirt.network.static import StaticNetwork


def _static(conf: cfg.ConfigOpts) -> NetworkAPI:
    return StaticNetwork(
        ports_file=Path(str(conf.network.ports_file)),
        state_file=Path(str(conf.network.bindings_file)),
    )


def _neutron(conf: cfg.ConfigOpts) -> NetworkAPI:
    adapter = neutron_conf.load_adapter(conf)
    return NeutronNetwork(reader=adapter, binder=adapter)


#: ``[network] backend`` value -> how to build that backend.
BACKENDS: dict[str, Callable[[cfg.ConfigOpts], NetworkAPI]] = {
    "static": _static,
    "neutron": _neutron,
}


def from_config(conf: cfg.ConfigOpts) -> NetworkAPI:
    """The backend ``[network] backend`` names, built from its options.

    An unknown backend is a :class:`~sriovirt.exception.ConfigError`
    naming the value, where it came from and the choices.
    """
    choices = ", ".join(BACKENDS)
    try:
        backend = str(conf.network.backend)
    except cfg.ConfigSourceValueError as exc:
        # oslo.config's own check of the option's choices.
        raise exception.ConfigError(
            reason=f"[network] backend: {exc} (choices: {choices})"
        ) from None
    build = BACKENDS.get(backend)
    if build is None:
        source = option_source(conf, "backend", "network")
        raise exception.ConfigError(
            reason=f"[network] backend {backend!r} (from {source}) is not "
            f"one of {choices}"
        )
    return build(conf)
