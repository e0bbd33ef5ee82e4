"""``sriovirt config check``: the findings and the exit status.

Exit status 1 when any finding is an error; a database that is empty or
behind is an error (every ``pci`` command refuses to run on it) whose
message says the fix.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from .conftest import WriteConf, sriovirt, sriovirt_manage


def _check(
    conf: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    status = sriovirt(
        "--config-file", str(conf), "config", "check", "--format", "json"
    )
    return status, json.loads(capsys.readouterr().out)


def _database(report: dict[str, Any]) -> dict[str, Any]:
    (finding,) = [
        f for f in report["findings"] if f["option"] == "[database] connection"
    ]
    return finding


def test_synced_database_is_ok_and_exit_0(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    status, report = _check(conf, capsys)
    assert status == 0
    assert (report["errors"], report["warnings"]) == (0, 0)
    assert _database(report)["severity"] == "ok"
    assert _database(report)["source"] == str(conf)
    assert {f["severity"] for f in report["findings"]} == {"ok"}


def test_empty_database_is_an_error_with_the_fix(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    status, report = _check(conf, capsys)
    assert status == 1
    assert report["errors"] == 1
    finding = _database(report)
    assert finding["severity"] == "error"
    assert "is at revision <none>" in finding["message"]
    assert finding["message"].endswith("run 'sriovirt-manage db sync'")


def test_database_behind_is_an_error(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert (
        sriovirt_manage(
            "--config-file", str(conf), "db", "sync", "--revision", "0001"
        )
        == 0
    )
    status, report = _check(conf, capsys)
    assert status == 1
    finding = _database(report)
    assert finding["severity"] == "error"
    assert "is at revision 0001" in finding["message"]
    assert finding["message"].endswith("run 'sriovirt-manage db sync'")


def test_text_output_and_counts(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf(
        'device_spec = {"address": "0000:82:00.0", "physical_netwrok": "x"}',
        'device_spec = {"vendor_id": 8086}',
    )
    capsys.readouterr()
    assert sriovirt("--config-file", str(conf), "config", "check") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == (f"configuration {conf}: 2 error(s), 1 warning(s)")
    severities = [line.split()[0] for line in lines[:-1]]
    assert severities.count("ERROR") == 2
    assert severities.count("WARNING") == 1
    assert any(
        line.startswith(f"ERROR    [database] connection ({conf}): ")
        for line in lines
    )


def test_warnings_alone_exit_0(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf(
        'device_spec = {"address": "0000:82:00.0", "physical_netwrok": "x"}'
    )
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    status, report = _check(conf, capsys)
    assert status == 0
    assert (report["errors"], report["warnings"]) == (0, 1)


def test_bad_option_value_and_unreachable_libvirt(
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "gone.xml"
    conf = write_conf(
        "[libvirt]",
        f"connection_uri = test://{missing}",
        "rx_queue_size = 100",
    )
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    status, report = _check(conf, capsys)
    assert status == 1
    errors = {
        f["option"]: f["message"]
        for f in report["findings"]
        if f["severity"] == "error"
    }
    assert set(errors) == {
        "[libvirt] rx_queue_size",
        "[libvirt] connection_uri",
    }
    assert errors["[libvirt] rx_queue_size"].startswith(
        "invalid value '100': "
    )
    assert str(missing) in errors["[libvirt] connection_uri"]


def test_empty_host_and_connection_uri_are_errors(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    # An empty URI would make libvirt guess a hypervisor; an empty host
    # would store a compute node named "".
    conf = write_conf("[DEFAULT]", "host =", "[libvirt]", "connection_uri =")
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    status, report = _check(conf, capsys)
    assert status == 1
    errors = {
        f["option"]: (f["source"], f["message"])
        for f in report["findings"]
        if f["severity"] == "error"
    }
    assert errors == {
        "[DEFAULT] host": (
            str(conf),
            "Invalid configuration: [DEFAULT] host '' (from "
            f"{conf}) is not a host name: it must be non-empty, without "
            "spaces or control characters, as Placement and Neutron "
            "(binding:host_id) know the host",
        ),
        "[libvirt] connection_uri": (
            str(conf),
            "Invalid configuration: [libvirt] connection_uri '' (from "
            f"{conf}) is empty; give a libvirt URI such as qemu:///system",
        ),
    }


def test_host_is_reported(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    _status, report = _check(conf, capsys)
    (host,) = [
        f for f in report["findings"] if f["option"] == "[DEFAULT] host"
    ]
    assert (host["severity"], host["message"]) == ("ok", "unit-host")


def test_every_bad_alias_is_reported_not_only_the_first(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf(
        'alias = {"name": "a:b", "vendor_id": "8086", "product_id": "10ed"}',
        'alias = {"name": "ok", "vendor_id": "8086", "product_id": "10ed"}',
        'alias = {"name": "c,d", "vendor_id": "8086", "product_id": "10ed"}',
        'alias = {"name": "x", "vendor_id": "8086", "vendor_id": "10ed",'
        ' "product_id": "10ed"}',
    )
    _status, report = _check(conf, capsys)
    aliases = [f for f in report["findings"] if f["option"] == "[pci] alias"]
    errors = [f["message"] for f in aliases if f["severity"] == "error"]
    warnings = [f["message"] for f in aliases if f["severity"] == "warning"]
    assert len(errors) == 2
    assert '"a:b"' in errors[0] and '"c,d"' in errors[1]
    assert "entry 1" in errors[0] and "entry 3" in errors[1]
    assert len(warnings) == 1 and "vendor_id" in warnings[0]
    # Every line of the report is one line.
    assert all("\n" not in m for m in errors + warnings)


def _placement(report: dict[str, Any]) -> dict[str, Any]:
    (finding,) = [
        f for f in report["findings"] if f["option"] == "[placement]"
    ]
    return finding


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ((), "embedded: openstack-placement in-process on "),
        (
            ("[placement]", "endpoint_override = http://127.0.0.1:8778"),
            "remote, noauth2: http://127.0.0.1:8778",
        ),
        (
            ("[placement]", "auth_type = password"),
            "remote through Keystone: auth_type password, endpoint from "
            "the catalog",
        ),
    ],
)
def test_placement_mode_is_reported_without_contacting_it(
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    says: str,
) -> None:
    conf = write_conf(*extra)
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    status, report = _check(conf, capsys)
    assert status == 0
    finding = _placement(report)
    assert finding["severity"] == "ok"
    assert finding["message"].startswith(says)
    # Nothing loaded: no embedded database made by a check.
    assert not (conf.parent / "state" / "placement.sqlite").exists()
