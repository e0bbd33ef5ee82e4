"""guest.py: the whole domain from values, golden and schema-valid."""

from __future__ import annotations

import pytest
from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt import guest
from sriovirt.virt.libvirt.vif import VifConfig
from sriovirt.virt.libvirt.xml.domain import Domain
from tests.unit.virt.libvirt.guest_ports import every_kind, instance
from tests.unit.virt.libvirt.xml.goldens import check_golden, schema_errors

PACKED = {"on": True, "off": False, "unset": None}


@pytest.mark.parametrize("packed", list(PACKED))
def test_golden_guest_with_every_kind_of_port(packed: str) -> None:
    xml = guest.domain_xml(
        instance(), every_kind(), PACKED[packed], guest.GuestConfig()
    )
    check_golden(f"guest/every-kind-packed-{packed}.xml", xml)
    assert schema_errors(xml) is None
    assert Domain.from_xml(xml).to_xml() == xml


def test_golden_qemu_guest_with_host_facts() -> None:
    config = guest.GuestConfig(
        domain_type="qemu",
        machine="pc",
        emulator="/usr/bin/qemu-system-x86_64",
        vif=VifConfig(rx_queue_size=512, tx_queue_size=256),
    )
    xml = guest.domain_xml(instance(), every_kind()[-1:], True, config)
    check_golden("guest/tap-qemu-packed-on.xml", xml)
    assert schema_errors(xml) is None


def test_values_land_where_libvirt_reads_them() -> None:
    vm = instance(name="web-7", uuid="4DEA22B3-1D52-4F3E-9516-782E98AB3FA0")
    dom = guest.build_domain(vm, every_kind(), None, guest.GuestConfig())
    assert (dom.name, dom.uuid) == ("web-7", vm.uuid)
    assert vm.uuid == "4dea22b3-1d52-4f3e-9516-782e98ab3fa0"
    assert dom.memory is not None and dom.vcpu is not None
    assert (dom.memory.unit, dom.memory.value, dom.vcpu.value) == (
        "MiB",
        256,
        2,
    )
    # The ports' devices in the order the ports were given.
    root = etree.fromstring(dom.to_xml())
    macs = [m.get("address") for m in root.iterfind("devices/*/mac")]
    # The whole PF (<hostdev>) carries no MAC: the guest owns it.
    assert macs == [
        v.vif.address
        for v in every_kind()
        if v.vif.profile is None or v.vif.vnic_type != "direct-physical"
    ]
    assert [el.tag for el in root.find("devices")][:5] == [
        "interface",
        "interface",
        "hostdev",
        "interface",
        "interface",
    ]


def test_a_port_given_twice_is_refused() -> None:
    tap = every_kind()[-1]
    with pytest.raises(exception.VifError) as err:
        guest.build_domain(instance(), [tap, tap], None, guest.GuestConfig())
    assert err.value.port_id == tap.vif.id
    assert "given twice for instance 'vm-1'" in str(err.value)


@pytest.mark.parametrize(
    ("hv_type", "domain_type"), [("TEST", "test"), ("QEMU", "qemu")]
)
def test_domain_type_follows_the_hypervisor(
    hv_type: str, domain_type: str
) -> None:
    config = guest.GuestConfig.for_hypervisor(hv_type)
    assert config.domain_type == domain_type


def test_unknown_hypervisor_is_refused() -> None:
    with pytest.raises(exception.Invalid, match="'Xen' reported by libvirt"):
        guest.GuestConfig.for_hypervisor("Xen")
