"""Where the commands' log lines go: the log file gets INFO, standard
error only WARNING and above (the command prints the outcome itself),
``--debug`` puts everything on standard error."""

from __future__ import annotations

import pathlib

import pytest

from .conftest import SPEC, WriteConf, sriovirt, sriovirt_manage

STORED = "INFO sriovirt.compute.resource_tracker [-] Stored PCI state"


def _synced(write_conf: WriteConf, *extra: str) -> pathlib.Path:
    conf = write_conf(*extra)
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    return conf


def test_refresh_prints_no_log_lines_by_default(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = _synced(write_conf)
    capsys.readouterr()
    assert sriovirt("--config-file", str(conf), "pci", "refresh") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "stored: 5 inserted" in captured.out
    assert "INFO" not in captured.out


def test_db_sync_prints_its_line_and_no_log(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 1
    assert "upgraded from <none> to" in captured.out


@pytest.mark.parametrize("where", ["option", "file"])
def test_log_file_gets_info_and_stderr_stays_quiet(
    where: str,
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_file = tmp_path / "sriovirt.log"
    if where == "file":
        conf = _synced(write_conf, "[DEFAULT]", f"log_file = {log_file}")
        argv = ["--config-file", str(conf), "pci", "refresh"]
    else:
        conf = _synced(write_conf)
        argv = [
            "pci",
            "refresh",
            "--config-file",
            str(conf),
            "--log-file",
            str(log_file),
        ]
    capsys.readouterr()
    assert sriovirt(*argv) == 0
    assert capsys.readouterr().err == ""
    assert STORED in log_file.read_text()


def test_debug_logs_to_stderr(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = _synced(write_conf)
    capsys.readouterr()
    assert (
        sriovirt("--config-file", str(conf), "pci", "refresh", "--debug") == 0
    )
    captured = capsys.readouterr()
    assert STORED in captured.err
    assert "stored: 5 inserted" in captured.out


def test_deprecated_option_warning_still_shows(
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The operator must learn that the old name will go away, even with
    # the INFO lines gone from the terminal.
    conf = write_conf()
    conf.write_text(
        conf.read_text().replace("device_spec =", "passthrough_whitelist =")
    )
    assert SPEC in conf.read_text()
    assert sriovirt("--config-file", str(conf), "pci", "explain") == 0
    captured = capsys.readouterr()
    warnings = [
        line
        for line in captured.err.splitlines()
        if " WARNING " in line and "passthrough_whitelist" in line
    ]
    assert warnings, captured.err
    assert all("deprecated" in line for line in warnings), warnings
    assert "5 of 11 devices whitelisted" in captured.out
