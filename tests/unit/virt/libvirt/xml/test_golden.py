"""Golden XML: exact text, schema validity, libvirt define, coverage.

Every file under ``tests/golden`` (these model cases and the VIF cases
of ``test_vif.py``) must render exactly, validate against libvirt's
RelaxNG schema, define on the libvirt test driver with
``VIR_DOMAIN_DEFINE_VALIDATE``, and, taken together, exercise every
field any model declares.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sriovirt.virt.libvirt.xml import base
from sriovirt.virt.libvirt.xml.common import Address, Alias, PciSource, Rom
from sriovirt.virt.libvirt.xml.document import RawXml
from sriovirt.virt.libvirt.xml.domain import (
    DEVICE,
    Devices,
    Domain,
    Emulator,
    Memballoon,
    Memory,
    Os,
    OsType,
    Vcpu,
    Video,
    VideoModel,
)
from sriovirt.virt.libvirt.xml.hostdev import HostdevDriver, PciHostdev
from sriovirt.virt.libvirt.xml.interface import (
    INTERFACE,
    BridgeInterface,
    BridgeSource,
    DirectInterface,
    DirectSource,
    Driver,
    EthernetInterface,
    GenericInterface,
    GenericVirtualport,
    HostdevInterface,
    MacAddress,
    Model,
    Mtu,
    NetworkInterface,
    NetworkSource,
    OvsParameters,
    QbhParameters,
    Target,
    UserInterface,
    VhostuserInterface,
    VhostuserSource,
    Virtualport8021Qbh,
    VirtualportOpenvswitch,
    Vlan,
    VlanTag,
)
from sriovirt.virt.libvirt.xml.nodedev import (
    GenericCapability,
    Link,
    NetCapability,
    NetFeature,
    NetSubCapability,
    NodeDevice,
    NodeDriver,
    Numa,
    PciCapability,
    PhysFunction,
    Product,
    Vendor,
    VirtFunctions,
)
from tests import prereq
from tests.unit.virt.libvirt.xml import introspect
from tests.unit.virt.libvirt.xml.goldens import (
    GOLDEN,
    as_domain_xml,
    check_golden,
    golden_files,
    parse_any,
    schema_errors,
)


def _mac(n: int) -> MacAddress:
    return MacAddress(address=f"52:54:00:00:01:{n:02x}")


def _guest(slot: int, multifunction: bool | None = None) -> Address:
    addr = Address.guest_pci(f"0000:00:{slot:02x}.0")
    return dataclasses.replace(addr, multifunction=multifunction)


HOSTDEV_IFACE = HostdevInterface(
    managed=True,
    mac=_mac(1),
    source=PciSource.of("0000:81:10.2", "pci"),
    vlan=Vlan(
        trunk=True,
        tags=(VlanTag(id=42, native_mode="untagged"), VlanTag(id=43)),
    ),
    alias=Alias(name="ua-sriov0"),
    rom=Rom(bar=True, file="/usr/share/sriovirt/vf.rom"),
    address=_guest(5, multifunction=True),
)
DIRECT_IFACE = DirectInterface(
    mac=_mac(2),
    source=DirectSource(dev="ens1f0v1", mode="vepa"),
    virtualport=Virtualport8021Qbh(
        parameters=QbhParameters(profileid="finance-profile")
    ),
    model=Model(type="virtio"),
    driver=Driver(
        name="vhost",
        queues=2,
        rx_queue_size=512,
        tx_queue_size=256,
        packed=True,
    ),
    rom=Rom(enabled=False),
)
BRIDGE_IFACE = BridgeInterface(
    mac=_mac(3),
    source=BridgeSource(bridge="br-int"),
    virtualport=VirtualportOpenvswitch(
        parameters=OvsParameters(
            interfaceid="3e0a1c5e-8f7b-4f6e-9d2a-0123456789ab"
        )
    ),
    target=Target(dev="tap3e0a1c5e-8f"),
    model=Model(type="virtio"),
    driver=Driver(packed=False),
    mtu=Mtu(size=9000),
)
NETWORK_IFACE = NetworkInterface(
    mac=_mac(4),
    source=NetworkSource(network="default", portgroup="engineering"),
    virtualport=GenericVirtualport(
        type="802.1Qbg",
        xml_extra=(
            RawXml(
                '<parameters managerid="11" typeid="1193047" '
                'typeidversion="2" '
                'instanceid="09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"/>'
            ),
        ),
    ),
    model=Model(type="virtio"),
)
ETHERNET_IFACE = EthernetInterface(
    mac=_mac(5),
    target=Target(dev="tap-e1000", managed=False),
    model=Model(type="e1000"),
)
USER_IFACE = UserInterface(
    mac=_mac(6),
    model=Model(type="virtio"),
    driver=Driver(packed=True),
)
VHOSTUSER_IFACE = VhostuserInterface(
    mac=_mac(7),
    source=VhostuserSource(
        type="unix", path="/run/vhu/vhu0.sock", mode="server"
    ),
    model=Model(type="virtio"),
    driver=Driver(queues=4, rx_queue_size=1024, tx_queue_size=1024),
)
GENERIC_IFACE = GenericInterface(
    type="mcast",
    mac=_mac(8),
    model=Model(type="virtio"),
    xml_extra=(RawXml('<source address="230.0.0.1" port="5558"/>'),),
)
PCI_HOSTDEV = PciHostdev(
    managed=True,
    driver=HostdevDriver(name="vfio"),
    source=PciSource.of("0000:82:00.0"),
    alias=Alias(name="ua-pf0"),
    rom=Rom(bar=False),
    address=_guest(6),
)
DOMAIN = Domain(
    type="test",
    name="sriovirt-golden",
    uuid="4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
    memory=Memory(unit="MiB", value=256),
    vcpu=Vcpu(placement="static", value=2),
    os=Os(type=OsType(arch="x86_64", value="hvm")),
    devices=Devices(
        items=(
            HOSTDEV_IFACE,
            DIRECT_IFACE,
            PCI_HOSTDEV,
            USER_IFACE,
            Video(model=VideoModel(type="none")),
            Memballoon(model="none"),
        )
    ),
)
QEMU_DOMAIN = Domain(
    type="qemu",
    name="sriovirt-packed",
    memory=Memory(unit="MiB", value=128),
    vcpu=Vcpu(value=1),
    os=Os(type=OsType(arch="x86_64", machine="pc", value="hvm")),
    devices=Devices(
        items=(
            Emulator(path="/usr/bin/qemu-system-x86_64"),
            USER_IFACE,
            Video(model=VideoModel(type="none")),
            Memballoon(model="none"),
        )
    ),
)
PF_DEVICE = NodeDevice(
    name="pci_0000_81_00_0",
    path="/sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0",
    parent="pci_0000_80_02_0",
    driver=NodeDriver(name="ixgbe"),
    capabilities=(
        PciCapability(
            class_=0x020000,
            domain=0,
            bus=0x81,
            slot=0,
            function=0,
            product=Product(id=0x10FB, name="82599ES 10-Gigabit"),
            vendor=Vendor(id=0x8086, name="Intel Corporation"),
            capabilities=(
                VirtFunctions(
                    max_count=63,
                    addresses=(
                        Address.host_pci("0000:81:10.0"),
                        Address.host_pci("0000:81:10.2"),
                    ),
                ),
            ),
            numa=Numa(node=1),
        ),
    ),
)
VF_DEVICE = NodeDevice(
    name="pci_0000_81_10_2",
    parent="pci_0000_80_02_0",
    capabilities=(
        PciCapability(
            domain=0,
            bus=0x81,
            slot=0x10,
            function=2,
            product=Product(id=0x10ED),
            vendor=Vendor(id=0x8086),
            capabilities=(
                PhysFunction(address=Address.host_pci("0000:81:00.0")),
            ),
        ),
    ),
)
NET_DEVICE = NodeDevice(
    name="net_ens1f0_52_54_00_00_00_01",
    path="/sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0/net/ens1f0",
    parent="pci_0000_81_00_0",
    capabilities=(
        NetCapability(
            interface="ens1f0",
            address="52:54:00:00:00:01",
            link=Link(state="up", speed=10000),
            features=(NetFeature(name="rx"), NetFeature(name="tx")),
            capabilities=(NetSubCapability(type="80203"),),
        ),
    ),
)
OTHER_DEVICE = NodeDevice(
    name="usb_usb1",
    parent="pci_0000_00_14_0",
    capabilities=(
        GenericCapability(
            type="usb_device",
            xml_extra=(
                RawXml("<bus>1</bus>"),
                RawXml("<device>1</device>"),
                RawXml('<product id="0x0002">Root hub</product>'),
                RawXml('<vendor id="0x1d6b">Linux Foundation</vendor>'),
            ),
        ),
    ),
)

MODELS: dict[str, base.XmlModel] = {
    "interface-hostdev": HOSTDEV_IFACE,
    "interface-direct": DIRECT_IFACE,
    "interface-bridge": BRIDGE_IFACE,
    "interface-network": NETWORK_IFACE,
    "interface-ethernet": ETHERNET_IFACE,
    "interface-user": USER_IFACE,
    "interface-vhostuser": VHOSTUSER_IFACE,
    "interface-mcast": GENERIC_IFACE,
    "hostdev-pci": PCI_HOSTDEV,
    "domain-test": DOMAIN,
    "domain-qemu": QEMU_DOMAIN,
    "nodedev-pf": PF_DEVICE,
    "nodedev-vf": VF_DEVICE,
    "nodedev-net": NET_DEVICE,
    "nodedev-usb": OTHER_DEVICE,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_golden(name: str) -> None:
    obj = MODELS[name]
    xml = obj.to_xml()
    check_golden(f"xml/{name}.xml", xml)
    assert parse_any(xml) == obj


FILES = golden_files()
IDS = [str(p.relative_to(GOLDEN)) for p in FILES]


def test_golden_files_exist() -> None:
    assert len(FILES) >= len(MODELS) + 30


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_golden_file_round_trips_exactly(path: Path) -> None:
    text = path.read_text()
    obj = parse_any(text)
    assert obj.to_xml() == text
    assert parse_any(obj.to_xml()) == obj


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_golden_file_is_schema_valid(path: Path) -> None:
    text = path.read_text()
    if isinstance(parse_any(text), NodeDevice):
        assert schema_errors(text, "nodedev.rng") is None
        return
    errors = schema_errors(as_domain_xml(text))
    assert errors is None, errors


def _for_test_driver(text: str) -> str | None:
    obj = parse_any(text)
    if isinstance(obj, NodeDevice):
        return None
    if isinstance(obj, Domain):
        # The test driver only takes type='test' and has no emulator.
        assert obj.devices is not None
        devices = Devices(
            items=tuple(
                d for d in obj.devices.items if not isinstance(d, Emulator)
            )
        )
        return dataclasses.replace(
            obj,
            type="test",
            devices=devices,
            os=Os(type=OsType(arch="x86_64", value="hvm")),
        ).to_xml()
    return as_domain_xml(text)


@pytest.fixture(scope="module")
def test_conn() -> Iterator[Any]:
    libvirt = prereq.import_or_missing("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("test:///default")
    yield conn
    conn.close()


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if not p.name.startswith("nodedev-")],
    ids=[i for i in IDS if "nodedev-" not in i],
)
def test_golden_file_defines_on_test_driver(
    path: Path, test_conn: Any
) -> None:
    import libvirt

    xml = _for_test_driver(path.read_text())
    assert xml is not None
    dom = test_conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    try:
        dom.create()
        live = dom.XMLDesc(0)
        # What libvirt gives back parses with the same models.
        parsed = Domain.from_xml(live)
        assert parsed.devices is not None
        assert Domain.from_xml(parsed.to_xml()) == parsed
        dom.destroy()
    finally:
        dom.undefine()


def _owner(cls: type, name: str) -> type:
    """The class that declares ``name`` (shared interface fields are
    declared once, on InterfaceBase, and count once)."""
    for klass in reversed(cls.__mro__):
        if name in inspect.get_annotations(klass):
            return klass
    return cls


def _exercised(obj: object, seen: set[tuple[type, str]]) -> None:
    for model in introspect.walk(obj):
        cls = type(model)
        for name, _spec in base.declared_fields(cls):
            value = getattr(model, name)
            if value is not None and value != ():
                seen.add((_owner(cls, name), name))


def test_every_declared_field_is_exercised_by_a_golden_file() -> None:
    seen: set[tuple[type, str]] = set()
    for path in FILES:
        _exercised(parse_any(path.read_text()), seen)
    declared = {
        (_owner(cls, name), name)
        for cls in introspect.reachable_models(
            INTERFACE, DEVICE, Domain, NodeDevice
        )
        for name, _spec in base.declared_fields(cls)
    }
    missing = sorted(f"{cls.__name__}.{name}" for cls, name in declared - seen)
    assert not missing, (
        "declared fields no golden file exercises (add them to a golden "
        f"case): {missing}"
    )
