"""``sriovirt`` and ``sriovirt-manage`` as subprocesses, as operators run
them: a configuration file in a temporary directory, the sample hosts of
``etc/sriovirt/hosts`` through libvirt's test driver, SQLite (and
PostgreSQL for the database flow).

Every run is checked for a Python traceback on stderr: errors must come
out as one readable line and an exit status.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest

from sriovirt import paths
from sriovirt.db import api
from tests.functional.db.conftest import db_url

__all__ = ["db_url"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SAMPLE_CONF = ROOT / "etc" / "sriovirt" / "sriovirt.conf"
SMALL = ROOT / "etc" / "sriovirt" / "hosts" / "small.xml"
TWO_VENDORS = ROOT / "etc" / "sriovirt" / "hosts" / "two-vendors.xml"
HOST = "cli-host"

#: The sample configuration's three entries (etc/sriovirt/sriovirt.conf).
SAMPLE_SPEC = (
    '{"address": "0000:81:00.0", "physical_network": "physnet1"}',
    '{"devname": "ens2f0", "physical_network": "physnet2", "trusted": "yes"}',
    '[{"vendor_id": "15b3", "product_id": "1018", '
    '"physical_network": "physnet3"}]',
)


def _run(
    module: str, cwd: pathlib.Path, *args: str, stdout: Any = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC), env.get("PYTHONPATH", "")) if p
    )
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def sriovirt(
    cwd: pathlib.Path, conf: pathlib.Path, *args: str, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return _run(
        "sriovirt.cmd.main", cwd, "--config-file", str(conf), *args, **kw
    )


def manage(
    cwd: pathlib.Path, conf: pathlib.Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return _run("sriovirt.cmd.manage", cwd, "--config-file", str(conf), *args)


def _write_conf(
    tmp_path: pathlib.Path,
    specs: tuple[str, ...] = SAMPLE_SPEC,
    host_xml: pathlib.Path = SMALL,
    connection: str | None = None,
) -> pathlib.Path:
    lines = [
        "[DEFAULT]",
        f"host = {HOST}",
        f"state_path = {tmp_path / 'state'}",
        "[libvirt]",
        f"connection_uri = {paths.test_driver_uri(host_xml)}",
        "[pci]",
        *(f"device_spec = {spec}" for spec in specs),
    ]
    if connection is not None:
        lines += ["[database]", f"connection = {connection}"]
    path = tmp_path / "sriovirt.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _synced_conf(tmp_path: pathlib.Path, **kw: Any) -> pathlib.Path:
    """:func:`_write_conf` with its database at the newest schema, so that
    ``config check`` reports only what a test is about."""
    conf = _write_conf(tmp_path, **kw)
    synced = manage(tmp_path, conf, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    return conf


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (libxml2 noise aside)."""
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("sriovirt")
    ]
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# --- config check ------------------------------------------------------------


def _findings(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The finding lines of ``config check`` text output."""
    return [
        line
        for line in result.stdout.splitlines()
        if not line.startswith("configuration ")
    ]


def test_config_check_passes_on_the_sample_config(
    tmp_path: pathlib.Path,
) -> None:
    # The database must be at the newest schema too (an empty one is an
    # error: every pci command would refuse to run).
    unsynced = sriovirt(tmp_path, SAMPLE_CONF, "config", "check")
    assert unsynced.returncode == 1, unsynced.stdout + unsynced.stderr
    (error,) = [
        line for line in _findings(unsynced) if line.startswith("ERROR")
    ]
    assert error.startswith(
        f"ERROR    [database] connection ({SAMPLE_CONF}): Database "
    )
    assert error.endswith("run 'sriovirt-manage db sync'")
    assert manage(tmp_path, SAMPLE_CONF, "db", "sync").returncode == 0

    result = sriovirt(tmp_path, SAMPLE_CONF, "config", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _findings(result)
    assert f"OK       [pci] device_spec ({SAMPLE_CONF}): 3 entries" in lines
    assert f"OK       [pci] alias ({SAMPLE_CONF}): 1 aliases: nvme" in lines
    uri = paths.test_driver_uri(SMALL)
    assert any(
        line.startswith(
            f"OK       [libvirt] connection_uri (default): {uri}: libvirt "
        )
        for line in lines
    ), lines
    assert not [line for line in lines if line.startswith("ERROR")]
    assert re.fullmatch(
        rf"configuration {re.escape(str(SAMPLE_CONF))}: 0 error\(s\), "
        r"\d+ warning\(s\)",
        result.stdout.splitlines()[-1],
    )


BROKEN_SPECS = [
    pytest.param(
        '{"vendor_id": "8086", ',
        'entry 2 {"vendor_id": "8086",: value: not valid JSON: ',
        id="bad-json",
    ),
    pytest.param(
        '{"vendor_id": 8086, "physical_network": "physnet1"}',
        'entry 2 {"vendor_id": 8086, "physical_network": "physnet1"}: '
        'vendor_id: expected a hex string of up to 4 digits like "8086" '
        'or "*", got the JSON number 8086',
        id="numeric-vendor-id",
    ),
    pytest.param(
        '{"address": "0000:81:00.9"}',
        "address.function: '9' in '0000:81:00.9' is above the maximum 7",
        id="function-out-of-range",
    ),
    pytest.param(
        '{"address": {"bus": "81", "slto": "00"}}',
        'address: unknown key "slto" in the address object (did you mean '
        "'slot'?)",
        id="unknown-address-key",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BROKEN_SPECS)
def test_config_check_names_the_option_file_and_entry(
    tmp_path: pathlib.Path, spec: str, message: str
) -> None:
    conf = _synced_conf(tmp_path, specs=(SAMPLE_SPEC[0], spec))
    result = sriovirt(tmp_path, conf, "config", "check")
    assert result.returncode == 1
    errors = [line for line in _findings(result) if line.startswith("ERROR")]
    assert len(errors) == 1, result.stdout
    prefix = (
        f"ERROR    [pci] device_spec ({conf}): Invalid [pci] device_spec: "
    )
    assert errors[0].startswith(prefix), errors[0]
    assert message in errors[0]
    # The other checks still ran.
    assert "OK       [pci] alias (default): 0 aliases: none" in (result.stdout)
    assert "configuration " + str(conf) + ": 1 error(s), " in result.stdout


def test_config_check_misspelt_tag_is_a_warning_with_suggestion(
    tmp_path: pathlib.Path,
) -> None:
    conf = _synced_conf(
        tmp_path,
        specs=('{"address": "0000:81:00.0", "physical_netwrok": "physnet1"}',),
    )
    result = sriovirt(tmp_path, conf, "config", "check", "--format", "json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["errors"] == 0
    spec = [
        f for f in report["findings"] if f["option"] == "[pci] device_spec"
    ]
    assert spec == [
        {
            "severity": "warning",
            "option": "[pci] device_spec",
            "source": str(conf),
            "message": '[pci] device_spec: entry 1 {"address": '
            '"0000:81:00.0", "physical_netwrok": "physnet1"}: unknown '
            "key 'physical_netwrok' is kept as a custom tag; did you mean "
            "'physical_network'?",
        },
        {
            "severity": "ok",
            "option": "[pci] device_spec",
            "source": str(conf),
            "message": "1 entries",
        },
    ]

    text = sriovirt(tmp_path, conf, "config", "check")
    assert text.returncode == 0
    assert (
        f"WARNING  [pci] device_spec ({conf}): [pci] device_spec: entry 1 "
        in text.stdout
    )
    assert "did you mean 'physical_network'?" in text.stdout


def test_config_check_reports_every_problem_at_once(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(
        tmp_path,
        (
            '{"vendor_id": 8086}',
            '{"address": "0000:82:00.0", "physical_netwrok": "physnet2"}',
            '{"product_id": "xyz"',
        ),
    )
    result = sriovirt(tmp_path, conf, "config", "check", "--format", "json")
    assert result.returncode == 1
    spec = [
        (f["severity"], f["message"].split(":", 2)[1].strip())
        for f in json.loads(result.stdout)["findings"]
        if f["option"] == "[pci] device_spec"
    ]
    assert sorted(spec) == [
        ("error", 'entry 1 {"vendor_id"'),
        ("error", 'entry 3 {"product_id"'),
        ("warning", 'entry 2 {"address"'),
    ]


def test_config_check_unreachable_libvirt_is_an_error(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(tmp_path, host_xml=tmp_path / "missing.xml")
    result = sriovirt(tmp_path, conf, "config", "check")
    assert result.returncode == 1
    (line,) = [
        line
        for line in _findings(result)
        if line.startswith("ERROR    [libvirt] connection_uri")
    ]
    assert f"({conf}): Cannot connect to libvirt at test://" in line
    assert str(tmp_path / "missing.xml") in line


def test_config_check_reports_a_bad_value_of_any_option(
    tmp_path: pathlib.Path,
) -> None:
    # Options no other check reads (nothing uses them yet) are validated
    # too: a value oslo.config rejects is an error naming option, file
    # and value, and the other checks still run.
    conf = _synced_conf(tmp_path)
    with conf.open("a") as out:
        out.write("[libvirt]\nrx_queue_size = 100\nmax_queues = 0\n")
    result = sriovirt(tmp_path, conf, "config", "check")
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in _findings(result) if line.startswith("ERROR")]
    # The reasons are oslo.config's own words.
    assert len(errors) == 2, errors
    assert errors[0].startswith(
        f"ERROR    [libvirt] rx_queue_size ({conf}): invalid value '100': "
    )
    assert errors[0].endswith("but found 100")
    assert errors[1].startswith(
        f"ERROR    [libvirt] max_queues ({conf}): invalid value '0': "
    )
    assert f"OK       [pci] device_spec ({conf}): 3 entries" in result.stdout
    assert f"configuration {conf}: 2 error(s), " in result.stdout


# --- pci explain -------------------------------------------------------------


def _cells(line: str) -> list[str]:
    """The cells of one row of a cliff (prettytable) table."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _explain_table(stdout: str) -> dict[str, tuple[str, ...]]:
    """address -> (TYPE, VENDOR:PRODUCT, NUMA, NETDEV, ENTRY, PHYSNET,
    TAGS) from the explain table."""
    header, *rows = [
        _cells(line) for line in stdout.splitlines() if line.startswith("|")
    ]
    assert header == [
        "ADDRESS",
        "TYPE",
        "VENDOR:PRODUCT",
        "NUMA",
        "NETDEV",
        "ENTRY",
        "PHYSNET",
        "TAGS",
    ]
    for cells in rows:
        assert len(cells) == 8, cells
    return {cells[0]: tuple(cells[1:]) for cells in rows}


def _why_not(stdout: str) -> dict[str, list[str]]:
    """address -> the per-entry lines printed under it."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        head = re.fullmatch(r"(\S+) \((type-\S+) [0-9a-f:]+\):", line)
        if head:
            current = blocks.setdefault(head.group(1), [])
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        else:
            current = None
    return blocks


def test_explain_table_on_the_small_sample_host(
    tmp_path: pathlib.Path,
) -> None:
    result = sriovirt(tmp_path, SAMPLE_CONF, "pci", "explain")
    assert result.returncode == 0, result.stderr
    uri = paths.test_driver_uri(SMALL)
    assert result.stdout.splitlines()[0] == (
        f"host {uri}: 11 PCI devices, 3 device_spec entries"
    )
    rows = _explain_table(result.stdout)
    assert len(rows) == 11
    assert rows["0000:3b:00.0"] == (
        "type-PCI",
        "8086:0953",
        "0",
        "-",
        "-",
        "-",
        "-",
    )
    # Entry 1 names PF 81:00.0 by address: the PF and its VFs.
    assert rows["0000:81:00.0"] == (
        "type-PF",
        "8086:10fb",
        "0",
        "ens1f0",
        "1",
        "physnet1",
        "physical_network=physnet1",
    )
    for fn in (0, 2, 4, 6):
        assert rows[f"0000:81:10.{fn}"][4:6] == ("1", "physnet1")
    # Entry 2 names PF ens2f0 by netdev: the PF and its VFs, trusted.
    for addr in ("0000:82:00.0", *(f"0000:82:10.{fn}" for fn in (0, 2, 4, 6))):
        assert rows[addr][4:] == (
            "2",
            "physnet2",
            "physical_network=physnet2,trusted=true",
        )
    # Only what is not whitelisted is explained.
    assert _why_not(result.stdout) == {
        "0000:3b:00.0": [
            "entry 1: address 0000:3b:00.0 != 0000:81:00.0",
            "entry 2: devname ens2f0 != this device's netdev (none)",
            "entry 3: vendor_id 8086 != 15b3; product_id 0953 != 1018",
        ]
    }
    assert result.stdout.splitlines()[-1] == "10 of 11 devices whitelisted"


def test_explain_table_on_two_vendors(tmp_path: pathlib.Path) -> None:
    result = sriovirt(
        tmp_path,
        SAMPLE_CONF,
        "pci",
        "explain",
        "--host-xml",
        str(TWO_VENDORS),
    )
    assert result.returncode == 0, result.stderr
    rows = _explain_table(result.stdout)
    matched = {a: r[4] for a, r in rows.items() if r[4] != "-"}
    # Only the Mellanox VFs (15b3:1018) match, by entry 3.
    assert matched == {f"0000:d8:00.{fn}": "3" for fn in (2, 3, 4, 5)}
    why = _why_not(result.stdout)
    assert set(why) == {
        "0000:5e:00.0",
        *(f"0000:5e:02.{fn}" for fn in range(4)),
        "0000:d8:00.0",
    }
    assert why["0000:d8:00.0"] == [
        "entry 1: address 0000:d8:00.0 != 0000:81:00.0",
        "entry 2: devname ens2f0 != this device's netdev (enp216s0f0)",
        "entry 3: product_id 1017 != 1018",
    ]
    assert why["0000:5e:02.1"] == [
        "entry 1: address 0000:81:00.0 is neither this device "
        "(0000:5e:02.1) nor its PF (0000:5e:00.0)",
        "entry 2: devname ens2f0 is neither this device's netdev "
        "(enp94s0f0v1) nor its PF's (enp94s0f0)",
        "entry 3: vendor_id 8086 != 15b3; product_id 154c != 1018",
    ]
    assert result.stdout.splitlines()[-1] == "4 of 10 devices whitelisted"


def test_explain_json_first_matching_entry_wins(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(
        tmp_path,
        (
            '{"devname": "enp94s0f0", "physical_network": "physnet4"}',
            '{"vendor_id": "15b3", "product_id": "*", '
            '"physical_network": "mlx"}',
            '{"address": "0000:d8:00.*", "physical_network": "never"}',
        ),
        host_xml=TWO_VENDORS,
    )
    result = sriovirt(tmp_path, conf, "pci", "explain", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["connection_uri"] == paths.test_driver_uri(TWO_VENDORS)
    assert (report["entries"], report["warnings"], report["skipped"]) == (
        3,
        [],
        [],
    )
    devices = {d["address"]: d for d in report["devices"]}
    assert len(devices) == 10
    verdicts = {
        a: (d["entry"], d["physical_network"]) for a, d in devices.items()
    }
    assert verdicts == {
        "0000:5e:00.0": (1, "physnet4"),
        **{f"0000:5e:02.{fn}": (1, "physnet4") for fn in range(4)},
        "0000:d8:00.0": (2, "mlx"),
        **{f"0000:d8:00.{fn}": (2, "mlx") for fn in (2, 3, 4, 5)},
    }
    vf = devices["0000:d8:00.3"]
    assert vf["dev_type"] == "type-VF"
    assert vf["parent_addr"] == "0000:d8:00.0"
    assert (vf["vendor_id"], vf["product_id"]) == ("15b3", "1018")
    assert vf["tags"] == {"physical_network": "mlx"}
    assert vf["explain"][1] == "entry 2: matched"
    # Entry 3 matches too, but only the first matching entry counts.
    assert vf["explain"][2] == (
        "entry 3: matches too, but entry 2 wins (first match)"
    )
    assert devices["0000:5e:02.2"]["explain"][0].startswith("entry 1: matched")


def test_explain_one_address_shows_every_entry(
    tmp_path: pathlib.Path,
) -> None:
    result = sriovirt(
        tmp_path,
        SAMPLE_CONF,
        "pci",
        "explain",
        "0000:81:10.2",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    (dev,) = json.loads(result.stdout)["devices"]
    assert dev["address"] == "0000:81:10.2"
    assert dev["explain"] == [
        "entry 1: matched (address 0000:81:00.0 is the PF of this VF)",
        "entry 2: devname ens2f0 is neither this device's netdev "
        "(ens1f0v1) nor its PF's (ens1f0)",
        "entry 3: vendor_id 8086 != 15b3; product_id 10ed != 1018",
    ]
    table = sriovirt(tmp_path, SAMPLE_CONF, "pci", "explain", "0000:81:10.2")
    assert list(_explain_table(table.stdout)) == ["0000:81:10.2"]
    assert _why_not(table.stdout)["0000:81:10.2"] == dev["explain"]
    assert table.stdout.splitlines()[-1] == "1 of 1 devices whitelisted"


def test_explain_unknown_address_fails_with_one_line(
    tmp_path: pathlib.Path,
) -> None:
    result = sriovirt(tmp_path, SAMPLE_CONF, "pci", "explain", "0000:99:00.0")
    assert result.returncode == 1
    line = _one_error_line(result)
    assert line.startswith("sriovirt pci explain: error: ")
    assert (
        f"no PCI device 0000:99:00.0 on host {paths.test_driver_uri(SMALL)}"
        " (11 devices there" in line
    )


def test_explain_malformed_address_fails_with_one_line(
    tmp_path: pathlib.Path,
) -> None:
    result = sriovirt(tmp_path, SAMPLE_CONF, "pci", "explain", "zz")
    assert result.returncode == 1
    assert _one_error_line(result) == (
        "sriovirt pci explain: error: Invalid PCI address 'zz': expected "
        "domain:bus:slot.function in hex, like 0000:81:00.1"
    )


def test_explain_missing_host_xml_fails_with_one_line(
    tmp_path: pathlib.Path,
) -> None:
    missing = tmp_path / "no-such-host.xml"
    result = sriovirt(
        tmp_path, SAMPLE_CONF, "pci", "explain", "--host-xml", str(missing)
    )
    assert result.returncode == 1
    line = _one_error_line(result)
    assert line.startswith("sriovirt pci explain: error: ")
    assert f"--host-xml '{missing}' is not a file" in line


def test_output_to_a_closed_pipe_is_not_a_traceback(
    tmp_path: pathlib.Path,
) -> None:
    """``sriovirt pci explain | head -1``: the reader went away.

    The write end handed to the command has no reader at all, so the
    first write fails with EPIPE, deterministically.
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = sriovirt(
            tmp_path, SAMPLE_CONF, "pci", "explain", stdout=write_end
        )
    finally:
        os.close(write_end)
    assert "BrokenPipeError" not in result.stderr
    assert result.returncode != 0


# --- the database flow: db sync, refresh, list, pools ----------------------


def test_commands_before_db_sync_say_to_run_it(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(tmp_path)
    for action in ("list", "pools", "refresh"):
        result = sriovirt(tmp_path, conf, "pci", action)
        assert result.returncode == 1, action
        line = _one_error_line(result)
        assert line.startswith(f"sriovirt pci {action}: error: Database ")
        assert "is at revision <none>" in line
        assert line.endswith("run 'sriovirt-manage db sync'")
    # Reading did not create the database behind the operator's back.
    assert not (tmp_path / "state" / "sriovirt.sqlite").exists()


SMALL_POOLS = [
    {
        "count": 4,
        "numa_node": 0,
        "product_id": "10ed",
        "tags": {"dev_type": "type-VF", "physical_network": "physnet1"},
        "vendor_id": "8086",
    },
    {
        "count": 4,
        "numa_node": 1,
        "product_id": "10ed",
        "tags": {
            "dev_type": "type-VF",
            "physical_network": "physnet2",
            "trusted": "true",
        },
        "vendor_id": "8086",
    },
    {
        "count": 1,
        "numa_node": 0,
        "product_id": "10fb",
        "tags": {"dev_type": "type-PF", "physical_network": "physnet1"},
        "vendor_id": "8086",
    },
    {
        "count": 1,
        "numa_node": 1,
        "product_id": "10fb",
        "tags": {
            "dev_type": "type-PF",
            "physical_network": "physnet2",
            "trusted": "true",
        },
        "vendor_id": "8086",
    },
]


def test_db_sync_refresh_list_and_pools(
    tmp_path: pathlib.Path, db_url: str
) -> None:
    conf = _write_conf(tmp_path, connection=db_url)
    synced = manage(tmp_path, conf, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    assert "upgraded from <none> to" in synced.stdout

    early = sriovirt(tmp_path, conf, "pci", "list")
    assert early.returncode == 1
    assert _one_error_line(early).endswith(
        "run `sriovirt pci refresh` or start the compute service"
    )

    first = sriovirt(tmp_path, conf, "pci", "refresh")
    assert first.returncode == 0, first.stderr
    out = first.stdout.splitlines()
    assert out[0] == (
        f"host {HOST}: 11 PCI devices on the host, 10 whitelisted and tracked"
    )
    assert out[1] == (
        "stored: 10 inserted, 0 updated, 0 deleted, pools updated"
    )
    second = sriovirt(tmp_path, conf, "pci", "refresh")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1] == (
        "stored: 0 inserted, 0 updated, 0 deleted, pools unchanged "
        "(nothing changed)"
    )
    third = sriovirt(tmp_path, conf, "pci", "refresh", "--format", "json")
    summary = json.loads(third.stdout)
    assert summary["written"] == {
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "pools_updated": False,
    }
    assert (summary["devices"], summary["tracked"]) == (11, 10)
    assert summary["released"] == summary["conflicts"] == []

    listed = sriovirt(tmp_path, conf, "pci", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    devices = {d["address"]: d for d in json.loads(listed.stdout)}
    physnet1 = ["0000:81:00.0", *(f"0000:81:10.{f}" for f in (0, 2, 4, 6))]
    physnet2 = ["0000:82:00.0", *(f"0000:82:10.{f}" for f in (0, 2, 4, 6))]
    assert sorted(devices) == physnet1 + physnet2
    assert {d["status"] for d in devices.values()} == {"available"}
    assert {d["instance_uuid"] for d in devices.values()} == {None}
    for addr in physnet1:
        assert devices[addr]["extra_info"]["physical_network"] == "physnet1"
        assert "trusted" not in devices[addr]["extra_info"]
    for addr in physnet2:
        assert devices[addr]["extra_info"]["physical_network"] == "physnet2"
        assert devices[addr]["extra_info"]["trusted"] == "true"
    assert devices["0000:82:10.4"] == {
        "address": "0000:82:10.4",
        "dev_type": "type-VF",
        "vendor_id": "8086",
        "product_id": "10ed",
        "numa_node": 1,
        "parent_addr": "0000:82:00.0",
        "status": "available",
        "instance_uuid": None,
        "request_id": None,
        "extra_info": {
            "physical_network": "physnet2",
            "trusted": "true",
            "ifname": "ens2f0v2",
            "parent_ifname": "ens2f0",
        },
    }

    pools = sriovirt(tmp_path, conf, "pci", "pools", "--format", "json")
    assert pools.returncode == 0, pools.stderr
    assert json.loads(pools.stdout) == SMALL_POOLS
    table = sriovirt(tmp_path, conf, "pci", "pools")
    assert table.stdout.splitlines()[-1] == "4 pools, 10 free devices"
    rows = [
        _cells(line)
        for line in table.stdout.splitlines()
        if line.startswith("|")
    ]
    assert rows[0] == [
        "vendor_id",
        "product_id",
        "numa_node",
        "tags",
        "count",
    ]
    assert [
        "8086",
        "10ed",
        "1",
        "dev_type=type-VF,physical_network=physnet2,trusted=true",
        "4",
    ] in rows

    # What the CLI stored is what the database API reads back.
    with api.Database(db_url) as database:
        node = database.get_compute_node(HOST, HOST)
        assert node is not None
        assert len(database.get_pci_devices(node.id)) == 10


# --- start-up: configuration files and logging ----------------------------


def test_refresh_output_has_no_log_lines_unless_debug(
    tmp_path: pathlib.Path,
) -> None:
    # Each run stores the devices for the first time, on its own
    # database, so the resource tracker has its INFO line to log.
    stored = "INFO sriovirt.compute.resource_tracker [-] Stored PCI state"
    runs = {}
    for name in ("quiet", "log-file", "debug"):
        (tmp_path / name).mkdir()
        runs[name] = _synced_conf(tmp_path / name)
    quiet = sriovirt(tmp_path, runs["quiet"], "pci", "refresh")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "stored: 10 inserted" in quiet.stdout
    assert " INFO " not in quiet.stdout

    log_file = tmp_path / "sriovirt.log"
    logged = sriovirt(
        tmp_path,
        runs["log-file"],
        "pci",
        "refresh",
        "--log-file",
        str(log_file),
    )
    assert logged.returncode == 0, logged.stderr
    assert logged.stderr == ""
    assert stored in log_file.read_text()

    debug = sriovirt(tmp_path, runs["debug"], "pci", "refresh", "--debug")
    assert debug.returncode == 0, debug.stderr
    assert stored in debug.stderr


@pytest.mark.parametrize(
    "module", ["sriovirt.cmd.main", "sriovirt.cmd.manage"]
)
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "it is a directory; a file is wanted"),
        (b"[DEFAULT]\nhost = caf\xe9\n", "line 2 is not UTF-8 text"),
        (b"[DEFAULT]\n\ndebug = maybe\n", None),
    ],
    ids=["directory", "latin-1", "debug-maybe"],
)
def test_unusable_config_file_is_one_line_exit_2(
    tmp_path: pathlib.Path,
    module: str,
    content: bytes | None,
    reason: str | None,
) -> None:
    path = tmp_path / "conf.d"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    action = ("traits",) if module.endswith("main") else ("db", "version")
    result = _run(module, tmp_path, "--config-file", str(path), *action)
    assert result.returncode == 2
    prog = "sriovirt" if module.endswith("main") else "sriovirt-manage"
    line = _one_error_line(result)
    if reason is None:
        assert line.startswith(
            f"{prog}: error: Invalid value 'maybe' of [DEFAULT] debug in "
            f"{path} line 3: "
        ), line
    else:
        assert line.startswith(
            f"{prog}: error: Cannot use configuration file {path}: {reason}"
        ), line


# --- traits ---------------------------------------------------------------


def test_traits_on_the_test_driver_say_why_not(tmp_path: pathlib.Path) -> None:
    conf = _write_conf(tmp_path)
    table = sriovirt(tmp_path, conf, "traits")
    assert table.returncode == 0, table.stderr
    assert "libvirt 9.0.0, TEST 0.0.2" in table.stdout
    row = next(
        _cells(line)
        for line in table.stdout.splitlines()
        if line.startswith("| COMPUTE_NET_VIRTIO_PACKED")
    )
    assert row == [
        "COMPUTE_NET_VIRTIO_PACKED",
        "no",
        "hypervisor test is not QEMU",
    ]

    doc = json.loads(
        sriovirt(tmp_path, conf, "traits", "--format", "json").stdout
    )
    assert doc["hypervisor"] == "TEST"
    assert doc["traits"] == {
        "COMPUTE_NET_VIRTIO_PACKED": {
            "supported": False,
            "reason": "hypervisor test is not QEMU",
        }
    }


def test_traits_on_an_unreachable_uri_is_one_line(
    tmp_path: pathlib.Path,
) -> None:
    conf = _write_conf(tmp_path)
    missing = tmp_path / "gone.xml"
    result = sriovirt(
        tmp_path,
        conf,
        "traits",
        "--connection",
        paths.test_driver_uri(missing),
    )
    assert result.returncode == 1
    line = _one_error_line(result)
    assert "Cannot connect to libvirt" in line and "gone.xml" in line
