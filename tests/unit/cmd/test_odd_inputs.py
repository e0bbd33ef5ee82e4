"""What a new user or an attacker types: every odd input is one line
naming the value and where it came from, never a traceback."""

from __future__ import annotations

import pathlib

import pytest

from .conftest import WriteConf, sriovirt, sriovirt_manage


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- logging options that cannot be used -------------------------------------


def test_log_file_in_a_missing_directory(
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conf = write_conf()
    log_file = tmp_path / "no-such-dir" / "sriovirt.log"
    status = sriovirt(
        "--config-file", str(conf), "--log-file", str(log_file), "traits"
    )
    assert status == 2
    assert _one_line(capsys.readouterr().err) == (
        f"sriovirt: error: Cannot set up logging: [DEFAULT] log_file "
        f"{str(log_file)!r} (from the command line): No such file or "
        "directory"
    )


def test_log_dir_that_is_a_file(
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = tmp_path / "plain"
    plain.write_text("")
    conf = write_conf("[DEFAULT]", "log_file = x.log", f"log_dir = {plain}")
    assert sriovirt_manage("--config-file", str(conf), "db", "version") == 2
    assert _one_line(capsys.readouterr().err) == (
        f"sriovirt-manage: error: Cannot set up logging: [DEFAULT] log_file "
        f"{str(plain / 'x.log')!r} (from {conf}): Not a directory"
    )


def test_log_config_append_that_is_not_a_logging_config(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    status = sriovirt(
        "traits",
        "--config-file",
        str(conf),
        "--log-config-append",
        "/etc/passwd",
    )
    assert status == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(
        "sriovirt: error: Cannot set up logging: [DEFAULT] "
        "log_config_append '/etc/passwd' (from the command line): "
    ), line


def test_unknown_syslog_facility(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf(
        "[DEFAULT]", "use_syslog = true", "syslog_log_facility = bogus"
    )
    assert sriovirt("--config-file", str(conf), "traits") == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(
        "sriovirt: error: Cannot set up logging: [DEFAULT] "
        f"syslog_log_facility 'bogus' (from {conf}): syslog facility must "
        "be one of: "
    ), line


# --- arguments and values the commands must refuse ---------------------------


def test_explain_empty_address_is_refused(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert sriovirt("--config-file", str(conf), "pci", "explain", "") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err).startswith(
        "sriovirt pci explain: error: Invalid PCI address '': "
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["traits", "--connection", ""],
        ["traits", "--connection", "  "],
        ["pci", "explain", "--connection", ""],
    ],
    ids=["traits", "traits-blank", "explain"],
)
def test_empty_connection_is_refused(
    argv: list[str],
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # libvirt takes an empty URI as "guess a hypervisor": never what the
    # operator meant.
    conf = write_conf()
    assert sriovirt("--config-file", str(conf), *argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err).endswith(
        f"error: Invalid value: --connection {argv[-1]!r} is empty; give a "
        "libvirt URI such as qemu:///system"
    )


def test_empty_connection_uri_in_the_file_is_refused(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    # A configuration the command cannot use: 2, as at start-up.
    conf = write_conf("[libvirt]", "connection_uri =")
    assert sriovirt("--config-file", str(conf), "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        "sriovirt traits: error: Invalid configuration: [libvirt] "
        f"connection_uri '' (from {conf}) is empty; give a libvirt URI "
        "such as qemu:///system"
    )


@pytest.mark.parametrize(
    "host", ["", "two words", "a\x1b[2Jb"], ids=["empty", "space", "escape"]
)
def test_refresh_refuses_an_unusable_host_name(
    host: str,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An empty [DEFAULT] host stored a compute node named "".
    conf = write_conf("[DEFAULT]", f"host = {host}")
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    capsys.readouterr()
    assert sriovirt("--config-file", str(conf), "pci", "refresh") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err) == (
        "sriovirt pci refresh: error: Invalid configuration: [DEFAULT] host "
        f"{host!r} (from {conf}) is not a host name: it must be non-empty, "
        "without spaces or control characters, as Placement and Neutron "
        "(binding:host_id) know the host"
    )


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [
        (
            "%(bogus)s",
            "ValueError: Formatting field not found in record: 'bogus'",
        ),
        ("%(asctime)s %(", "ValueError: incomplete format key"),
    ],
    ids=["unknown-field", "incomplete"],
)
def test_log_format_that_cannot_format_is_refused_at_start(
    fmt: str,
    reason: str,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Found at the first warning, it printed "--- Logging error ---" and
    # a traceback in the middle of the command's output.
    conf = write_conf("[DEFAULT]", f"logging_default_format_string = {fmt}")
    assert sriovirt("--config-file", str(conf), "traits") == 2
    assert _one_line(capsys.readouterr().err).startswith(
        "sriovirt: error: Cannot set up logging: [DEFAULT] "
        f"logging_default_format_string {fmt!r} (from {conf}): it cannot "
        f"format a log line: {reason}"
    )
