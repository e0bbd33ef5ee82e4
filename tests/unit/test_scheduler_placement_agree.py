"""The scheduler asks Placement for what the report client reports.

``scheduler`` and ``placement`` are the same rank and may not import each
other, so the names both must spell alike (the PF resource class, the
physical-network and vnic-type traits) are checked here.
"""

from __future__ import annotations

import pytest

from sriovirt.network.values import VnicType
from sriovirt.placement import tree
from sriovirt.scheduler import placement_query


def test_the_pf_resource_class_is_the_same() -> None:
    assert placement_query.PF_RESOURCE_CLASS == tree.PF_RESOURCE_CLASS


@pytest.mark.parametrize("physnet", ["physnet1", "phys-net.2", "Pn_3"])
def test_physnet_traits_are_the_same(physnet: str) -> None:
    assert placement_query.physnet_trait(physnet) == tree.physnet_trait(
        physnet
    )


@pytest.mark.parametrize(
    "vnic", [VnicType.DIRECT, VnicType.MACVTAP, VnicType.DIRECT_PHYSICAL]
)
def test_vnic_type_traits_are_the_same(vnic: VnicType) -> None:
    assert placement_query.vnic_type_trait(vnic) == tree.vnic_type_trait(vnic)
