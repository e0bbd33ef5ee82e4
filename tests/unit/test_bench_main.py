"""``python -m bench``: JSON on stdout, or in ``--output`` with a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.__main__ import _parser, main
from bench.nova_peer import driver
from bench.workload import INDEX_FREE


def test_output_file_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "bench.json"
    argv = ["--only", "bench_match", "--sizes", "2", "--workload"]
    argv += [INDEX_FREE, "--output", str(out), "--table"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"JSON report written to {out}" in captured.err
    assert "whitelist parse + match" in captured.err
    report = json.loads(out.read_text())
    assert list(report["bench_match"]["workloads"]) == [INDEX_FREE]
    assert report["bench_match"]["workloads"][INDEX_FREE]["2"]["matched"] == (
        512
    )


def test_json_on_stdout_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--only", "bench_match", "--sizes", "2", "--workload", INDEX_FREE]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"bench_match"}


def test_unknown_workload_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--workload", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_peer_budget_default_is_the_drivers() -> None:
    args = _parser().parse_args([])
    assert args.peer_budget == driver.DEFAULT_BUDGET_S == 480.0
    assert args.workload is None
    assert (args.output, args.table) == (None, False)
