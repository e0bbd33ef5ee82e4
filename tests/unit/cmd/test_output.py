"""Command output: aligned tables, sorted JSON, one ``--format`` option;
and the formats of the commands on the small sample host."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from sriovirt.cmd import output

from .conftest import WriteConf, sriovirt


def test_table_aligns_columns_and_strips_trailing_space() -> None:
    out = io.StringIO()
    output.table(("A", "LONGER"), [["xyz", "1"], ["", "22"]], out=out)
    assert out.getvalue().splitlines() == [
        "A    LONGER",
        "---  ------",
        "xyz  1",
        "     22",
    ]


def test_table_rows_of_the_wrong_width_are_a_bug() -> None:
    with pytest.raises(ValueError):
        output.table(("A", "B"), [["only one"]], out=io.StringIO())


def test_json_is_indented_and_sorted() -> None:
    out = io.StringIO()
    output.as_json({"b": 1, "a": [None, "é"]}, out=out)
    assert out.getvalue() == (
        '{\n  "a": [\n    null,\n    "\\u00e9"\n  ],\n  "b": 1\n}\n'
    )


@pytest.mark.parametrize(
    ("argv", "human", "expected"),
    [
        ([], "table", "table"),
        (["--format", "json"], "text", "json"),
        ([], "text", "text"),
    ],
)
def test_format_argument(argv: list[str], human: str, expected: str) -> None:
    parser = argparse.ArgumentParser()
    output.add_format_argument(parser, human=human)
    assert parser.parse_args(argv).format == expected


def test_format_argument_refuses_other_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="p")
    output.add_format_argument(parser)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--format", "yaml"])
    assert stop.value.code == 2
    assert "invalid choice: 'yaml' (choose from 'table', 'json')" in (
        capsys.readouterr().err
    )


def test_explain_table_and_json_agree(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    assert sriovirt("--config-file", str(conf), "pci", "explain") == 0
    table = capsys.readouterr().out.splitlines()
    assert (
        sriovirt(
            "--config-file", str(conf), "pci", "explain", "--format", "json"
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    rows = {line.split()[0]: line.split()[5] for line in table[3:14]}
    assert len(rows) == 11 == len(doc["devices"])
    assert rows == {
        d["address"]: "-" if d["entry"] is None else str(d["entry"])
        for d in doc["devices"]
    }
    assert table[-1] == "5 of 11 devices whitelisted"


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
