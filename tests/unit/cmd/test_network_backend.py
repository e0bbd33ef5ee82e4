"""cmd/network_backend.from_config: [network] backend -> NetworkAPI."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.cmd import network_backend
from sriovirt.network.api import NetworkAPI
from sriovirt.network.neutron import NeutronNetwork
from sriovirt.network.static import StaticNetwork


def _conf(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "sriovirt.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf(["--config-file", str(path)])
    return conf


def test_static_is_the_default(tmp_path: Path) -> None:
    conf = _conf(
        tmp_path,
        f"[DEFAULT]\nstate_path = {tmp_path}\n"
        f"[network]\nports_file = {tmp_path / 'ports.json'}\n",
    )
    network = network_backend.from_config(conf)
    assert isinstance(network, StaticNetwork)
    assert isinstance(network, NetworkAPI)
    assert network.state_file == tmp_path / "port_bindings.sqlite"


def test_neutron_uses_the_neutron_group_and_sends_nothing(
    tmp_path: Path,
) -> None:
    # A closed port: building must not call Neutron.
    conf = _conf(
        tmp_path,
        "[network]\nbackend = neutron\n"
        "[neutron]\nendpoint_override = http://127.0.0.1:9\n",
    )
    network = network_backend.from_config(conf)
    assert isinstance(network, NeutronNetwork)
    assert isinstance(network, NetworkAPI)
    # Reader and binder: the one [neutron] adapter (admin + service).
    adapter = network._reader
    assert network._binder is adapter
    assert adapter.get_endpoint() == "http://127.0.0.1:9"


def test_unknown_backend_names_value_source_and_choices(
    tmp_path: Path,
) -> None:
    conf = _conf(tmp_path, "[network]\nbackend = quantum\n")
    with pytest.raises(exception.ConfigError) as err:
        network_backend.from_config(conf)
    message = str(err.value)
    assert "quantum" in message and "[network] backend" in message
    assert "static, neutron" in message


def test_a_backend_the_option_allows_but_nothing_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = _conf(tmp_path, "[network]\nbackend = neutron\n")
    monkeypatch.delitem(network_backend.BACKENDS, "neutron")
    with pytest.raises(exception.ConfigError) as err:
        network_backend.from_config(conf)
    assert "'neutron'" in str(err.value) and "sriovirt.conf" in str(err.value)
