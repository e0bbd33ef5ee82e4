"""The PCI requests of an instance, as versioned objects and JSON.

One :class:`InstancePCIRequest` per SR-IOV port (``requester_id`` = port
id, a fresh ``request_id``) or per flavor alias.
:class:`InstancePCIRequests` is what ``instance_pci_requests.requests``
stores, as a JSON list of the requests' fields; :meth:`to_json` and
:meth:`from_json` convert, and :meth:`InstancePCIRequest.from_pci_request`
/ :meth:`~InstancePCIRequest.to_pci_request` bridge to the pure
:class:`sriovirt.pci.request.PciRequest`.

This module must not import SQLAlchemy or do I/O.
"""

from __future__ import annotations

import json
from typing import Any

from sriovirt import exception
from sriovirt.objects import base
from sriovirt.pci import request as pci_request

fields = base.fields

_REQUEST_KEYS = (
    "count",
    "spec",
    "alias_name",
    "request_id",
    "requester_id",
    "numa_policy",
)


@base.SriovirtObjectRegistry.register
class InstancePCIRequest(base.SriovirtObject):
    """``count`` devices matching any of ``spec`` (a list of dicts)."""

    # Version 1.0: initial
    VERSION = "1.0"

    fields = {  # noqa: RUF012
        "count": fields.IntegerField(),
        "spec": fields.ListOfDictOfNullableStringsField(),
        "alias_name": fields.StringField(nullable=True),
        "request_id": fields.UUIDField(nullable=True),
        "requester_id": fields.StringField(nullable=True),
        "numa_policy": fields.StringField(nullable=True),
    }

    count: int
    spec: list[dict[str, str | None]]
    alias_name: str | None
    request_id: str | None
    requester_id: str | None
    numa_policy: str | None

    @classmethod
    def from_dict(cls, value: object, where: str) -> InstancePCIRequest:
        if not isinstance(value, dict):
            raise exception.Invalid(
                reason=f"{where}: expected an object, got {value!r}"
            )
        unknown = set(value) - set(_REQUEST_KEYS)
        if unknown:
            raise exception.Invalid(
                reason=f"{where}: unknown keys {sorted(unknown)}"
            )
        obj = cls(
            count=value.get("count", 1),
            spec=value.get("spec", []),
            alias_name=value.get("alias_name"),
            request_id=value.get("request_id"),
            requester_id=value.get("requester_id"),
            numa_policy=value.get("numa_policy"),
        )
        obj.obj_reset_changes()
        return obj

    def to_dict(self) -> dict[str, Any]:
        return {key: self.obj_get(key) for key in _REQUEST_KEYS}

    @classmethod
    def from_pci_request(
        cls, request: pci_request.PciRequest, alias_name: str | None = None
    ) -> InstancePCIRequest:
        """From the pure :class:`sriovirt.pci.request.PciRequest`."""
        obj = cls(
            count=request.count,
            spec=[dict(s) for s in request.spec_dicts()],
            alias_name=alias_name,
            request_id=request.request_id,
            requester_id=request.requester_id,
            numa_policy=(
                request.numa_policy.value
                if request.numa_policy is not None
                else None
            ),
        )
        return obj

    def to_pci_request(self) -> pci_request.PciRequest:
        """The pure :class:`sriovirt.pci.request.PciRequest`.

        Raises :class:`~sriovirt.exception.InvalidPciRequest` if the
        stored request no longer parses (e.g. edited by hand).
        """
        spec = [
            {k: v for k, v in item.items() if v is not None}
            for item in self.spec
        ]
        return pci_request.PciRequest(
            count=self.count,
            spec=spec,
            request_id=self.obj_get("request_id"),
            requester_id=self.obj_get("requester_id"),
            numa_policy=self.obj_get("numa_policy"),
        )


@base.SriovirtObjectRegistry.register
class InstancePCIRequests(base.SriovirtObject):
    """All PCI requests of one instance."""

    # Version 1.0: InstancePCIRequest 1.0
    VERSION = "1.0"

    fields = {  # noqa: RUF012
        "instance_uuid": fields.UUIDField(),
        "requests": fields.ListOfObjectsField("InstancePCIRequest"),
    }

    obj_relationships = {  # noqa: RUF012
        "requests": [("1.0", "1.0")],
    }

    instance_uuid: str
    requests: list[InstancePCIRequest]

    @classmethod
    def from_json(
        cls, instance_uuid: str, text: str | None
    ) -> InstancePCIRequests:
        """From ``instance_pci_requests.requests``; None means none."""
        where = f"PCI requests of instance {instance_uuid}"
        value: object = []
        if text:
            try:
                value = json.loads(text)
            except ValueError as error:
                raise exception.Invalid(
                    reason=f"{where}: not JSON ({error})"
                ) from None
        if not isinstance(value, list):
            raise exception.Invalid(
                reason=f"{where}: expected a list, got {value!r}"
            )
        obj = cls(
            instance_uuid=instance_uuid,
            requests=[
                InstancePCIRequest.from_dict(item, f"{where} #{index}")
                for index, item in enumerate(value)
            ],
        )
        obj.obj_reset_changes()
        return obj

    def to_json(self) -> str:
        return json.dumps(
            [req.to_dict() for req in self.requests], sort_keys=True
        )
