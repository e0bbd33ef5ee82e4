"""from_xml(to_xml(x)) == x for every model, on generated instances."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt.virt.libvirt.xml import base
from sriovirt.virt.libvirt.xml.domain import DEVICE, Domain
from sriovirt.virt.libvirt.xml.hostdev import PciHostdev
from sriovirt.virt.libvirt.xml.interface import (
    INTERFACE,
    interface_from_xml,
)
from sriovirt.virt.libvirt.xml.nodedev import NodeDevice
from tests.unit.virt.libvirt.xml import introspect
from tests.unit.virt.libvirt.xml.strategies import (
    model_strategy,
    target_strategy,
)


@given(target_strategy(INTERFACE, 0))
def test_interface_round_trip(iface: Any) -> None:
    xml = iface.to_xml()
    assert interface_from_xml(xml) == iface
    # Deterministic: rendering twice gives the same text.
    assert interface_from_xml(xml).to_xml() == xml


@given(model_strategy(NodeDevice))
def test_node_device_round_trip(dev: NodeDevice) -> None:
    xml = dev.to_xml()
    assert NodeDevice.from_xml(xml) == dev
    assert NodeDevice.from_xml(xml).to_xml() == xml


@given(model_strategy(PciHostdev))
def test_hostdev_round_trip(dev: PciHostdev) -> None:
    assert PciHostdev.from_xml(dev.to_xml()) == dev


@given(model_strategy(Domain))
def test_domain_round_trip(dom: Domain) -> None:
    assert Domain.from_xml(dom.to_xml()) == dom


@pytest.mark.parametrize(
    "cls",
    introspect.reachable_models(INTERFACE, DEVICE, NodeDevice, Domain),
    ids=lambda c: c.__name__,
)
@given(data=st.data())
def test_every_model_round_trips_alone(
    cls: type[base.XmlModel], data: st.DataObject
) -> None:
    obj = data.draw(model_strategy(cls))
    # Variants parse directly too: their fixed discriminator is checked.
    assert cls.from_xml(obj.to_xml()) == obj
