"""[pci] device_spec and its deprecated names: each value keeps its label.

oslo.config merges the values of ``[DEFAULT] pci_passthrough_whitelist``,
``[pci] passthrough_whitelist`` and ``[pci] device_spec`` into one list;
the whitelist must still say which option each value came from, and warn
when the deprecated names are used or mixed (issue 7, item 2.8).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from sriovirt import conf, exception
from sriovirt.conf import pci as pci_conf
from sriovirt.pci.config_entries import OptionValue
from sriovirt.pci.whitelist import Whitelist

OLD_DEFAULT = "[DEFAULT] pci_passthrough_whitelist"
OLD_PCI = "[pci] passthrough_whitelist"
NEW = "[pci] device_spec"

ALL_THREE = (
    "[DEFAULT]\n"
    'pci_passthrough_whitelist = {"vendor_id": "1111"}\n'
    "[pci]\n"
    'passthrough_whitelist = [{"vendor_id": "2222"}, {"vendor_id": 3}]\n'
    'device_spec = {"vendor_id": "4444"}\n'
    'device_spec = {"vendor_id": "5555", "physical_netwrok": "p"}\n'
)


def load(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    ini = tmp_path / "sriovirt.conf"
    ini.write_text(text)
    c = cfg.ConfigOpts()
    conf.register_opts(c)
    c(["--config-file", str(ini)], project="sriovirt")
    return c


def test_each_value_is_labelled_with_its_option(tmp_path: Path) -> None:
    c = load(tmp_path, ALL_THREE)
    assert pci_conf.device_spec_values(c) == [
        OptionValue(OLD_DEFAULT, '{"vendor_id": "1111"}'),
        OptionValue(OLD_PCI, '[{"vendor_id": "2222"}, {"vendor_id": 3}]'),
        OptionValue(NEW, '{"vendor_id": "4444"}'),
        OptionValue(NEW, '{"vendor_id": "5555", "physical_netwrok": "p"}'),
    ]


def test_errors_name_the_option_the_value_came_from(tmp_path: Path) -> None:
    values = pci_conf.device_spec_values(load(tmp_path, ALL_THREE))
    errors, warnings = Whitelist.option_problems(values)
    assert [str(e) for e in errors] == [
        f"Invalid {OLD_PCI}: entry 3 (item 2 of value 1) "
        '{"vendor_id": 3}: vendor_id: expected a hex string of up to 4 '
        'digits like "8086" or "*", got the JSON number 3'
    ]
    assert isinstance(errors[0], exception.InvalidDeviceSpecEntry)
    assert errors[0].option == OLD_PCI
    # A typo in the second device_spec line: entry 5, value 2 of its own
    # option (not "value 4" of a list the operator never wrote).
    assert any(w.startswith(f"{NEW}: entry 5 (value 2) ") for w in warnings), (
        warnings
    )
    with pytest.raises(exception.InvalidDeviceSpec) as first:
        Whitelist.from_options(values)
    assert str(first.value) == str(errors[0])


def test_deprecated_and_mixed_names_warn(tmp_path: Path) -> None:
    text = ALL_THREE.replace(', {"vendor_id": 3}', "")
    wl = Whitelist.from_options(
        pci_conf.device_spec_values(load(tmp_path, text))
    )
    assert [s.origin.option for s in wl.entries] == [
        OLD_DEFAULT,
        OLD_PCI,
        NEW,
        NEW,
    ]
    assert [s.origin.position for s in wl.entries] == [1, 2, 3, 4]
    assert wl.warnings[:3] == [
        f"{OLD_DEFAULT} is deprecated: its value is read as {NEW} entry 1; "
        f"move it to {NEW}",
        f"{OLD_PCI} is deprecated: its value is read as {NEW} entry 2; "
        f"move it to {NEW}",
        f"{OLD_DEFAULT}, {OLD_PCI} and {NEW} are all set: oslo.config "
        "merges them in this order, so entries 1-2 of the deprecated "
        f"names come before those of {NEW} and win when both match a "
        "device",
    ]


def test_only_the_new_name_gives_no_warning(tmp_path: Path) -> None:
    c = load(tmp_path, '[pci]\ndevice_spec = {"vendor_id": "4444"}\n')
    values = pci_conf.device_spec_values(c)
    assert values == [OptionValue(NEW, '{"vendor_id": "4444"}')]
    assert Whitelist.option_problems(values) == ([], [])


def test_override_wins_over_files(tmp_path: Path) -> None:
    # An override replaces every file value, deprecated ones included.
    c = load(tmp_path, ALL_THREE)
    c.set_override("device_spec", ['{"vendor_id": "9999"}'], group="pci")
    try:
        assert pci_conf.device_spec_values(c) == [
            OptionValue(NEW, '{"vendor_id": "9999"}')
        ]
    finally:
        # The [pci] OptGroup object is shared by every ConfigOpts that
        # registers it: an override left behind leaks into other tests.
        c.clear_override("device_spec", group="pci")


def test_deprecated_names_stay_out_of_the_sample() -> None:
    # They are registered to be read, not to be documented as options.
    names = {o.name for group, opts in conf.list_opts() for o in opts}
    assert "pci_passthrough_whitelist" not in names
    assert "passthrough_whitelist" not in names
