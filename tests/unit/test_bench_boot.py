"""bench_boot runs, reports every figure, and refuses a wrong boot."""

from __future__ import annotations

from typing import Any

import pytest
from bench import bench_boot

from sriovirt.network.static import StaticNetwork


def test_small_run_reports_every_figure() -> None:
    report = bench_boot.run(port_counts=(1, 2), populations=(1, 3), runs=2)
    assert report["host"] == {"nics": 4, "tracked": 1024, "vfs": 1024}
    ports = report["ports"]
    population = report["population"]
    assert isinstance(ports, dict) and isinstance(population, dict)
    assert sorted(ports) == ["1", "2"] and sorted(population) == ["1", "3"]
    figure = population["3"]
    assert figure["servers_on_host"] == 3 and figure["runs"] == 2
    for what in ("boot", "delete"):
        assert 0 < figure[what]["median_ms"] <= figure[what]["p90_ms"]
        phases = figure[f"{what}_phases_ms"]
        assert set(phases) == {*bench_boot.PHASES, "other"}
        assert phases["resource_tracker"] > 0 and phases["network"] > 0
    assert figure["boot_phases_ms"]["driver"] > 0  # define + start
    assert figure["boot_over_bare"] > 0
    flat = report["flat"]
    assert isinstance(flat, dict) and flat["servers"] == [1, 3]
    assert set(flat["boot_phase_ratios"]) == {*bench_boot.PHASES, "other"}
    assert flat["boot_ratio"] > 0 and flat["delete_ratio"] > 0


def test_a_delete_that_leaves_the_port_bound_stops_the_bench(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def keeps_binding(self: StaticNetwork, port_id: str) -> dict[str, Any]:
        return self.show_port(port_id)

    monkeypatch.setattr(StaticNetwork, "unbind_port", keeps_binding)
    with pytest.raises(AssertionError, match="still bound"):
        bench_boot.run(port_counts=(1,), populations=(1,), runs=1)


def test_sizes_beyond_the_ports_file_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 8 ports"):
        bench_boot.run(port_counts=(9,))
