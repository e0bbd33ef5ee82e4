"""``pinned_pfs``: the scheduler's PF provider of each port -> its PF."""

from __future__ import annotations

import dataclasses

import pytest

from sriovirt import exception
from sriovirt.compute.boot import BootRequest, pinned_pfs, port_plan
from sriovirt.network.values import VnicType
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice, PciDevice
from sriovirt.placement import tree as pt
from tests.unit.scheduler.test_request_spec import port

NODE = "11111111-0000-4000-8000-000000000001"
PF0 = PciAddress.parse("0000:81:00.0")
PF1 = PciAddress.parse("0000:82:00.0")


def _vf(pf: PciAddress, fn: int) -> PciDevice:
    return PciDevice(
        host=HostPciDevice(
            address=PciAddress(0, pf.bus, 2, fn),
            vendor_id="8086",
            product_id="154c",
            dev_type=DevType.VF,
            parent_addr=pf,
        ),
        physical_network="physnet1",
    )


DEVICES = [_vf(PF0, 0), _vf(PF1, 0)]
PLANS = (
    port_plan(port("p1")),
    port_plan(port("p2", VnicType.NORMAL, None)),
)


def test_each_port_maps_to_the_pf_of_its_provider() -> None:
    boot = BootRequest(
        name="vm",
        port_ids=("p1", "p2"),
        port_providers={"p1": pt.child_uuid(NODE, str(PF1))},
    )
    request = PLANS[0].pci_request
    assert request is not None
    assert pinned_pfs(boot, PLANS, NODE, DEVICES) == {request.request_id: PF1}


def test_unscheduled_boot_pins_nothing() -> None:
    boot = BootRequest(name="vm", port_ids=("p1",))
    assert pinned_pfs(boot, PLANS, NODE, DEVICES) == {}


@pytest.mark.parametrize(
    ("providers", "words"),
    [
        ({"p1": pt.child_uuid("another-node", str(PF0))}, "no PF provider"),
        ({"p2": pt.child_uuid(NODE, str(PF0))}, "no SR-IOV port p2"),
    ],
)
def test_a_provider_that_is_no_pf_of_this_node_is_refused(
    providers: dict[str, str], words: str
) -> None:
    boot = dataclasses.replace(
        BootRequest(name="vm", port_ids=("p1", "p2")),
        port_providers=providers,
    )
    with pytest.raises(exception.Invalid) as err:
        pinned_pfs(boot, PLANS, NODE, DEVICES)
    assert words in str(err.value)
