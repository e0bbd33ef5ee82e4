"""``sriovirt server boot|list|show|delete``: servers on this host
(in-process), or on every host of the cloud (over the message bus).

Two transports, one flow.  With ``[DEFAULT] transport_url`` unset (the
embedded default), each command builds the compute manager from the
configuration (:mod:`sriovirt.cmd.local`: the driver ``[DEFAULT]
compute_driver`` names, the resource tracker loaded and refreshed but
never started, so a command releases no claim, the network service of
``[network]`` and the database) and calls it.  ``boot`` goes through the
scheduler (:class:`~sriovirt.compute.conductor.SchedulerManager` over
this one host and the Placement of ``[placement]``, embedded by
default): allocation candidates, filters, the allocation claimed, then
the manager, pinned to the allocated PF; ``delete`` terminates the
server, then deletes its allocation.  ``show`` and ``list`` read the
database (the stored guest XML, the PCI requests and devices) and the
network service (the ports' binding), never the hypervisor: the embedded
test-driver host forgets its guests when the process that made them
exits.  With ``transport_url`` set, :mod:`sriovirt.cmd.cluster` opens
the scheduler side (no driver) and the compute services do the work over
RPC.

This module must not boot, bind, claim or free anything itself (the
manager does), nor decide what a failure leaves behind.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from oslo_config import cfg

from sriovirt import cmd, exception
from sriovirt.cmd import output
from sriovirt.cmd.cluster import (
    Cluster,
    open_cluster,
    over_rpc,
    remote_computes,
)
from sriovirt.cmd.local import Host, open_host, open_placement, request_spec
from sriovirt.cmd.progress import StepProgress
from sriovirt.compute import boot as boot_values
from sriovirt.compute.boot import BootRequest
from sriovirt.db.records import InstanceRecord
from sriovirt.objects.instance_pci_requests import InstancePCIRequests

# --- the server as printed -------------------------------------------------

INTERFACE_COLUMNS = (
    "port_id",
    "vnic_type",
    "vif_type",
    "pci_slot",
    "pci_request_id",
    "physical_network",
)


@dataclasses.dataclass(frozen=True)
class ServerReport:
    record: InstanceRecord
    interfaces: list[dict[str, Any]]
    #: What was done, for the human rendering ("booted", ...).
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            **_summary(r, _status(r)),
            "interfaces": [dict(i) for i in self.interfaces],
            "domain_xml": r.domain_xml,
        }


def _summary(record: InstanceRecord, status: str) -> dict[str, Any]:
    """The ``{name, uuid, host, status}`` every server output starts with
    (design section 9)."""
    return {
        "name": record.name,
        "uuid": record.uuid,
        "host": record.host,
        "status": status,
    }


def _status(record: InstanceRecord) -> str:
    return record.vm_state.upper()


def _interfaces(
    found: Host | Cluster, record: InstanceRecord
) -> list[dict[str, Any]]:
    """One entry per port, in guest NIC order, from the stored PCI
    requests and devices and the ports' binding."""
    stored = found.db.get_instance_pci_requests(record.uuid)
    requests = (
        []
        if stored is None
        else InstancePCIRequests.from_json(record.uuid, stored).requests
    )
    by_port = {r.requester_id: r for r in requests}
    slots = _slots(found, record)
    interfaces = []
    for port_id in boot_values.port_ids(record):
        try:
            port = found.network.show_port(port_id)
        except exception.NotFound:
            port = {}
        request = by_port.get(port_id)
        request_id = None if request is None else request.request_id
        physnet = None
        if request is not None and request.spec:
            physnet = request.spec[0].get("physical_network")
        interfaces.append(
            {
                "port_id": port_id,
                "vnic_type": port.get("binding:vnic_type"),
                "vif_type": port.get("binding:vif_type"),
                "pci_slot": slots.get(request_id) if request_id else None,
                "pci_request_id": request_id,
                "physical_network": physnet,
            }
        )
    return interfaces


def _slots(found: Host | Cluster, record: InstanceRecord) -> dict[str, str]:
    """request id -> the address of the device allocated for it."""
    node_name = found.node_of(record)
    host = found.host if isinstance(found, Host) else record.host
    if host is None or node_name is None:
        return {}
    node = found.db.get_compute_node(host, node_name)
    if node is None:
        return {}
    return {
        d.request_id: d.address
        for d in found.db.get_pci_devices(node.id)
        if d.instance_uuid == record.uuid and d.request_id
    }


def _report(
    found: Host | Cluster, record: InstanceRecord, action: str | None = None
) -> ServerReport:
    return ServerReport(record, _interfaces(found, record), action)


class _ServerDocument(output.Document[ServerReport]):
    def render(
        self,
        report: ServerReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        r = report.record
        if report.action:
            print(f"{report.action} server {r.name} ({r.uuid})", file=out)
        output.table(
            out,
            ("field", "value"),
            [
                ("name", r.name),
                ("uuid", r.uuid),
                ("host", r.host),
                ("status", _status(r)),
            ],
            parsed_args,
        )
        output.table(
            out,
            INTERFACE_COLUMNS,
            [
                ["-" if i[c] is None else i[c] for c in INTERFACE_COLUMNS]
                for i in report.interfaces
            ],
            parsed_args,
        )
        size = len(r.domain_xml or "")
        print(
            f"guest XML: {size} characters (-c domain_xml -f value prints it)",
            file=out,
        )


# --- the commands ------------------------------------------------------------


def _pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or ():
        key, eq, val = value.partition("=")
        if not eq or not key.strip():
            raise cmd.CommandLineError(
                reason=f"{option} {value!r}: wanted KEY=VALUE"
            )
        pairs[key.strip()] = val.strip()
    return pairs


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


class Boot(_ServerDocument):
    """boot a server on this host with the given ports

    All or nothing: a boot that fails at any step undoes every earlier
    one (devices freed, ports unbound, guest removed, rows deleted) and
    says which step failed.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="the server's name")
        parser.add_argument(
            "--port",
            dest="ports",
            metavar="PORT_ID",
            action="append",
            required=True,
            help="a port to plug, in guest NIC order (repeatable)",
        )
        parser.add_argument(
            "--flavor-extra-spec",
            dest="extra_specs",
            metavar="KEY=VALUE",
            action="append",
            help="a flavor extra spec, e.g. hw:virtio_packed_ring=true "
            "(repeatable)",
        )
        parser.add_argument(
            "--image-property",
            dest="image_properties",
            metavar="KEY=VALUE",
            action="append",
            help="an image property, e.g. hw_virtio_packed_ring=true "
            "(repeatable)",
        )
        parser.add_argument(
            "--memory-mb", type=_positive, default=64, metavar="N"
        )
        parser.add_argument("--vcpus", type=_positive, default=1, metavar="N")
        parser.add_argument(
            "--force-host",
            metavar="HOST",
            help="boot on this host without running the scheduler's "
            "filters (Nova's forced destination): no trait is required "
            "of it, but its resources are still claimed in Placement",
        )
        return parser

    def report(self, parsed_args: argparse.Namespace) -> ServerReport:
        conf = output.conf_of(self)
        request = BootRequest(
            name=parsed_args.name,
            port_ids=tuple(parsed_args.ports),
            flavor_extra_specs=_pairs(
                parsed_args.extra_specs, "--flavor-extra-spec"
            ),
            image_properties=_pairs(
                parsed_args.image_properties, "--image-property"
            ),
            memory_mb=parsed_args.memory_mb,
            vcpus=parsed_args.vcpus,
        )
        if over_rpc(conf):
            with (
                open_cluster(conf) as cluster,
                open_placement(conf) as placement,
                remote_computes(conf, cluster.db) as computes,
            ):
                spec = request_spec(conf, cluster.network, request)
                scheduler = cluster.scheduler(conf, placement, computes)
                record = scheduler.schedule_and_build(
                    request, spec, force_host=parsed_args.force_host
                )
                return _report(cluster, record, "booted")
        progress = StepProgress(sys.stderr)
        try:
            with open_host(conf) as found, open_placement(conf) as placement:
                spec = request_spec(conf, found.network, request)
                manager = found.manager(conf, progress, placement)
                scheduler = found.scheduler(conf, placement, manager)
                record = scheduler.schedule_and_build(
                    request, spec, force_host=parsed_args.force_host
                )
                return _report(found, record, "booted")
        finally:
            progress.clear()


def _host_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        metavar="HOST",
        help="the server's host, when its name is used on several hosts "
        "(with [DEFAULT] transport_url set)",
    )


@contextlib.contextmanager
def _open_any(conf: cfg.ConfigOpts) -> Iterator[Host | Cluster]:
    """The cluster over the message bus, or this host in-process."""
    if over_rpc(conf):
        with open_cluster(conf) as cluster:
            yield cluster
    else:
        with open_host(conf) as found:
            yield found


class Show(_ServerDocument):
    """show a server: its state, interfaces and guest XML"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="the server's name")
        _host_option(parser)
        return parser

    def report(self, parsed_args: argparse.Namespace) -> ServerReport:
        with _open_any(output.conf_of(self)) as found:
            record = found.get(parsed_args.name, parsed_args.host)
            return _report(found, record)


SERVER_COLUMNS = ("name", "uuid", "host", "status")


class ListServers(output.Listing):
    """list the servers of this host (of every compute host, over the
    message bus)"""

    _notes: Sequence[str] = ()

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        with _open_any(output.conf_of(self)) as found:
            if isinstance(found, Cluster):
                hosts = found.hosts()
                records = found.records()
                where = f"{len(hosts)} compute host(s)"
            else:
                records = found.db.get_instances_by_host(found.host)
                where = f"host {found.host}"
        records.sort(key=lambda r: (r.name or "", r.host or "", r.uuid))
        self._notes = (f"{len(records)} servers on {where}",)
        return SERVER_COLUMNS, [
            [r.name, r.uuid, r.host, _status(r)] for r in records
        ]

    def notes(self) -> Sequence[str]:
        return self._notes


@dataclasses.dataclass(frozen=True)
class DeleteReport:
    record: InstanceRecord

    def to_dict(self) -> dict[str, Any]:
        return _summary(self.record, "DELETED")


class Delete(output.Document[DeleteReport]):
    """delete a server: its guest, port bindings, devices and rows"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="the server's name")
        _host_option(parser)
        return parser

    def report(self, parsed_args: argparse.Namespace) -> DeleteReport:
        conf = output.conf_of(self)
        if over_rpc(conf):
            with (
                open_cluster(conf) as cluster,
                open_placement(conf) as placement,
                remote_computes(conf, cluster.db) as computes,
            ):
                record = cluster.get(parsed_args.name, parsed_args.host)
                scheduler = cluster.scheduler(conf, placement, computes)
                assert record.host is not None
                return DeleteReport(scheduler.delete(record.host, record.uuid))
        progress = StepProgress(sys.stderr)
        try:
            with open_host(conf) as found, open_placement(conf) as placement:
                record = found.get(parsed_args.name, parsed_args.host)
                manager = found.manager(conf, progress, placement)
                scheduler = found.scheduler(conf, placement, manager)
                done = scheduler.delete(found.host, record.uuid)
        finally:
            progress.clear()
        return DeleteReport(done)

    def render(
        self,
        report: DeleteReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        r = report.record
        print(f"deleted server {r.name} ({r.uuid})", file=out)
