"""The message bus plumbing of the compute RPC (oslo.messaging).

What the RPC API (:mod:`sriovirt.compute.rpcapi`) and the compute
service share: the transport built from ``[DEFAULT] transport_url``
(:func:`transport`), the serializer that turns sriovirt's versioned
objects and the request context into primitives and back
(:class:`Serializer`), an RPC server for a host's endpoint
(:func:`server`), the topic, and the conversions between the boot
request's frozen value and its versioned object.

This module must not decide what a call does (the endpoint and the
manager do) nor read options other than the ones it is handed.
"""

from __future__ import annotations

import threading
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_versionedobjects import base as ovo_base

from sriovirt import objects
from sriovirt.compute.boot import BootRequest
from sriovirt.objects import base as objects_base
from sriovirt.objects.boot_request import BootRequest as BootRequestObject

#: The topic every compute service listens on; server = its host.
TOPIC = "sriovirt-compute"

#: The compute service's name in the services table.
BINARY = "sriovirt-compute"

#: Modules whose exceptions a client may rebuild from a remote answer.
ALLOWED_REMOTE_EXMODS = ["sriovirt.exception"]


def transport(conf: cfg.ConfigOpts, url: str | None = None) -> Any:
    """An RPC transport for ``url`` (default ``[DEFAULT]
    transport_url``); the caller cleans it up."""
    objects.register_all()
    return messaging.get_rpc_transport(
        conf,
        url=url,
        allowed_remote_exmods=ALLOWED_REMOTE_EXMODS,
    )


class Serializer(ovo_base.VersionedObjectSerializer):
    """sriovirt's objects <-> primitives; the request context as a dict
    (its ``request_id`` follows one boot across processes)."""

    OBJ_BASE_CLASS = objects_base.SriovirtObject

    def serialize_context(self, context: Any) -> dict[str, Any]:
        if isinstance(context, oslo_context.RequestContext):
            return dict(context.to_dict())
        return dict(context or {})

    def deserialize_context(
        self, context: dict[str, Any]
    ) -> oslo_context.RequestContext:
        return oslo_context.RequestContext.from_dict(context)


def cleanup(transport_: Any, wait: float = 5.0) -> bool:
    """Release ``transport_``'s connections, waiting at most ``wait``
    seconds: after a call stuck connecting to an unreachable broker,
    oslo.messaging's cleanup waits for that call's reconnect loop, which
    never ends while the broker stays away.  False when it did not
    finish (its daemon thread ends with the process)."""
    worker = threading.Thread(
        target=transport_.cleanup, name="rpc-cleanup", daemon=True
    )
    worker.start()
    worker.join(wait)
    return not worker.is_alive()


def server(
    conf: cfg.ConfigOpts, transport_: Any, host: str, endpoint: object
) -> Any:
    """An RPC server for ``host`` on :data:`TOPIC` serving ``endpoint``
    in a thread pool (oslo's default executor); call ``start()``, then
    ``stop()`` and ``wait()``."""
    target = messaging.Target(topic=TOPIC, server=host)
    return messaging.get_rpc_server(
        transport_,
        target,
        [endpoint],
        serializer=Serializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


def boot_to_object(
    boot: BootRequest, version: str | None = None
) -> BootRequestObject:
    """``boot`` as its versioned object, every field of the value
    carried; ``version``: backported to that object version (the fields
    it lacks dropped) for a compute service that knows no newer one."""
    obj = BootRequestObject(
        name=boot.name,
        uuid=boot.uuid,
        port_ids=list(boot.port_ids),
        flavor_extra_specs=dict(boot.flavor_extra_specs),
        image_properties=dict(boot.image_properties),
        memory_mb=boot.memory_mb,
        vcpus=boot.vcpus,
        port_providers=dict(boot.port_providers),
    )
    if version is None or version == obj.VERSION:
        return obj
    primitive = obj.obj_to_primitive(target_version=version)
    backported = BootRequestObject.obj_from_primitive(primitive)
    assert isinstance(backported, BootRequestObject)
    return backported


def boot_from_object(obj: BootRequestObject) -> BootRequest:
    """The frozen value of ``obj`` (a 1.0 object: no port providers,
    the compute takes any matching device)."""
    return BootRequest(
        name=obj.name,
        uuid=obj.uuid,
        port_ids=tuple(obj.port_ids),
        flavor_extra_specs=dict(obj.flavor_extra_specs),
        image_properties=dict(obj.image_properties),
        memory_mb=obj.memory_mb,
        vcpus=obj.vcpus,
        port_providers=dict(obj.obj_get("port_providers", {})),
    )
