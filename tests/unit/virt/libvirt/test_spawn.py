"""LibvirtDriver runs guests on libvirt's test driver, no mocks.

Each driver opens its own ``test:///<host file>`` connection, and the
test driver keeps the domains of a connection in memory: every test
starts from a host without guests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception, paths
from sriovirt.virt.driver import InstanceState
from sriovirt.virt.libvirt.driver import LibvirtDriver
from tests.unit.virt.libvirt.guest_ports import every_kind, instance


@pytest.fixture
def drv() -> Iterator[LibvirtDriver]:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    uri = paths.test_driver_uri(paths.sample_host("small"))
    driver = LibvirtDriver.for_connection(conf, uri)
    yield driver
    driver.host.close()


def _live(drv: LibvirtDriver, uuid: str) -> etree._Element:
    return etree.fromstring(drv.host.domain_xml(uuid).encode())


def _packed_by_mac(root: etree._Element) -> dict[str, str | None]:
    found = {}
    for iface in root.iterfind("devices/interface"):
        mac = iface.find("mac")
        driver = iface.find("driver")
        assert mac is not None
        found[mac.get("address")] = (
            None if driver is None else driver.get("packed")
        )
    return found


def test_spawn_defines_and_starts_the_guest_the_ports_ask_for(
    drv: LibvirtDriver,
) -> None:
    vm = instance()
    drv.spawn(vm, every_kind(), packed=True)
    assert drv.instance_state(vm.uuid) is InstanceState.RUNNING
    root = _live(drv, vm.uuid)
    assert root.findtext("name") == "vm-1"
    types = [i.get("type") for i in root.iterfind("devices/interface")]
    assert types == ["hostdev", "direct", "bridge", "ethernet"]
    (pf,) = root.findall("devices/hostdev/source/address")
    assert (pf.get("bus"), pf.get("slot")) == ("0x82", "0x00")
    # packed='on' on the virtio NICs only; never on the VF handed over.
    assert _packed_by_mac(root) == {
        "fa:16:3e:00:00:01": None,
        "fa:16:3e:00:00:02": "on",
        "fa:16:3e:00:00:04": "on",
        "fa:16:3e:00:00:05": "on",
    }
    vlans = root.findall("devices/interface/vlan/tag")
    assert [t.get("id") for t in vlans] == ["42", "43"]


@pytest.mark.parametrize(("packed", "written"), [(False, "off"), (None, None)])
def test_packed_off_or_unset_reaches_the_guest(
    drv: LibvirtDriver, packed: bool | None, written: str | None
) -> None:
    vm = instance()
    drv.spawn(vm, every_kind()[-1:], packed=packed)
    assert _packed_by_mac(_live(drv, vm.uuid)) == {
        "fa:16:3e:00:00:05": written
    }


def test_destroy_removes_the_guest_and_is_idempotent(
    drv: LibvirtDriver,
) -> None:
    vm = instance()
    drv.spawn(vm, every_kind(), packed=True)
    assert drv.destroy(vm.uuid) is True
    assert drv.instance_state(vm.uuid) is InstanceState.MISSING
    assert drv.list_instances() == ()
    assert drv.destroy(vm.uuid) is False


def test_destroy_of_a_shut_off_guest_undefines_it(drv: LibvirtDriver) -> None:
    vm = instance()
    drv.spawn(vm, [], packed=None)
    drv.host._call("stop", lambda c: c.lookupByName("vm-1").destroy())
    assert drv.instance_state(vm.uuid) is InstanceState.SHUT_OFF
    assert drv.destroy(vm.uuid) is True
    assert drv.instance_state(vm.uuid) is InstanceState.MISSING


def test_list_instances_and_states(drv: LibvirtDriver) -> None:
    a = instance("vm-b", "00000000-0000-4000-8000-00000000000b")
    b = instance("vm-a", "00000000-0000-4000-8000-00000000000a")
    drv.spawn(a, [], packed=None)
    drv.spawn(b, [], packed=None)
    drv.host._call("pause", lambda c: c.lookupByName("vm-b").suspend())
    listed = drv.list_instances()
    assert [(g.name, g.uuid, g.state, g.persistent) for g in listed] == [
        ("vm-a", b.uuid, InstanceState.RUNNING, True),
        ("vm-b", a.uuid, InstanceState.PAUSED, True),
    ]
    assert drv.instance_state(a.uuid) is InstanceState.PAUSED


def _run_transient(drv: LibvirtDriver, name: str, uuid: str) -> None:
    """A running guest libvirt has no definition of (``createXML``)."""
    xml = (
        f"<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    drv.host._call("create", lambda c: c.createXML(xml, 0))


def test_a_failing_start_leaves_no_definition(drv: LibvirtDriver) -> None:
    # A running transient guest of the same UUID: libvirt accepts the
    # definition, then refuses to start what is already running.
    vm = instance()
    _run_transient(drv, vm.name, vm.uuid)
    with pytest.raises(exception.HypervisorError) as err:
        drv.spawn(vm, every_kind(), packed=True)
    assert err.value.operation == f"start of domain {vm.uuid}"
    assert "already running" in err.value.reason
    (left,) = drv.list_instances()
    assert (left.uuid, left.persistent) == (vm.uuid, False)
    # The guest that was there is untouched, and nothing of ours stays.
    assert _packed_by_mac(_live(drv, vm.uuid)) == {}
    assert drv.destroy(vm.uuid) is True
    assert drv.list_instances() == ()


def test_a_failing_define_leaves_nothing(drv: LibvirtDriver) -> None:
    vm = instance()
    _run_transient(drv, vm.name, "00000000-0000-4000-8000-0000000000ff")
    with pytest.raises(exception.HypervisorError) as err:
        drv.spawn(vm, every_kind(), packed=True)
    assert err.value.operation == "domain define"
    assert [g.uuid for g in drv.list_instances()] == [
        "00000000-0000-4000-8000-0000000000ff"
    ]


@pytest.mark.parametrize("clash", ["uuid", "name"])
def test_spawn_never_replaces_a_definition(
    drv: LibvirtDriver, clash: str
) -> None:
    first = instance()
    drv.spawn(first, every_kind()[-1:], packed=True)
    second = (
        instance(name="vm-2")
        if clash == "uuid"
        else instance(uuid="00000000-0000-4000-8000-000000000002")
    )
    with pytest.raises(exception.InstanceExists) as err:
        drv.spawn(second, [], packed=None)
    assert "is already defined; spawn never replaces" in str(err.value)
    assert [(g.name, g.uuid) for g in drv.list_instances()] == [
        ("vm-1", first.uuid)
    ]
    assert len(_packed_by_mac(_live(drv, first.uuid))) == 1


def test_state_of_a_missing_guest(drv: LibvirtDriver) -> None:
    assert drv.instance_state(instance().uuid) is InstanceState.MISSING
    assert drv.destroy(instance().uuid) is False


def test_libvirt_errors_are_translated(drv: LibvirtDriver) -> None:
    with pytest.raises(exception.HypervisorError):
        drv.instance_state("not-a-uuid")


def _driver_with(tmp_path: Path, *lines: str) -> LibvirtDriver:
    path = tmp_path / "sriovirt.conf"
    path.write_text("\n".join(["[libvirt]", *lines, ""]))
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf(["--config-file", str(path)])
    uri = paths.test_driver_uri(paths.sample_host("small"))
    return LibvirtDriver.for_connection(conf, uri)


def test_nic_queue_options_reach_the_guest(tmp_path: Path) -> None:
    drv = _driver_with(tmp_path, "rx_queue_size = 512", "tx_queue_size = 256")
    vm = instance()
    drv.spawn(vm, every_kind()[-1:], packed=True)
    driver = _live(drv, vm.uuid).find("devices/interface/driver")
    assert driver is not None
    assert dict(driver.attrib) == {
        "rx_queue_size": "512",
        "tx_queue_size": "256",
        "packed": "on",
    }


def test_a_bad_queue_option_fails_spawn_before_libvirt(
    tmp_path: Path,
) -> None:
    drv = _driver_with(tmp_path, "rx_queue_size = 100")
    # Discovery and versions do not depend on the guest options.
    assert drv.host_versions().hypervisor_type == "TEST"
    with pytest.raises(exception.ConfigError) as err:
        drv.spawn(instance(), [], packed=None)
    assert "[libvirt] queue sizes of guest NICs" in str(err.value)
    assert "100" in str(err.value)
    assert drv.list_instances() == ()
