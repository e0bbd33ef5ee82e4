"""The values of a boot and the pure rules between its steps.

:class:`BootRequest` is what to boot; :class:`PortPlan` is one port as
read before anything is claimed (its
:class:`~sriovirt.network.values.PortRequest` and, for an SR-IOV port,
its :class:`~sriovirt.pci.request.PciRequest`).  The functions turn a
claim into ``binding:profile`` values, PCI requests into their stored
JSON, and explain an unsatisfied request by port and physical network.

Pure: this module must not call the driver, the network service, the
resource tracker or the database (the manager does).
"""

from __future__ import annotations

import json
import uuid as uuid_lib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sriovirt import exception
from sriovirt.compute.claims import Claim, ClaimedDevice
from sriovirt.db.records import InstanceRecord
from sriovirt.network import api as network_api
from sriovirt.network.values import PortRequest
from sriovirt.objects.instance_pci_requests import (
    InstancePCIRequest,
    InstancePCIRequests,
)
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, PciDevice
from sriovirt.pci.request import PciRequest
from sriovirt.placement import tree as provider_tree
from sriovirt.virt.driver import Instance


@dataclass(frozen=True, slots=True, kw_only=True)
class BootRequest:
    """What to boot: a name, ports (guest NIC order), flavor and image."""

    name: str
    port_ids: tuple[str, ...]
    flavor_extra_specs: Mapping[str, str] = field(default_factory=dict)
    image_properties: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 64
    vcpus: int = 1
    uuid: str = field(default_factory=lambda: str(uuid_lib.uuid4()))
    #: Port id -> the PF resource provider the scheduler's Placement
    #: allocation took its VF (or PF) from: the claim takes a device of
    #: exactly that PF.  Empty: no scheduler, any matching device.
    port_providers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortPlan:
    """One port of a boot: what it asks for and its PCI request."""

    request: PortRequest
    pci_request: PciRequest | None


def port_plan(request: PortRequest) -> PortPlan:
    """``request`` with one PCI request (a fresh request id, the port as
    requester) when it needs a VF or PF."""
    pci = None
    if request.dev_type is not None:
        spec = {
            "physical_network": str(request.physical_network),
            "dev_type": request.dev_type.value,
        }
        pci = PciRequest(spec=[spec], requester_id=request.port_id)
    return PortPlan(request=request, pci_request=pci)


def pinned_pfs(
    boot: BootRequest,
    plans: Sequence[PortPlan],
    node_uuid: str,
    devices: Iterable[PciDevice],
) -> dict[str, PciAddress]:
    """PCI request id -> PF address, for each port the scheduler placed
    on a PF provider of this node (``boot.port_providers``).

    A provider's uuid is computed from the node's uuid and the PF's
    address (:func:`~sriovirt.placement.tree.child_uuid`), so it is
    found among the PFs of the tracked devices.  Raises
    :class:`~sriovirt.exception.Invalid` for a provider that is no PF of
    this node, or a port the boot does not have.
    """
    if not boot.port_providers:
        return {}
    pfs: dict[str, PciAddress] = {}
    for dev in devices:
        pf = dev.address if dev.dev_type is DevType.PF else dev.parent_addr
        if pf is not None:
            pfs.setdefault(provider_tree.child_uuid(node_uuid, str(pf)), pf)
    by_port = {p.request.port_id: p for p in plans}
    out: dict[str, PciAddress] = {}
    for port_id, provider in sorted(boot.port_providers.items()):
        plan = by_port.get(port_id)
        if plan is None or plan.pci_request is None:
            raise exception.Invalid(
                reason=f"the scheduler placed port {port_id} on provider "
                f"{provider}, but the boot has no SR-IOV port {port_id}"
            )
        pf = pfs.get(provider)
        if pf is None:
            raise exception.Invalid(
                reason=f"the scheduler placed port {port_id} on provider "
                f"{provider}, which is no PF provider of node {node_uuid} "
                f"(its PFs: {', '.join(sorted(map(str, pfs.values())))})"
            )
        out[plan.pci_request.request_id] = pf
    return out


def guest_instance(boot: BootRequest) -> Instance:
    return Instance(
        name=boot.name,
        uuid=boot.uuid,
        memory_mb=boot.memory_mb,
        vcpus=boot.vcpus,
    )


def wanted(plans: Sequence[PortPlan], request_id: str | None) -> str:
    """What the unsatisfied request asked for, naming port and physnet
    (every SR-IOV port's need when the request is not known)."""
    needs = [
        _need(plan.request)
        for plan in plans
        if plan.pci_request is not None
        and request_id in (None, plan.pci_request.request_id)
    ]
    if not needs:
        needs = [_need(p.request) for p in plans if p.pci_request]
    return "; ".join(needs)


def _need(req: PortRequest) -> str:
    dev_type = req.dev_type.value if req.dev_type else "device"
    return (
        f"port {req.port_id} ({req.vnic_type.value}) needs a free "
        f"{dev_type} on physical network {req.physical_network}"
    )


def device_of(plan: PortPlan, claim: Claim) -> ClaimedDevice:
    assert plan.pci_request is not None
    (device,) = claim.by_request(plan.pci_request.request_id)
    return device


def pci_binding(plan: PortPlan, claim: Claim) -> network_api.PciBinding | None:
    """The claimed device as ``binding:profile`` shows it.

    A VF also gets its PF's MAC (``pf_mac_address``) and its index among
    the PF's VFs (``vf_num``), where the inventory knows them; a PF or
    a plain PCI device gets neither, as Nova writes them.
    """
    if plan.pci_request is None:
        return None
    device = device_of(plan, claim)
    vf = device.dev_type is DevType.VF
    return network_api.PciBinding(
        address=device.address,
        vendor_id=device.vendor_id,
        product_id=device.product_id,
        physical_network=device.physical_network,
        pf_mac_address=device.pf_mac_address if vf else None,
        vf_num=device.vf_num if vf else None,
    )


def pci_requests_json(instance_uuid: str, plans: Sequence[PortPlan]) -> str:
    requests = InstancePCIRequests(
        instance_uuid=instance_uuid,
        requests=[
            InstancePCIRequest.from_pci_request(p.pci_request)
            for p in plans
            if p.pci_request is not None
        ],
    )
    return requests.to_json()


def requested_networks_json(plans: Sequence[PortPlan]) -> str:
    """The ports in guest NIC order, each with its vnic type at boot."""
    return to_json(
        [
            {"port_id": p.request.port_id, "vnic_type": p.request.vnic_type}
            for p in plans
        ]
    )


def requested_ports(record: InstanceRecord) -> dict[str, str | None]:
    """port id -> its vnic type at boot, in guest NIC order (None for a
    row that stored only the port ids)."""
    value = json.loads(record.requested_networks or "[]")
    found: dict[str, str | None] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            found[str(item.get("port_id"))] = item.get("vnic_type")
        else:
            found[str(item)] = None
    return found


def port_ids(record: InstanceRecord) -> list[str]:
    return list(requested_ports(record))


def to_json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def instance_record(
    boot: BootRequest,
    plans: Sequence[PortPlan],
    *,
    host: str,
    node: str,
    vm_state: str,
    task_state: str | None = None,
) -> InstanceRecord:
    """The ``instances`` row of a boot (the guest XML comes later)."""
    return InstanceRecord(
        uuid=boot.uuid,
        vm_state=vm_state,
        task_state=task_state,
        host=host,
        node=node,
        flavor=to_json(
            {
                "extra_specs": dict(boot.flavor_extra_specs),
                "memory_mb": boot.memory_mb,
                "vcpus": boot.vcpus,
            }
        ),
        image=to_json({"properties": dict(boot.image_properties)}),
        name=boot.name,
        requested_networks=requested_networks_json(plans),
    )
