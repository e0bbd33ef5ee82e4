"""LibvirtDriver.host_resources: the root provider's inventories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.virt.driver import HostResources
from sriovirt.virt.libvirt.driver import LibvirtDriver


def _driver(state_path: Path) -> LibvirtDriver:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override("state_path", str(state_path))
    return LibvirtDriver.for_connection(
        conf, paths.test_driver_uri(paths.sample_host())
    )


def test_cpus_and_memory_from_libvirt_disk_from_state_path(
    tmp_path: Path,
) -> None:
    driver = _driver(tmp_path)
    try:
        resources = driver.host_resources()
    finally:
        driver.host.close()
    st = os.statvfs(tmp_path)
    # The sample host document: 8 CPUs, 32 GiB.
    assert resources == HostResources(
        vcpus=8,
        memory_mb=32768,
        disk_gb=st.f_blocks * st.f_frsize // 1024**3,
    )


def test_missing_state_path_is_named(tmp_path: Path) -> None:
    driver = _driver(tmp_path / "nowhere")
    try:
        with pytest.raises(exception.HypervisorError) as caught:
            driver.host_resources()
    finally:
        driver.host.close()
    assert str(tmp_path / "nowhere") in str(caught.value)
    assert "state_path" in str(caught.value)


def test_host_resources_refuse_negative_values() -> None:
    with pytest.raises(exception.Invalid, match="memory_mb -1"):
        HostResources(vcpus=1, memory_mb=-1, disk_gb=0)
