"""Both commands as cliff applications: every output format, ``-c``,
``--sort-column``, global options before or after the command, and one
exit-status policy with one-line errors."""

from __future__ import annotations

import csv
import io
import json
import pathlib
from typing import Any

import pytest
import yaml
from cliff import command, commandmanager

from sriovirt.cmd import pci

from .conftest import WriteConf, sriovirt, sriovirt_manage

FORMATS = ("table", "json", "yaml", "csv", "value")


@pytest.fixture
def stored(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> pathlib.Path:
    """A configuration whose database holds the small host's devices."""
    path = write_conf()
    assert sriovirt_manage("--config-file", str(path), "db", "sync") == 0
    assert sriovirt("--config-file", str(path), "pci", "refresh") == 0
    capsys.readouterr()
    return path


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert sriovirt(*argv) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# --- lists -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_pci_list_in_every_format(
    fmt: str, stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _out(capsys, "--config-file", str(stored), "pci", "list", "-f", fmt)
    as_json = json.loads(
        _out(capsys, "--config-file", str(stored), "pci", "list", "-f", "json")
    )
    assert len(as_json) == 5
    assert [list(d) for d in as_json] == [list(pci.DEVICE_COLUMNS)] * 5
    if fmt == "yaml":
        assert yaml.safe_load(out) == as_json
    elif fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(out)))
        assert header == list(pci.DEVICE_COLUMNS)
        assert [r[0] for r in rows] == [d["address"] for d in as_json]
    elif fmt == "value":
        assert [line.split()[0] for line in out.splitlines()] == [
            d["address"] for d in as_json
        ]
    elif fmt == "table":
        assert out.splitlines()[-1] == "5 devices on compute node unit-host"
        assert "| 0000:81:10.6 | type-VF " in out


def test_columns_select_the_fields(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config-file", str(stored), "pci", "list", "-f", "json"]
    doc = json.loads(_out(capsys, *argv, "-c", "address", "-c", "status"))
    assert doc[0] == {"address": "0000:81:00.0", "status": "available"}
    assert sriovirt(*argv, "-c", "adress") == 2
    assert _one_error(capsys) == (
        "sriovirt pci list: error: Invalid command line: -c adress: no such "
        f"column; the columns are {', '.join(pci.DEVICE_COLUMNS)}"
    )


@pytest.mark.parametrize(
    ("order", "counts"),
    [("--sort-ascending", [1, 4]), ("--sort-descending", [4, 1])],
)
def test_sort_column(
    order: str,
    counts: list[int],
    stored: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--config-file", str(stored), "pci", "pools", "-f", "json"]
    pools = json.loads(_out(capsys, *argv, "--sort-column", "count", order))
    assert [p["count"] for p in pools] == counts
    # The pools' JSON shape as the scheduler reads it.
    assert pools[0].keys() == {
        "vendor_id",
        "product_id",
        "numa_node",
        "tags",
        "count",
    }


def test_addresses_sort_descending(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _out(
        capsys,
        *("--config-file", str(stored), "pci", "list", "-f", "value"),
        *("-c", "address", "--sort-column", "address", "--sort-descending"),
    )
    addresses = out.split()
    assert addresses == sorted(addresses, reverse=True) and len(addresses) == 5


# --- documents ---------------------------------------------------------------

DOCUMENTS = [
    pytest.param(("traits",), id="traits"),
    pytest.param(("traits", "show"), id="traits-show"),
    pytest.param(("pci", "explain"), id="explain"),
    pytest.param(("pci", "explain", "0000:81:10.2"), id="explain-one"),
    pytest.param(("config", "check"), id="config-check"),
    pytest.param(("pci", "refresh"), id="refresh"),
]


@pytest.mark.parametrize("fmt", ["json", "yaml", "value", "shell", "table"])
@pytest.mark.parametrize("argv", DOCUMENTS)
def test_documents_in_every_format(
    argv: tuple[str, ...],
    fmt: str,
    stored: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conf = ("--config-file", str(stored))
    out = _out(capsys, *conf, *argv, "-f", fmt)
    assert out
    if fmt != "yaml":
        return
    doc: dict[str, Any] = yaml.safe_load(out)
    as_json = json.loads(_out(capsys, *conf, *argv, "-f", "json"))
    assert doc.keys() == as_json.keys()
    if argv != ("pci", "refresh"):  # its timings differ between runs
        assert doc == as_json


def test_document_fields_with_c(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = ("--config-file", str(stored))
    doc = json.loads(
        _out(capsys, *conf, "traits", "-c", "hypervisor", "-f", "json")
    )
    assert doc == {"hypervisor": "TEST"}
    table = _out(capsys, *conf, "traits", "-c", "hypervisor")
    assert "| hypervisor | TEST  |" in table.splitlines()


def test_traits_show_is_traits(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = ("--config-file", str(stored))
    assert _out(capsys, *conf, "traits") == _out(
        capsys, *conf, "traits", "show"
    )


def test_config_check_text_is_its_readable_form(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = ("--config-file", str(stored))
    text = _out(capsys, *conf, "config", "check", "--format", "text")
    assert text == _out(capsys, *conf, "config", "check")
    assert text.splitlines()[-1].startswith(f"configuration {stored}: 0 ")


def test_config_check_errors_exit_1_in_every_format(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    # The database is not synced: an error found, not a failure to run.
    conf = ("--config-file", str(write_conf()))
    for fmt in ("text", "json", "yaml"):
        assert sriovirt(*conf, "config", "check", "-f", fmt) == 1
        out = capsys.readouterr().out
        if fmt == "text":
            assert "run 'sriovirt-manage db sync'" in out
        else:
            assert yaml.safe_load(out)["errors"] == 1


# --- global options before or after the command -----------------------------


def test_format_before_the_command(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    after = _out(capsys, "pci", "pools", "--config-file", str(stored))
    for fmt in (["--format", "json"], ["-f", "json"], ["--format=json"]):
        out = _out(capsys, *fmt, "pci", "pools", "--config-file", str(stored))
        assert [p["count"] for p in json.loads(out)] == [4, 1]
    assert after.splitlines()[-1] == "2 pools, 5 free devices"


def test_debug_after_the_command(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        sriovirt("pci", "list", "--debug", "--config-file", str(stored)) == 0
    )
    assert " DEBUG " in capsys.readouterr().err


def test_manage_options_after_the_command(
    stored: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sriovirt_manage("db", "version", "--config-file", str(stored)) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and " is at 0" in out


# --- usage errors, help ------------------------------------------------------

USAGE = [
    pytest.param(
        sriovirt, [], "sriovirt: error: a command is wanted", id="none"
    ),
    pytest.param(
        sriovirt,
        ["nope", "x", "-f", "json"],
        "sriovirt: error: 'nope x' is not a command",
        id="unknown",
    ),
    pytest.param(
        sriovirt,
        ["pci"],
        "sriovirt: error: 'pci' is not a command; did you mean pci explain "
        "or pci list or pci pools or pci refresh?",
        id="group-only",
    ),
    pytest.param(
        sriovirt,
        ["--bogus", "traits"],
        "sriovirt: error: unknown option '--bogus'",
        id="unknown-global-option",
    ),
    pytest.param(
        sriovirt,
        ["traits", "--bogus"],
        "sriovirt traits: error: unrecognized arguments: --bogus",
        id="unknown-option",
    ),
    pytest.param(
        sriovirt,
        ["pci", "list", "-f", "xml"],
        "sriovirt pci list: error: argument -f/--format: invalid choice: "
        "'xml'",
        id="bad-format",
    ),
    pytest.param(
        sriovirt,
        ["help", "nope"],
        "sriovirt help: error: Invalid command line: 'nope' is not a command",
        id="help-unknown",
    ),
    pytest.param(
        sriovirt_manage,
        ["db"],
        "sriovirt-manage: error: 'db' is not a command; did you mean db sync "
        "or db version?",
        id="manage-group-only",
    ),
    pytest.param(
        sriovirt_manage,
        [],
        "sriovirt-manage: error: a command is wanted",
        id="manage-none",
    ),
]


@pytest.mark.parametrize(("run", "argv", "start"), USAGE)
def test_usage_errors_are_one_line_and_exit_2(
    run: Any,
    argv: list[str],
    start: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(*argv) == 2
    assert _one_error(capsys).startswith(start)


def test_command_errors_are_one_line_and_exit_1(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sriovirt("--config-file", str(write_conf()), "pci", "pools") == 1
    line = _one_error(capsys)
    assert line.startswith("sriovirt pci pools: error: Database ")
    assert line.endswith("run 'sriovirt-manage db sync'")


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["--help"], "pci refresh"),
        (["-h"], "config check"),
        (["pci", "list", "--help"], "--sort-column"),
        (["pci", "explain", "-h"], "--connection URI"),
        (["help", "pci", "explain"], "--host-xml"),
        (["--version"], "sriovirt "),
    ],
)
def test_help_exits_0(
    argv: list[str], wanted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sriovirt(*argv) == 0
    assert wanted in capsys.readouterr().out


# --- the entry points ------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "names"),
    [
        (
            "sriovirt.cli",
            {
                "config check",
                "pci explain",
                "pci refresh",
                "pci list",
                "pci pools",
                "traits",
                "traits show",
                "server boot",
                "server list",
                "server show",
                "server delete",
                "compute reconcile",
                "compute list",
                "compute disable",
                "compute enable",
                "compute ping",
                "placement sync",
                "placement show",
            },
        ),
        ("sriovirt.manage", {"db sync", "db version"}),
    ],
)
def test_commands_are_entry_points(namespace: str, names: set[str]) -> None:
    manager = commandmanager.CommandManager(namespace)
    assert {name for name, _ in manager} == names
    for _name, entry_point in manager:
        factory = entry_point.load()
        assert issubclass(factory, command.Command)
        assert factory.__doc__, factory
