"""Several compute hosts in one process, sharing a database and Placement.

:func:`open_hosts` turns :class:`HostSetup` values (a host name, its
driver, its whitelist) into one started
:class:`~sriovirt.compute.manager.ComputeManager` per host, each with a
:class:`~sriovirt.compute.placement_report.PlacementReporter` that has
reported the host's provider tree once; the registry (host name ->
manager) is what :class:`~sriovirt.compute.conductor.SchedulerManager`
hands boots to.  Tests, the embedded default of ``sriovirt server
boot`` (one host) and benchmarks build their hosts this way.

This module must not read configuration nor pick hosts: drivers,
database, network and Placement come in built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sriovirt.compute.journal import InstanceLocks
from sriovirt.compute.manager import ComputeManager, StepHook
from sriovirt.compute.placement_report import PlacementReporter
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.db import api as db_api
from sriovirt.network import api as network_api
from sriovirt.pci.tracker import DeviceMatcher
from sriovirt.placement.allocations import AllocationClient
from sriovirt.placement.report import ReportClient
from sriovirt.virt.driver import ComputeDriver


@dataclass(frozen=True, slots=True)
class HostSetup:
    """One host to run: its name, driver (node name) and whitelist."""

    host: str
    driver: ComputeDriver
    whitelist: DeviceMatcher


def open_hosts(
    setups: Sequence[HostSetup],
    *,
    database: db_api.Database,
    network: network_api.NetworkAPI,
    placement_adapter: Any,
    placement_endpoint: str,
    locks_dir: Path,
    start: bool = True,
    on_step: StepHook | None = None,
) -> dict[str, ComputeManager]:
    """host name -> its manager, tracker started (``start``) or loaded
    and refreshed, its tree reported to Placement (an outage is logged:
    the next report catches up)."""
    managers: dict[str, ComputeManager] = {}
    for setup in setups:
        rt = ResourceTracker(
            setup.host, setup.driver, database, setup.whitelist
        )
        if start:
            rt.start()
        else:
            rt.load_and_refresh()
        reporter = PlacementReporter(
            rt, ReportClient(placement_adapter, placement_endpoint)
        )
        reporter.report()
        managers[setup.host] = ComputeManager(
            driver=setup.driver,
            resource_tracker=rt,
            network=network,
            database=database,
            host=setup.host,
            locks=InstanceLocks(locks_dir),
            on_step=on_step,
            reporter=reporter,
            allocations=AllocationClient(
                placement_adapter, placement_endpoint
            ),
        )
    return managers
