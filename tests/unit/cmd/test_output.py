"""Command output through cliff: cell types, column checks, and the
formats of the commands on the small sample host."""

from __future__ import annotations

import argparse
import json

import pytest

from sriovirt import cmd
from sriovirt.cmd import output

from .conftest import WriteConf, sriovirt


def cliff_table(lines: list[str]) -> list[list[str]]:
    """The cells of a cliff (prettytable) table's rows, header first."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in lines
        if line.startswith("|")
    ]


def test_nullable_shows_a_dash_and_sorts_none_last() -> None:
    values = [output.Nullable(v) for v in (1, None, 0)]
    assert [v.human_readable() for v in values] == ["1", "-", "0"]
    assert [v.machine_readable() for v in sorted(values)] == [0, 1, None]


def test_tags_are_sorted_key_value_pairs() -> None:
    tags = output.Tags({"trusted": "true", "physical_network": "p1"})
    assert tags.human_readable() == "physical_network=p1,trusted=true"
    assert tags.machine_readable() == {
        "trusted": "true",
        "physical_network": "p1",
    }
    assert output.Tags({}).human_readable() == "-"


def test_unknown_column_is_one_invalid_value() -> None:
    args = argparse.Namespace(columns=["address", "Status", "nope"])
    with pytest.raises(cmd.CommandLineError) as caught:
        output.check_columns(args, ["address", "status"])
    assert str(caught.value) == (
        "Invalid command line: -c nope: no such column; the columns are "
        "address, status"
    )


def test_explain_table_and_json_agree(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert sriovirt("--config-file", str(conf), "pci", "explain") == 0
    lines = capsys.readouterr().out.splitlines()
    header, *rows = cliff_table(lines)
    assert header[0] == "ADDRESS" and header[5] == "ENTRY"
    assert (
        sriovirt(
            "--config-file", str(conf), "pci", "explain", "--format", "json"
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    table = {row[0]: row[5] for row in rows}
    assert len(table) == 11 == len(doc["devices"])
    assert table == {
        d["address"]: "-" if d["entry"] is None else str(d["entry"])
        for d in doc["devices"]
    }
    assert lines[-1] == "5 of 11 devices whitelisted"


def test_traits_json(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert (
        sriovirt("--config-file", str(conf), "traits", "--format", "json") == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["hypervisor"] == "TEST"
    assert doc["traits"]["COMPUTE_NET_VIRTIO_PACKED"]["supported"] is False
