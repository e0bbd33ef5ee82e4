"""``make bench-nova``'s table: one row per workload, size and operation.

Fast and without Nova: the table is built from a made-up report of the
shape ``python -m bench --peer nova`` prints.
"""

from __future__ import annotations

from typing import Any

from bench import table
from bench.nova_peer import driver
from bench.workload import EXACT_ADDRESS, INDEX_FREE


def _ours(workload_ms: float) -> dict[str, Any]:
    return {
        "devices": 2_064,
        "total_ms": workload_ms,
        "full_sync_ms": 8.0,
        "steady_sync_ms": 4.0,
        "pools_ms": 2.0,
        "pools_json_ms": 0.05,
        "rebuilt_pools": 32,
    }


def _nova() -> dict[str, Any]:
    return {
        "devices": 2_064,
        "match_ms": 63.0,
        "full_sync_ms": 368.0,
        "steady_sync_ms": 1_358.0,
        "pools_ms": 150.0,
        "pools_json_ms": 20.0,
        "pools": 32,
    }


def _report() -> dict[str, Any]:
    ours = {
        EXACT_ADDRESS: {"8": _ours(2.1)},
        INDEX_FREE: {"8": _ours(21.0)},
    }
    report: dict[str, Any] = {
        "bench_match": {"workloads": ours},
        "bench_tracker": {
            "workloads": ours,
            "scheduling": {
                "hosts": 10_000,
                "support_total_ms": 11.0,
                "support_us_per_host": 1.1,
            },
        },
    }
    nova = {
        "workloads": {
            EXACT_ADDRESS: {"8": _nova()},
            INDEX_FREE: {"8": _nova()},
        },
        "scheduling": {"support_us_per_host": 165.0},
        "skipped": ["index_free size 32: time budget spent"],
    }
    report["nova_peer"] = {
        "figures": nova,
        "ratios": driver.compute_ratios(report, nova),
    }
    return report


def test_one_row_per_workload_size_and_operation() -> None:
    rows = table.table_rows(_report())
    assert len(rows) == 2 * len(table.OPERATIONS)
    assert [row[0] for row in rows] == [EXACT_ADDRESS] * 5 + [INDEX_FREE] * 5
    match_exact, match_free = rows[0], rows[5]
    # workload, devices, operation, ours, Nova, ratio, ns/dev x2, target
    assert match_exact == (
        EXACT_ADDRESS,
        "2,064",
        "whitelist parse + match",
        "2.10",
        "63.0",
        "30.0x",
        "1,017",
        "30,523",
        ">=20x met",
    )
    assert match_free[3:6] == ("21.0", "63.0", "3.0x")
    assert match_free[8] == ">=20x NOT met"
    steady = rows[2]
    assert steady[2:6] == ("sync, nothing changed", "4.00", "1,358", "340x")


def test_table_text_has_header_rows_and_scheduling() -> None:
    text = table.format_table(_report())
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["workload", "devices"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + 10 + 2
    assert "scheduling, one 1-VF request: sriovirt 1.10 us/host" in text
    assert "ratio 150x" in text
    assert lines[-1].startswith("skipped (time budget): index_free size 32")
    # Columns line up: every row as wide as the separator or narrower.
    width = len(lines[1])
    assert all(len(line) <= width for line in lines[:12])


def test_missing_figures_show_as_dashes() -> None:
    report = _report()
    del report["nova_peer"]["figures"]["workloads"][INDEX_FREE]
    report["nova_peer"]["figures"]["workloads"][EXACT_ADDRESS]["8"] = {
        "devices": 2_064,
        "match_ms": 63.0,
    }
    report["nova_peer"]["ratios"] = driver.compute_ratios(
        report, report["nova_peer"]["figures"]
    )
    rows = table.table_rows(report)
    full_sync = rows[1]
    assert full_sync[4:6] == ("-", "-")
    assert full_sync[7] == "-"
    assert full_sync[8] == ">=20x ?"
    # sriovirt's own figures still show for the workload Nova lacks.
    free = [row for row in rows if row[0] == INDEX_FREE]
    assert len(free) == 5
    assert free[0][3:6] == ("21.0", "-", "-")


def test_without_peer_only_sriovirt() -> None:
    report = _report()
    del report["nova_peer"]
    rows = table.table_rows(report)
    assert len(rows) == 10
    assert all(row[4] == "-" and row[5] == "-" for row in rows)
    assert "Nova - us/host" in table.format_table(report)


def test_number_formats() -> None:
    assert table.fmt_ms(None) == "-"
    assert table.fmt_ms(True) == "-"
    assert table.fmt_ms(0.0123) == "0.012"
    assert table.fmt_ms(1.234) == "1.23"
    assert table.fmt_ms(12.34) == "12.3"
    assert table.fmt_ms(27_297.4) == "27,297"
    assert table.fmt_ratio(12.04) == "12.0x"
    assert table.fmt_ratio(2_029.0) == "2,029x"
    assert table.fmt_ratio(None) == "-"
    assert table.fmt_target(99.9, 100.0) == ">=100x NOT met"
    assert table.fmt_target(100.0, 100.0) == ">=100x met"
    assert table.fmt_target(5.0, None) == ""
