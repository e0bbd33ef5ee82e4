"""Loading a command's arguments and configuration files
(sriovirt.cmd.startup): every unreadable file, bad value or misplaced
option becomes one line naming the file and line, exit status 2."""

from __future__ import annotations

import os
import pathlib

import pytest

from sriovirt import exception
from sriovirt.cmd import startup

from .conftest import WriteConf, sriovirt, sriovirt_manage

COMMANDS = [
    pytest.param((sriovirt, "sriovirt", ("traits",)), id="sriovirt"),
    pytest.param(
        (sriovirt_manage, "sriovirt-manage", ("db", "version")),
        id="sriovirt-manage",
    ),
]


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_config_file_that_is_a_directory(
    command: tuple, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, prog, action = command
    assert run("--config-file", str(tmp_path), *action) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err) == (
        f"{prog}: error: Cannot use configuration file {tmp_path}: it is "
        "a directory; a file is wanted (named by --config-file)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_config_file_with_a_byte_that_is_not_utf8(
    command: tuple,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, prog, action = command
    conf = write_conf()
    conf.write_bytes(conf.read_bytes() + b"# caf\xe9\n")
    line_no = conf.read_bytes().count(b"\n")
    assert run("--config-file", str(conf), *action) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"{prog}: error: Cannot use configuration file {conf}: line "
        f"{line_no} is not UTF-8 text (byte 0xe9); save the file as UTF-8 "
        "(named by --config-file)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_invalid_boolean_names_file_and_line(
    command: tuple,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, prog, action = command
    conf = tmp_path / "debug.conf"
    conf.write_text("[DEFAULT]\n# why not\ndebug = maybe\n")
    assert run("--config-file", str(conf), *action) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(
        f"{prog}: error: Invalid value 'maybe' of [DEFAULT] debug in "
        f"{conf} line 3: "
    )
    assert "maybe" in line.partition(" line 3: ")[2]


@pytest.mark.parametrize("command", COMMANDS)
def test_last_file_wins_for_the_value_checked(
    command: tuple,
    tmp_path: pathlib.Path,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # oslo.config takes the last file's value: an earlier bad value that
    # a later file overrides is no error (as oslo.config itself decides).
    run, _prog, action = command
    early = tmp_path / "early.conf"
    early.write_text("[DEFAULT]\ndebug = maybe\n")
    late = write_conf("[DEFAULT]", "debug = false")
    status = run(
        "--config-file", str(early), "--config-file", str(late), *action
    )
    assert status == 0, capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_config_file(
    command: tuple, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, prog, action = command
    missing = tmp_path / "nope.conf"
    assert run("--config-file", str(missing), *action) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"{prog}: error: Cannot use configuration file {missing}: it does "
        "not exist (named by --config-file)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_config_dir_that_is_a_file(
    command: tuple,
    write_conf: WriteConf,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, prog, action = command
    conf = write_conf()
    assert run("--config-dir", str(conf), *action) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"{prog}: error: Cannot use configuration file {conf}: --config-dir "
        "wants a directory of *.conf files; this is a file"
    )


def test_config_dir_files_are_checked_too(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    confd = tmp_path / "sriovirt.conf.d"
    confd.mkdir()
    (confd / "10-bad.conf").write_text("debug = true\n")
    (confd / "README").write_text("not read: not *.conf\n\xff")
    assert sriovirt("--config-dir", str(confd), "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        f"sriovirt: error: Cannot use configuration file {confd}/10-bad.conf"
        ": line 1: a value before the first [section]: 'debug' (named by "
        f"--config-dir {confd})"
    )


def test_unreadable_config_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, for whom chmod 000 changes nothing: fake the
    # refusal the way the kernel gives it.
    conf = tmp_path / "secret.conf"
    conf.write_text("[DEFAULT]\n")
    real_open = open

    def refuse(path: object, *args: object, **kwargs: object) -> object:
        if str(path) == str(conf):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(exception.ConfigFileError) as caught:
        startup.read_file(str(conf), "--config-file", {})
    assert str(caught.value) == (
        f"Cannot use configuration file {conf}: it cannot be read: "
        "Permission denied (named by --config-file)"
    )


def test_parse_error_names_the_line(tmp_path: pathlib.Path) -> None:
    conf = tmp_path / "broken.conf"
    conf.write_text("[DEFAULT]\nhost = a\n[pci\n")
    with pytest.raises(exception.ConfigFileError) as caught:
        startup.read_file(str(conf), "--config-file", {})
    assert str(caught.value) == (
        f"Cannot use configuration file {conf}: line 3: Invalid section "
        "(must end with ]): '[pci' (named by --config-file)"
    )


def test_assignments_keep_their_line(tmp_path: pathlib.Path) -> None:
    conf = tmp_path / "lines.conf"
    conf.write_text(
        "[default]\n\nuse_stderr = a\n  continued\n[PCI]\nalias = {}\n"
    )
    values: startup.FileValues = {}
    startup.read_file(str(conf), "--config-file", values)
    # oslo.config takes only "DEFAULT" as the default section and
    # lower-cases the others; so do we.
    assert values == {
        ("default", "use_stderr"): [
            startup.Assignment(str(conf), 3, "a\ncontinued")
        ],
        ("pci", "alias"): [startup.Assignment(str(conf), 6, "{}")],
    }


def test_non_cli_logging_option_is_checked_before_use(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    # log.setup reads use_stderr before any action runs: a bad value
    # there was a traceback.
    conf = write_conf("[DEFAULT]", "use_stderr = sometimes")
    assert sriovirt("--config-file", str(conf), "traits") == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(
        "sriovirt: error: Invalid value 'sometimes' of [DEFAULT] use_stderr "
        f"in {conf} line 11: "
    ), line


# --- global options before or after the subcommand --------------------------


ARGV = [
    pytest.param(
        ["pci", "list", "--config-file", "F", "--debug"],
        ["--config-file", "F", "--debug", "pci", "list"],
        id="globals-after",
    ),
    pytest.param(
        ["--format", "json", "pci", "list", "--config-file=F"],
        ["--config-file=F", "pci", "list", "--format", "json"],
        id="format-before",
    ),
    pytest.param(
        ["--format=json", "-d", "traits", "--nodebug", "--log-file", "x"],
        ["-d", "--nodebug", "--log-file", "x", "traits", "--format=json"],
        id="attached-values-and-flags",
    ),
    pytest.param(
        [
            "pci",
            "explain",
            "--host-xml",
            "h.xml",
            "0000:81:00.0",
            "--config-dir",
            "d",
        ],
        [
            "--config-dir",
            "d",
            "pci",
            "explain",
            "--host-xml",
            "h.xml",
            "0000:81:00.0",
        ],
        id="action-options-stay",
    ),
    pytest.param(
        ["pci", "explain", "--", "--debug"],
        ["pci", "explain", "--", "--debug"],
        id="after-double-dash",
    ),
    pytest.param(
        ["pci", "list", "--format", "json"],
        ["pci", "list", "--format", "json"],
        id="already-in-place",
    ),
]


@pytest.mark.parametrize(("argv", "expected"), ARGV)
def test_normalise_argv(argv: list[str], expected: list[str]) -> None:
    assert startup.normalise_argv(argv) == expected


def test_global_options_after_the_subcommand_work(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert (
        sriovirt("--format", "json", "traits", "--config-file", str(conf)) == 0
    )
    assert '"COMPUTE_NET_VIRTIO_PACKED"' in capsys.readouterr().out
    assert sriovirt_manage("db", "version", "--config-file", str(conf)) == 0
    assert "is at <none> (empty database)" in capsys.readouterr().out


def test_usage_errors_exit_2_in_both_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for run, argv in (
        (sriovirt, ["nope"]),
        (sriovirt, ["pci", "list", "--format", "xml"]),
        (sriovirt_manage, ["nope"]),
        (sriovirt_manage, ["db"]),
    ):
        assert run(*argv) == 2, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert "error: " in err.splitlines()[-1]


def test_relative_config_file_is_named_absolute(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "rel.conf").write_bytes(b"[DEFAULT]\nhost = \xff\n")
    monkeypatch.chdir(tmp_path)
    assert sriovirt("--config-file", "rel.conf", "traits") == 2
    assert f"configuration file {tmp_path}/rel.conf: line 2 " in (
        capsys.readouterr().err
    )


def test_endless_device_as_config_file_does_not_hang(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # /dev/zero never ends: reading it "as a file" hung the command.
    assert sriovirt("--config-file", "/dev/zero", "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        "sriovirt: error: Cannot use configuration file /dev/zero: it is "
        "not a regular file (a device, pipe or socket) (named by "
        "--config-file)"
    )


def test_pipe_as_config_file_is_refused_not_read_as_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `--config-file <(cat f)`: a pipe can be read once; the command
    # would have run on an empty configuration.
    read_end, write_end = os.pipe()
    os.write(write_end, b"[DEFAULT]\nhost = piped\n")
    os.close(write_end)
    try:
        path = f"/dev/fd/{read_end}"
        assert sriovirt("--config-file", path, "traits") == 2
    finally:
        os.close(read_end)
    assert "it is not a regular file" in capsys.readouterr().err


def test_dev_null_is_an_empty_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sriovirt("--config-file", os.devnull, "traits") == 0
    assert "COMPUTE_NET_VIRTIO_PACKED" in capsys.readouterr().out


def test_oversized_config_file_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.conf"
    with big.open("wb") as out:
        out.truncate(startup.MAX_CONFIG_BYTES + 1)
    assert sriovirt("--config-file", str(big), "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        f"sriovirt: error: Cannot use configuration file {big}: it is "
        f"{startup.MAX_CONFIG_BYTES + 1} bytes, more than the "
        f"{startup.MAX_CONFIG_BYTES} a configuration file may have (named "
        "by --config-file)"
    )


def test_empty_config_file_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert sriovirt("--config-file=", "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        "sriovirt: error: Cannot use configuration file '': an empty name "
        "(named by --config-file)"
    )


def test_byte_order_mark_is_named(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Some Windows editors start UTF-8 files with a BOM; oslo.config
    # then cannot see the first section.
    conf = tmp_path / "bom.conf"
    conf.write_bytes(b"\xef\xbb\xbf[DEFAULT]\nhost = x\n")
    assert sriovirt("--config-file", str(conf), "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        f"sriovirt: error: Cannot use configuration file {conf}: it starts "
        "with a byte order mark (BOM); save it as UTF-8 without BOM (named "
        "by --config-file)"
    )


def test_invalid_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OS_DEFAULT__USE_STDERR", "maybe")
    assert sriovirt("--config-file", os.devnull, "traits") == 2
    assert _one_line(capsys.readouterr().err) == (
        "sriovirt: error: Value for option use_stderr from environment "
        "variable OS_DEFAULT__USE_STDERR is not valid: Unexpected boolean "
        "value 'maybe'"
    )
