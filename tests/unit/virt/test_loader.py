"""[DEFAULT] compute_driver: Nova-style loading with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.virt import loader
from sriovirt.virt.driver import PciInventory
from sriovirt.virt.libvirt.driver import LibvirtDriver
from tests.doubles import NoGuests


class DottedDriver(NoGuests):
    """A driver outside sriovirt.virt, loaded by its full path."""

    def __init__(self, conf: object) -> None:
        self.conf = conf

    def nodename(self) -> str:
        return "dotted"

    def pci_inventory(self) -> PciInventory:
        return PciInventory(devices=())

    def traits(self) -> dict[str, bool]:
        return {}


class NotADriver:
    pass


HERE = __name__


def _conf(*args: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf(list(args))
    return conf


def test_the_default_is_the_libvirt_driver() -> None:
    conf = _conf()
    assert conf.compute_driver == "libvirt.LibvirtDriver"
    driver = loader.load_compute_driver(conf.compute_driver, conf)
    assert type(driver) is LibvirtDriver
    assert driver.nodename() == conf.host


def test_a_full_dotted_path_works() -> None:
    conf = _conf()
    driver = loader.load_compute_driver(f"{HERE}.DottedDriver", conf)
    assert isinstance(driver, DottedDriver) and driver.conf is conf
    full = "sriovirt.virt.libvirt.driver.LibvirtDriver"
    assert loader.driver_class(full) is LibvirtDriver


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("LibvirtDriver", "wanted 'module.Class'"),
        ("libvirt.", "wanted 'module.Class'"),
        (
            "nosuch.Driver",
            "no module sriovirt.virt.nosuch nor nosuch",
        ),
        (
            "libvirt.NoSuchDriver",
            "neither package sriovirt.virt.libvirt nor its driver module "
            "has NoSuchDriver",
        ),
        ("hardware.Nope", "module sriovirt.virt.hardware has no Nope"),
        (f"{HERE}.NotADriver", "NotADriver is not a ComputeDriver subclass"),
        ("driver.HostVersions", "HostVersions is not a ComputeDriver"),
        ("driver.ComputeDriver", "ComputeDriver is abstract (destroy,"),
    ],
)
def test_wrong_names_are_config_errors_naming_the_option(
    name: str, reason: str
) -> None:
    with pytest.raises(exception.InvalidConfigOption) as err:
        loader.load_compute_driver(name, _conf())
    assert err.value.option == "[DEFAULT] compute_driver"
    message = str(err.value)
    assert message.startswith(f"Invalid [DEFAULT] compute_driver: {name!r}")
    assert reason in message
    assert "\n" not in message


def test_a_broken_import_inside_the_driver_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "brokendrv.py").write_text("import nosuchdependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(exception.InvalidConfigOption) as err:
        loader.driver_class("brokendrv.Driver")
    assert "importing brokendrv failed" in str(err.value)
    assert "nosuchdependency" in str(err.value)


def test_the_option_can_be_set(tmp_path: Path) -> None:
    path = tmp_path / "sriovirt.conf"
    path.write_text(f"[DEFAULT]\ncompute_driver = {HERE}.DottedDriver\n")
    conf = _conf("--config-file", str(path))
    driver = loader.load_compute_driver(conf.compute_driver, conf)
    assert driver.nodename() == "dotted"
