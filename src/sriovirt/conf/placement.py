"""[placement] options: the embedded Placement, or a remote one.

The session (TLS, timeout), auth plugin and adapter (service type,
interface, region, endpoint override) options are registered by
``keystoneauth1.loading``, as in Nova's ``[placement]`` group.  Which
Placement is used follows from them (:func:`mode`):

* neither ``auth_type`` nor ``endpoint_override`` set: **embedded**, the
  openstack-placement application in-process on
  ``$state_path/placement.sqlite`` (the default);
* ``endpoint_override`` set, no ``auth_type``: a remote Placement whose
  ``[api] auth_strategy`` is ``noauth2`` (a lab or test server): every
  request carries the admin token ``noauth2`` accepts;
* ``auth_type`` set: a remote Placement through Keystone (the catalog,
  or ``endpoint_override``).

This module declares and loads options only; it must not call Placement.
"""

from __future__ import annotations

import enum
from typing import Any

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

GROUP = "placement"
SERVICE_TYPE = "placement"
#: The token Placement's noauth2 strategy takes as admin.
NOAUTH_TOKEN = "admin"

_GROUP_HELP = (
    "Where the compute node's resource providers are reported.  "
    "Leave auth_type and endpoint_override unset for the embedded "
    "Placement (openstack-placement in-process on "
    "$state_path/placement.sqlite, shared by every sriovirt process of "
    "the machine).  Set endpoint_override alone for a remote Placement "
    "running with [api] auth_strategy = noauth2; set auth_type (e.g. "
    "password) and that plugin's options (auth_url, username, ...) for a "
    "remote Placement behind Keystone, as in Nova's [placement] group."
)


class Mode(enum.StrEnum):
    EMBEDDED = "embedded"
    NOAUTH = "noauth"
    KEYSTONE = "keystone"


def _ks_opts() -> list[cfg.Opt]:
    opts: list[cfg.Opt] = []
    opts += ks_loading.get_session_conf_options()
    opts += ks_loading.get_auth_common_conf_options()
    opts += ks_loading.get_adapter_conf_options(include_deprecated=False)
    seen: dict[str, cfg.Opt] = {}
    for opt in opts:
        seen.setdefault(opt.dest, opt)
    return list(seen.values())


def register_opts(conf: cfg.ConfigOpts) -> None:
    # A group object of its own per ConfigOpts: oslo.config keeps the
    # overrides in the OptGroup it is given, so a shared module-level one
    # would carry one ConfigOpts' overrides into every other.
    conf.register_group(
        cfg.OptGroup(GROUP, title="Placement", help=_GROUP_HELP)
    )
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(
        conf, GROUP, include_deprecated=False
    )
    conf.set_default("service_type", SERVICE_TYPE, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, _ks_opts())]


def mode(conf: cfg.ConfigOpts) -> Mode:
    """Which Placement the ``[placement]`` options name."""
    group = conf[GROUP]
    if group.auth_type:
        return Mode.KEYSTONE
    if group.endpoint_override:
        return Mode.NOAUTH
    return Mode.EMBEDDED


def load_adapter(conf: cfg.ConfigOpts, microversion: str) -> Any:
    """The keystoneauth1 Adapter of a remote Placement (not embedded)."""
    if mode(conf) is Mode.KEYSTONE:
        auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
        session = ks_loading.load_session_from_conf_options(
            conf, GROUP, auth=auth
        )
    else:
        auth = None
        session = ks_loading.load_session_from_conf_options(conf, GROUP)
        # noauth2 takes this token as admin; keystoneauth's NoAuth
        # plugin sends "notused", which Placement's policy refuses.
        session.additional_headers["x-auth-token"] = NOAUTH_TOKEN
    assert isinstance(session, ks_session.Session)
    return ks_loading.load_adapter_from_conf_options(
        conf,
        GROUP,
        session=session,
        auth=auth,
        default_microversion=microversion,
        raise_exc=False,
    )


def service_conf(connection: str) -> cfg.ConfigOpts:
    """openstack-placement's own options for the embedded Placement, on
    a ConfigOpts of their own (never sriovirt's): its database at
    ``connection``, ``noauth2``, no config file read."""
    from placement import conf as placement_config

    conf = cfg.ConfigOpts()
    placement_config.register_opts(conf)
    conf.set_default("connection", connection, group="placement_database")
    conf(
        [],
        project="placement",
        default_config_files=[],
        default_config_dirs=[],
    )
    conf.set_override("sync_on_startup", False, group="placement_database")
    conf.set_override("auth_strategy", "noauth2", group="api")
    return conf
