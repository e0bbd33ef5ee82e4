"""[neutron]: keystoneauth options registered, listed and loaded."""

from __future__ import annotations

from oslo_config import cfg

from sriovirt import conf
from sriovirt.conf import neutron


def _conf(*args: str) -> cfg.ConfigOpts:
    c = cfg.ConfigOpts()
    conf.register_opts(c)
    c(list(args))
    return c


def test_keystoneauth_options_are_registered_and_listed() -> None:
    c = _conf()
    assert c.neutron.service_type == "network"
    listed = {
        o.dest
        for group, opts in conf.list_opts()
        for o in opts
        if group == "neutron"
    }
    for name in (
        "auth_type",
        "timeout",
        "cafile",
        "endpoint_override",
        "region_name",
        "valid_interfaces",
    ):
        assert name in listed
        assert hasattr(c.neutron, name)


def test_load_adapter_uses_the_options(tmp_path: object) -> None:
    c = _conf()
    c.set_override("endpoint_override", "http://127.0.0.1:9696", "neutron")
    c.set_override("timeout", 7, "neutron")
    adapter = neutron.load_adapter(c)
    assert adapter.service_type == "network"
    assert adapter.get_endpoint() == "http://127.0.0.1:9696"
    assert adapter.session.timeout == 7


def test_overrides_stay_in_their_configopts() -> None:
    one = _conf()
    one.set_override("endpoint_override", "http://127.0.0.1:1", "neutron")
    assert _conf().neutron.endpoint_override is None
