"""The shipped sample configuration matches the registered options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oslo_config import cfg

from sriovirt import conf

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "etc" / "sriovirt" / "sriovirt.conf.sample"
GENERATOR = ROOT / "etc" / "sriovirt" / "sriovirt-config-generator.conf"


def test_sample_config_is_in_sync(tmp_path: Path) -> None:
    out = tmp_path / "sample.conf"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "oslo_config.generator",
            "--config-file",
            str(GENERATOR),
            "--output-file",
            str(out),
        ],
        check=True,
        cwd=ROOT,
    )
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/sriovirt/sriovirt.conf.sample is stale: run `make genconfig`"
    )


def test_deprecated_whitelist_names_still_read(tmp_path: Path) -> None:
    ini = tmp_path / "old.conf"
    ini.write_text(
        "[DEFAULT]\n"
        'pci_passthrough_whitelist = {"vendor_id": "8086"}\n'
        "[pci]\n"
        'passthrough_whitelist = {"vendor_id": "15b3"}\n'
    )
    for text, expected in (
        (ini.read_text(), ['{"vendor_id": "8086"}', '{"vendor_id": "15b3"}']),
        (
            '[pci]\npassthrough_whitelist = {"vendor_id": "15b3"}\n',
            ['{"vendor_id": "15b3"}'],
        ),
        (
            '[DEFAULT]\npci_passthrough_whitelist = {"vendor_id": "8086"}\n',
            ['{"vendor_id": "8086"}'],
        ),
    ):
        ini.write_text(text)
        c = cfg.ConfigOpts()
        conf.register_opts(c)
        c(["--config-file", str(ini)])
        assert sorted(c.pci.device_spec) == sorted(expected)


def test_list_opts_covers_every_group() -> None:
    groups = dict(conf.list_opts())
    assert {"DEFAULT", "pci", "libvirt", "database"} <= set(groups)
    names = {o.name for o in groups["pci"]}
    assert {"device_spec", "alias"} <= names
