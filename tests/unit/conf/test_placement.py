"""[placement]: keystoneauth options, the mode they name, the adapter."""

from __future__ import annotations

from pathlib import Path

from oslo_config import cfg

from sriovirt import conf
from sriovirt.conf import placement


def _conf(config_file: Path | None = None) -> cfg.ConfigOpts:
    c = cfg.ConfigOpts()
    conf.register_opts(c)
    args = [] if config_file is None else ["--config-file", str(config_file)]
    c(args, default_config_files=[])
    return c


def test_keystoneauth_options_are_registered_and_listed() -> None:
    c = _conf()
    assert c.placement.service_type == "placement"
    listed = {
        o.dest
        for group, opts in conf.list_opts()
        for o in opts
        if group == "placement"
    }
    for name in ("auth_type", "timeout", "cafile", "endpoint_override"):
        assert name in listed
        assert hasattr(c.placement, name)


def test_nothing_set_is_the_embedded_placement() -> None:
    assert placement.mode(_conf()) is placement.Mode.EMBEDDED


def test_endpoint_alone_is_a_noauth_placement(tmp_path: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text(
        "[placement]\nendpoint_override = http://127.0.0.1:8778\ntimeout = 7\n"
    )
    c = _conf(path)
    assert placement.mode(c) is placement.Mode.NOAUTH
    adapter = placement.load_adapter(c, "1.39")
    assert adapter.get_endpoint() == "http://127.0.0.1:8778"
    assert adapter.session.timeout == 7
    assert adapter.session.additional_headers["x-auth-token"] == "admin"
    assert adapter.default_microversion == "1.39"


def test_auth_type_is_keystone(tmp_path: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text(
        "[placement]\nauth_type = password\n"
        "endpoint_override = http://placement.example:8778\n"
    )
    assert placement.mode(_conf(path)) is placement.Mode.KEYSTONE


def test_service_conf_is_placements_own() -> None:
    sriovirt_conf = _conf()
    service = placement.service_conf("sqlite:////tmp/x/placement.sqlite")
    assert service is not sriovirt_conf
    assert service.placement_database.connection == (
        "sqlite:////tmp/x/placement.sqlite"
    )
    assert service.api.auth_strategy == "noauth2"
    assert not hasattr(sriovirt_conf, "placement_database")


def test_overrides_stay_in_their_configopts() -> None:
    one = _conf()
    one.set_override("endpoint_override", "http://127.0.0.1:1", "placement")
    assert placement.mode(one) is placement.Mode.NOAUTH
    assert placement.mode(_conf()) is placement.Mode.EMBEDDED
