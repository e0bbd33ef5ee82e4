"""The compute RPC API's versions and pin, and its payloads' round trips.

No broker: a pinned call fails before anything is sent, so a ``fake://``
transport is enough here; tests/functional/test_compute_rpc.py runs the
calls over a real RabbitMQ.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.compute import rpc, rpcapi
from sriovirt.compute.boot import BootRequest
from sriovirt.db.records import InstanceRecord
from sriovirt.objects.boot_request import BootRequest as BootRequestObject
from sriovirt.objects.instance import Instance


def _conf(pin: str | None = None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    if pin is not None:
        conf.set_override("compute", pin, group="upgrade_levels")
    return conf


@pytest.fixture
def fake_transport() -> Iterator[object]:
    transport = rpc.transport(_conf(), url="fake://")
    yield transport
    transport.cleanup()


def test_unpinned_client_sends_the_newest_version(
    fake_transport: object,
) -> None:
    api = rpcapi.ComputeAPI(_conf(), fake_transport)
    assert api.version_cap == rpcapi.LATEST_VERSION
    assert api.can_send_version("1.1")
    assert not api.can_send_version("1.2")


def test_pin_refuses_a_newer_method_before_sending(
    fake_transport: object,
) -> None:
    api = rpcapi.ComputeAPI(_conf("1.0"), fake_transport)
    assert api.can_send_version("1.0")
    assert not api.can_send_version("1.1")
    with pytest.raises(exception.RPCVersionTooNew) as caught:
        api.reconcile("host-a", resume=False)
    text = str(caught.value)
    assert "reconcile on compute host host-a" in text
    assert "topic sriovirt-compute" in text
    assert "needs compute RPC version 1.1" in text
    assert "pins 1.0" in text


@pytest.mark.parametrize("pin", ["2.0", "1.9", "0.9", "one", "1"])
def test_pin_outside_what_this_release_sends_is_a_config_error(
    pin: str,
) -> None:
    with pytest.raises(exception.ConfigError, match=repr(pin)):
        rpcapi.version_cap(pin)


@pytest.mark.parametrize("pin", [None, "", "1.0", "1.1"])
def test_valid_pins(pin: str | None) -> None:
    expected = pin or rpcapi.LATEST_VERSION
    assert rpcapi.version_cap(pin) == expected


def test_service_state_stops_the_call_before_sending(
    fake_transport: object,
) -> None:
    api = rpcapi.ComputeAPI(
        _conf(),
        fake_transport,
        service_state=lambda host: f"service of {host} is disabled: drain",
    )
    with pytest.raises(exception.ComputeServiceDown) as caught:
        api.ping("host-b")
    assert str(caught.value) == (
        "ping on compute host host-b (topic sriovirt-compute): service "
        "of host-b is disabled: drain"
    )


def _through_the_wire(obj: object) -> object:
    serializer = rpc.Serializer()
    primitive = serializer.serialize_entity({}, obj)
    return serializer.deserialize_entity({}, primitive)


def test_boot_request_round_trip() -> None:
    boot = BootRequest(
        name="vm-1",
        port_ids=("p1", "p2"),
        flavor_extra_specs={"hw:virtio_packed_ring": "true"},
        image_properties={"hw_virtio_packed_ring": "true"},
        memory_mb=128,
        vcpus=2,
        uuid="0b5e5a1d-0000-4000-8000-00000000000b",
    )
    obj = _through_the_wire(rpc.boot_to_object(boot))
    assert isinstance(obj, BootRequestObject)
    assert rpc.boot_from_object(obj) == boot


def test_instance_round_trip_keeps_naive_utc_stamps() -> None:
    stamp = datetime.datetime(2026, 11, 30, 13, 0, 5, 123000)
    record = InstanceRecord(
        uuid="0b5e5a1d-0000-4000-8000-00000000000c",
        vm_state="active",
        host="h1",
        node="h1",
        flavor='{"extra_specs": {}}',
        image="{}",
        name="vm-2",
        requested_networks='[{"port_id": "p1", "vnic_type": "direct"}]',
        domain_xml="<domain/>",
        created_at=stamp,
        updated_at=None,
    )
    obj = _through_the_wire(Instance.from_record(record))
    assert isinstance(obj, Instance)
    assert obj.to_record() == record


def test_request_context_crosses_as_a_dict() -> None:
    from oslo_context import context as oslo_context

    serializer = rpc.Serializer()
    sent = oslo_context.RequestContext(overwrite=False)
    received = serializer.deserialize_context(
        serializer.serialize_context(sent)
    )
    assert received.request_id == sent.request_id


def test_transport_url_is_unset_by_default() -> None:
    # oslo.messaging's own default, rabbit://, would be a broker on
    # localhost; unset is sriovirt's in-process path.
    assert _conf().transport_url is None
