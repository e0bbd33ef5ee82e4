"""[scheduler] options: defaults, bounds, and the sample config."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf


def _conf(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    ini = tmp_path / "s.conf"
    ini.write_text(text)
    c = cfg.ConfigOpts()
    conf.register_opts(c)
    c(["--config-file", str(ini)])
    return c


def test_defaults(tmp_path: Path) -> None:
    c = _conf(tmp_path, "")
    assert c.scheduler.max_attempts == 3
    assert c.scheduler.free_vf_weight_multiplier == 1.0
    assert c.scheduler.max_placement_results == 1000


def test_values_and_bounds(tmp_path: Path) -> None:
    c = _conf(
        tmp_path,
        "[scheduler]\nmax_attempts = 5\nfree_vf_weight_multiplier = -2.5\n",
    )
    assert c.scheduler.max_attempts == 5
    assert c.scheduler.free_vf_weight_multiplier == -2.5
    bad = _conf(tmp_path, "[scheduler]\nmax_attempts = 0\n")
    with pytest.raises(cfg.ConfigFileValueError, match="max_attempts"):
        _ = bad.scheduler.max_attempts


def test_listed_for_the_sample() -> None:
    groups = dict(conf.list_opts())
    assert [o.name for o in groups["scheduler"]] == [
        "max_attempts",
        "free_vf_weight_multiplier",
        "max_placement_results",
    ]
