"""[network] options: the static backend is the working default."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf
from sriovirt.network import api
from sriovirt.network.static import StaticNetwork


def _conf(tmp_path: Path, *lines: str) -> cfg.ConfigOpts:
    path = tmp_path / "sriovirt.conf"
    path.write_text(
        "\n".join(["[DEFAULT]", f"state_path = {tmp_path}", *lines])
    )
    opts = cfg.ConfigOpts()
    conf.register_opts(opts)
    opts(["--config-file", str(path)], project="sriovirt")
    return opts


def test_defaults_give_a_working_static_backend(tmp_path: Path) -> None:
    opts = _conf(tmp_path)
    assert opts.network.backend == "static"
    assert opts.network.bindings_file == f"{tmp_path}/port_bindings.sqlite"
    net = StaticNetwork(
        ports_file=Path(opts.network.ports_file),
        state_file=Path(opts.network.bindings_file),
    )
    assert isinstance(net, api.NetworkAPI)
    assert net.show_port("6f0c1e2a-0000-4000-8000-000000000001")["name"] == (
        "vlan-direct"
    )


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    opts = _conf(tmp_path, "[network]", "backend = nova-network")
    with pytest.raises(ValueError, match="nova-network"):
        opts.network.backend  # noqa: B018 (reading is what is tested)
