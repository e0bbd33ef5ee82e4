"""The compute RPC API's versions and pin, and its payloads' round trips.

No broker: a pinned call fails before anything is sent, so a ``fake://``
transport is enough here; tests/functional/test_compute_rpc.py runs the
calls over a real RabbitMQ.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from typing import Any

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
    assert api.can_send_version("1.2")
    assert not api.can_send_version("1.3")


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


@pytest.mark.parametrize("pin", [None, "", "1.0", "1.1", "1.2"])
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


#: A boot with every field away from its default.
FULL_BOOT = BootRequest(
    name="vm-full",
    port_ids=("p1", "p2", "p3"),
    flavor_extra_specs={
        "hw:virtio_packed_ring": "true",
        "trait:X": "required",
    },
    image_properties={"hw_virtio_packed_ring": "false"},
    memory_mb=256,
    vcpus=3,
    uuid="0b5e5a1d-0000-4000-8000-0000000000f1",
    port_providers={
        "p1": "4c1f3b2a-0000-4000-8000-0000000000a1",
        "p3": "4c1f3b2a-0000-4000-8000-0000000000a2",
    },
)


def test_every_boot_request_field_round_trips() -> None:
    # A field added to the value but not to the object (or its
    # conversions) comes back as its default: each field is checked
    # apart, and the sample sets each one away from its default.
    default = BootRequest(name="x", port_ids=())
    back = rpc.boot_from_object(
        _through_the_wire(rpc.boot_to_object(FULL_BOOT))  # type: ignore[arg-type]
    )
    for field in dataclasses.fields(BootRequest):
        sent = getattr(FULL_BOOT, field.name)
        assert sent != getattr(default, field.name), field.name
        assert getattr(back, field.name) == sent, field.name
    assert back == FULL_BOOT


def test_boot_object_1_0_drops_the_port_providers() -> None:
    obj = rpc.boot_to_object(FULL_BOOT, "1.0")
    assert obj.VERSION == "1.0"
    primitive = rpc.Serializer().serialize_entity({}, obj)
    assert primitive["sriovirt_object.version"] == "1.0"
    assert "port_providers" not in primitive["sriovirt_object.data"]
    back = rpc.boot_from_object(
        _through_the_wire(obj)  # type: ignore[arg-type]
    )
    assert back == dataclasses.replace(FULL_BOOT, port_providers={})


def test_boot_object_1_1_keeps_the_port_providers() -> None:
    primitive = rpc.Serializer().serialize_entity(
        {}, rpc.boot_to_object(FULL_BOOT)
    )
    assert primitive["sriovirt_object.version"] == "1.1"
    data = primitive["sriovirt_object.data"]
    assert data["port_providers"] == dict(FULL_BOOT.port_providers)


class _Sent:
    """What ComputeAPI._call was asked to send (no bus needed)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(
        self,
        host: str,
        method: str,
        version: str,
        context: object,
        **kwargs: Any,
    ) -> Any:
        self.calls.append((method, version, kwargs))
        return Instance.from_record(
            InstanceRecord(
                uuid=FULL_BOOT.uuid,
                vm_state="active",
                name=FULL_BOOT.name,
                host=host,
            )
        )


def _api_sending(
    pin: str | None, transport: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[rpcapi.ComputeAPI, _Sent]:
    api = rpcapi.ComputeAPI(_conf(pin), transport)
    sent = _Sent()
    monkeypatch.setattr(api, "_call", sent)
    return api, sent


def test_boot_goes_as_1_2_with_object_1_1(
    fake_transport: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, sent = _api_sending(None, fake_transport, monkeypatch)
    api.build_and_run_instance("host-a", FULL_BOOT)
    ((method, version, kwargs),) = sent.calls
    assert (method, version) == ("build_and_run_instance", "1.2")
    assert kwargs["boot"].VERSION == "1.1"
    assert kwargs["boot"].port_providers == dict(FULL_BOOT.port_providers)


@pytest.mark.parametrize("pin", ["1.0", "1.1"])
def test_pinned_client_sends_a_boot_without_providers_as_1_0(
    pin: str, fake_transport: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, sent = _api_sending(pin, fake_transport, monkeypatch)
    plain = dataclasses.replace(FULL_BOOT, port_providers={})
    api.build_and_run_instance("host-a", plain)
    ((method, version, kwargs),) = sent.calls
    assert (method, version) == ("build_and_run_instance", "1.0")
    assert kwargs["boot"].VERSION == "1.0"


@pytest.mark.parametrize("pin", ["1.0", "1.1"])
def test_pinned_client_refuses_a_boot_with_providers(
    pin: str, fake_transport: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, sent = _api_sending(pin, fake_transport, monkeypatch)
    with pytest.raises(exception.RPCVersionTooNew) as caught:
        api.build_and_run_instance("host-a", FULL_BOOT)
    assert sent.calls == []
    text = str(caught.value)
    assert text.startswith(
        "build_and_run_instance on compute host host-a (topic "
        "sriovirt-compute): a boot with port providers (ports p1, p3"
    )
    assert (
        f"needs compute RPC version 1.2, but [upgrade_levels] "
        f"compute pins {pin}" in text
    )


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
