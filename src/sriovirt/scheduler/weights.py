"""Host weighers: order the hosts the filters kept, best first.

:class:`FreeVfWeigher` weighs a host by its free VFs times a multiplier
(``[scheduler] free_vf_weight_multiplier``): positive spreads boots over
the hosts with most free VFs, negative packs them onto the fullest host
that still fits.  When the boot has SR-IOV ports, only the VFs on the
ports' physical networks count (a host rich in physnet1 VFs is no
better for a physnet2 port); otherwise every free VF does.

This module must not remove hosts (filters do) nor read configuration
(the multiplier comes in as a value).
"""

from __future__ import annotations

from dataclasses import dataclass

from sriovirt.pci.device import DevType
from sriovirt.scheduler.host_state import HostState
from sriovirt.scheduler.request_spec import RequestSpec


@dataclass(frozen=True, slots=True)
class FreeVfWeigher:
    """Weight = free VFs (on the requested networks) x ``multiplier``."""

    multiplier: float = 1.0

    def weigh(self, spec: RequestSpec, host: HostState) -> float:
        stats = host.stats
        if stats is None or self.multiplier == 0:
            return 0.0
        # Called once per host kept: a plain loop over the distinct
        # networks (each counted once), no generator, no sort.
        groups = spec.port_groups
        if not groups:
            return self.multiplier * stats.free_of_type(DevType.VF)
        free = 0
        for net in {g.physical_network for g in groups}:
            free += stats.free_on_physical_network(net, DevType.VF)
        return self.multiplier * free
