"""The engine: unknown-XML preservation, errors, escaping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt.xml import base, targets
from sriovirt.virt.libvirt.xml.common import Address
from sriovirt.virt.libvirt.xml.interface import (
    DirectInterface,
    DirectSource,
    GenericInterface,
    HostdevInterface,
    MacAddress,
    QbhParameters,
    Virtualport8021Qbh,
    interface_from_xml,
)
from tests.unit.virt.libvirt.xml import introspect


def test_bad_value_is_invalid_xml_naming_element_and_attribute() -> None:
    with pytest.raises(exception.InvalidXml) as err:
        Address.from_xml("<address domain='0x0000' bus='0xzz'/>")
    assert "<address>" in str(err.value)
    assert "attribute bus" in str(err.value)


def test_missing_required_is_invalid_xml() -> None:
    with pytest.raises(exception.InvalidXml, match="'dev'"):
        interface_from_xml("<interface type='direct'><source/></interface>")
    with pytest.raises(exception.InvalidXml, match="source"):
        interface_from_xml("<interface type='direct'/>")


def test_wrong_root_and_malformed() -> None:
    with pytest.raises(exception.InvalidXml, match="root element"):
        Address.from_xml("<mac/>")
    with pytest.raises(exception.InvalidXml):
        Address.from_xml("<address")


def test_duplicate_single_child_is_rejected() -> None:
    with pytest.raises(exception.InvalidXml, match="more than one <mac>"):
        interface_from_xml(
            "<interface type='user'><mac address='52:54:00:00:00:01'/>"
            "<mac address='52:54:00:00:00:02'/></interface>"
        )


def test_fixed_discriminator_checked() -> None:
    with pytest.raises(exception.InvalidXml, match="needs 'hostdev'"):
        HostdevInterface.from_xml("<interface type='direct'/>")


def test_unknown_attributes_and_elements_survive() -> None:
    xml = (
        "<interface type='direct' trustGuestRxFilters='yes'>"
        "<mac address='52:54:00:00:00:01' type='static'/>"
        "<source dev='eth0' mode='vepa'/>"
        "<link state='down'/>"
        "<bandwidth><inbound average='1000'/></bandwidth>"
        "<coalesce><rx><frames max='7'/></rx></coalesce>"
        "</interface>"
    )
    iface = interface_from_xml(xml)
    assert isinstance(iface, DirectInterface)
    assert iface.xml_extra_attrs == (("trustGuestRxFilters", "yes"),)
    assert iface.mac is not None
    assert iface.mac.xml_extra_attrs == (("type", "static"),)
    assert [r.tag for r in iface.xml_extra] == [
        "link",
        "bandwidth",
        "coalesce",
    ]
    again = interface_from_xml(iface.to_xml())
    assert again == iface
    out = etree.fromstring(iface.to_xml())
    assert out.get("trustGuestRxFilters") == "yes"
    assert out.find("coalesce/rx/frames").get("max") == "7"  # type: ignore[union-attr]


def test_unknown_interface_type_is_kept_generically() -> None:
    xml = (
        "<interface type='mcast'><mac address='52:54:00:00:00:01'/>"
        "<source address='230.0.0.1' port='5558'/>"
        "<model type='virtio'/></interface>"
    )
    iface = interface_from_xml(xml)
    assert isinstance(iface, GenericInterface)
    assert iface.type == "mcast"
    assert iface.is_virtio
    assert interface_from_xml(iface.to_xml()) == iface
    assert 'port="5558"' in iface.to_xml()


def test_comments_are_dropped_not_kept_as_data() -> None:
    iface = interface_from_xml(
        "<interface type='user'><!-- hi --><model type='virtio'/></interface>"
    )
    assert iface.xml_extra == ()


def test_output_is_deterministic_and_ordered() -> None:
    iface = DirectInterface(
        source=DirectSource(dev="eth0", mode="passthrough"),
        mac=MacAddress(address="52:54:00:00:00:01"),
    )
    assert iface.to_xml() == (
        '<interface type="direct">\n'
        '  <mac address="52:54:00:00:00:01"/>\n'
        '  <source dev="eth0" mode="passthrough"/>\n'
        "</interface>\n"
    )


HOSTILE = [
    "'/>",
    '"/><evil/>',
    "</parameters></virtualport><hostdev/>",
    "a & b",
    "<![CDATA[x]]>",
    "p' onload='x",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_cannot_change_structure(value: str) -> None:
    iface = DirectInterface(
        source=DirectSource(dev=value, mode="passthrough"),
        virtualport=Virtualport8021Qbh(
            parameters=QbhParameters(profileid=value)
        ),
    )
    xml = iface.to_xml()
    root = etree.fromstring(xml)
    # Exactly the elements we declared, nothing injected.
    assert [el.tag for el in root.iter()] == [
        "interface",
        "source",
        "virtualport",
        "parameters",
    ]
    assert root.find("source").get("dev") == value  # type: ignore[union-attr]
    assert (
        root.find("virtualport/parameters").get("profileid")  # type: ignore[union-attr]
        == value
    )
    assert interface_from_xml(xml) == iface


def test_hostile_text_values() -> None:
    from sriovirt.virt.libvirt.xml.nodedev import NodeDevice

    dev = NodeDevice(name="</name><parent>evil</parent>", parent="x")
    root = etree.fromstring(dev.to_xml())
    assert [el.tag for el in root.iter()] == ["device", "name", "parent"]
    assert NodeDevice.from_xml(dev.to_xml()) == dev


def test_strings_xml_cannot_carry_are_invalid_xml() -> None:
    iface = DirectInterface(source=DirectSource(dev="eth\x00"))
    with pytest.raises(exception.InvalidXml, match=r"<source>.*dev"):
        iface.to_xml()


def test_format_error_names_the_field() -> None:
    iface = DirectInterface(
        source=DirectSource(dev="eth0"),
        mac=MacAddress(address="not-a-mac"),
    )
    with pytest.raises(exception.InvalidXml, match="address"):
        iface.to_xml()


def test_declarations_need_a_model_for_a_target() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Bad(base.XmlModel):
        xml_tag = "x"

    with pytest.raises(TypeError):
        targets.TaggedUnion("interface", "type", (Bad,))


def test_reachable_models_finds_nested_classes() -> None:
    from sriovirt.virt.libvirt.xml.nodedev import NodeDevice, VirtFunctions

    found = introspect.reachable_models(NodeDevice)
    assert VirtFunctions in found
    assert Address in found
