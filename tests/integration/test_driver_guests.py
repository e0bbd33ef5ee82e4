"""LibvirtDriver on a real libvirtd + QEMU: spawn, packed, destroy.

The driver builds the whole guest itself (:mod:`sriovirt.virt.libvirt.
guest`) and talks to the private daemon of
:mod:`tests.fixtures.libvirtd` through its own connection; the test
reads back through the session's ``conn``, a second connection to the
same daemon.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.network.model import VIF
from sriovirt.virt.driver import GuestVif, Instance, InstanceState
from sriovirt.virt.libvirt.driver import LibvirtDriver
from tests.integration.conftest import ring_packed_offered

pytestmark = pytest.mark.integration

PREFIX = "sriovirt-drv-"


@pytest.fixture
def drv(libvirtd_uri: str) -> Iterator[LibvirtDriver]:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    driver = LibvirtDriver.for_connection(conf, libvirtd_uri)
    try:
        yield driver
    finally:
        # Whatever a failed assertion left running, and only ours.
        for guest in driver.list_instances():
            if guest.name.startswith(PREFIX):
                driver.destroy(guest.uuid)
        driver.host.close()


def _instance() -> Instance:
    guest_uuid = str(uuid.uuid4())
    return Instance(
        name=f"{PREFIX}{guest_uuid[:8]}",
        uuid=guest_uuid,
        memory_mb=128,
        vcpus=1,
    )


def _normal_port(vif_type: str, details: dict[str, Any]) -> GuestVif:
    body = {
        "id": str(uuid.uuid4()),  # the tap is named after it
        "network_id": "7d1c7f9e-0000-4000-8000-0000000000aa",
        "mac_address": "fa:16:3e:12:34:57",
        "binding:host_id": "host1",
        "binding:vnic_type": "normal",
        "binding:vif_type": vif_type,
        "binding:vif_details": details,
        "binding:profile": {},
    }
    return GuestVif(vif=VIF.from_port({"port": body}))


def _gone(conn: Any, guest_uuid: str) -> bool:
    import libvirt

    try:
        conn.lookupByUUIDString(guest_uuid)
    except libvirt.libvirtError as exc:
        return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)
    return False


def test_spawned_tap_port_runs_packed_and_destroy_leaves_nothing(
    drv: LibvirtDriver, conn: Any
) -> None:
    vm = _instance()
    port = _normal_port("tap", {"port_filter": False})
    drv.spawn(vm, [port], packed=True)
    assert drv.instance_state(vm.uuid) is InstanceState.RUNNING

    dom = conn.lookupByUUIDString(vm.uuid)
    live = etree.fromstring(dom.XMLDesc(0))
    assert live.get("type") == "qemu"
    (iface,) = live.findall("devices/interface")
    assert iface.get("type") == "ethernet"
    driver_el = iface.find("driver")
    assert driver_el is not None and driver_el.get("packed") == "on"
    target = iface.find("target")
    assert target is not None and target.get("dev") == port.vif.devname
    offered, path = ring_packed_offered(dom)
    assert offered, f"VIRTIO_F_RING_PACKED not offered by {path}"

    assert drv.destroy(vm.uuid) is True
    assert _gone(conn, vm.uuid)
    assert drv.instance_state(vm.uuid) is InstanceState.MISSING
    assert vm.uuid not in {g.uuid for g in drv.list_instances()}
    assert drv.destroy(vm.uuid) is False


def test_a_start_qemu_refuses_leaves_no_definition(
    drv: LibvirtDriver, conn: Any
) -> None:
    # A bridge that does not exist: libvirt defines the guest, and the
    # start fails when it plugs the tap.
    vm = _instance()
    missing_bridge = f"svnb{uuid.uuid4().hex[:8]}"
    port = _normal_port("bridge", {"bridge_name": missing_bridge})
    with pytest.raises(exception.HypervisorError) as err:
        drv.spawn(vm, [port], packed=True)
    assert err.value.operation == f"start of domain {vm.uuid}"
    assert _gone(conn, vm.uuid)
    assert drv.instance_state(vm.uuid) is InstanceState.MISSING
