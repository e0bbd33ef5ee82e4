"""The compute node's report to Placement: tracker state -> provider tree.

:func:`host_tree` reads the resource tracker (compute node record, the
driver's host resources and traits, the tracked devices) through public
methods and computes the tree (:mod:`sriovirt.placement.tree`).
:class:`PlacementReporter` is what a compute service calls after each
refresh, claim or free: it sends the differences
(:class:`~sriovirt.placement.report.ReportClient`) and, when Placement
does not answer, logs it and keeps serving; the next call catches up.

This module must not speak Placement's API itself nor change the
tracker.
"""

from __future__ import annotations

import logging
import threading

from sriovirt import exception
from sriovirt.compute.resource_tracker import ResourceTracker
from sriovirt.placement import tree as provider_tree
from sriovirt.placement.report import ReportClient, SyncReport

LOG = logging.getLogger(__name__)


def host_tree(rt: ResourceTracker, host: str) -> provider_tree.ProviderTree:
    """The provider tree of ``rt``'s compute node, as it is now."""
    resources = rt.driver.host_resources()
    root = provider_tree.root_provider(
        node_uuid=rt.node.uuid,
        host=host,
        vcpus=resources.vcpus,
        memory_mb=resources.memory_mb,
        disk_gb=resources.disk_gb,
        traits=rt.driver.traits(),
    )
    return provider_tree.compute_tree(root, rt.tracked_devices())


class PlacementReporter:
    """Keeps one compute node's tree in Placement, outages tolerated."""

    def __init__(self, rt: ResourceTracker, client: ReportClient) -> None:
        self.rt = rt
        self.client = client
        #: The last outage, until a report succeeds again.
        self.last_error: exception.PlacementUnavailable | None = None
        # The report client is not thread-safe: one report at a time.
        self._lock = threading.Lock()

    def report(self) -> SyncReport | None:
        """Send what changed; None when Placement did not answer (logged;
        the next call reads Placement again and catches up).  Any other
        Placement error is raised."""
        with self._lock:
            return self._report()

    def _report(self) -> SyncReport | None:
        tree = host_tree(self.rt, self.rt.host)
        try:
            result = self.client.sync(tree)
        except exception.PlacementUnavailable as error:
            LOG.warning("Resource providers not reported: %s", error)
            self.last_error = error
            return None
        if self.last_error is not None:
            LOG.info("Placement %s answers again", self.client.endpoint)
            self.last_error = None
        return result
