"""[neutron] options: how to reach Neutron, the keystoneauth1 way.

The session (TLS, timeout), auth plugin and adapter (service type,
interface, region, endpoint override) options are registered by
``keystoneauth1.loading``, exactly as Nova's ``[neutron]`` group, so
operators' settings carry over.  :func:`load_adapter` builds the ready
keystoneauth1 adapter the edge hands to
:class:`sriovirt.network.neutron.NeutronNetwork`: the credentials need
the ``admin`` role (to read ``provider:physical_network``) and the
``service`` role (to write bindings under Neutron's new RBAC).

This module declares and loads options only; it must not call Neutron.
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "neutron"
SERVICE_TYPE = "network"

_GROUP_HELP = (
    "How the neutron network backend ([network] backend = neutron) "
    "reaches Neutron.  Set auth_type (e.g. password) and that plugin's "
    "options (auth_url, username, password, project_name, ...) here, as "
    "in Nova's [neutron] group.  The credentials need the admin and "
    "service roles."
)


def _ks_opts() -> list[cfg.Opt]:
    opts: list[cfg.Opt] = []
    opts += ks_loading.get_session_conf_options()
    opts += ks_loading.get_auth_common_conf_options()
    # Not the auth plugin's own options (auth_url, username, ...): they
    # depend on auth_type and are registered when the plugin is loaded
    # (listing them here would make "config check" read unregistered
    # options, and their required auth_url would break parsing).
    opts += ks_loading.get_adapter_conf_options(include_deprecated=False)
    return _unique(opts)


def _unique(opts: list[cfg.Opt]) -> list[cfg.Opt]:
    seen: dict[str, cfg.Opt] = {}
    for opt in opts:
        seen.setdefault(opt.dest, opt)
    return list(seen.values())


def register_opts(conf: cfg.ConfigOpts) -> None:
    # A group object per ConfigOpts: oslo.config keeps overrides in it.
    conf.register_group(cfg.OptGroup(GROUP, title="Neutron", help=_GROUP_HELP))
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(
        conf, GROUP, include_deprecated=False
    )
    conf.set_default("service_type", SERVICE_TYPE, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, _ks_opts())]


def load_adapter(conf: cfg.ConfigOpts) -> Any:
    """The keystoneauth1 Adapter of the ``[neutron]`` options."""
    auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    session = ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, GROUP, session=session, auth=auth
    )
