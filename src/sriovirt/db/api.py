"""Database access of sriovirt: the entry points callers use.

Everything here takes a connection URL (a value: the caller reads
``[database] connection``) and returns plain values from
:mod:`sriovirt.db.records`; ORM rows never leave :mod:`sriovirt.db`.
SQLAlchemy and alembic errors are translated into
:class:`~sriovirt.exception.DatabaseError` naming the URL with its
password masked.

Entry points:

* :func:`sync`, :func:`version`, :func:`check_synced`, :func:`head`,
  :func:`history`: the schema (from :mod:`sriovirt.db.migration`);
* :func:`mask_url`, :func:`create_engine`, :func:`sqlite_file`: URLs and
  engines (from :mod:`sriovirt.db.engine`);
* :class:`Database`: an engine plus the queries the compute service needs
  (compute node, its PCI devices and pools, instances and their PCI
  requests, services and their heartbeats), each method one transaction
  over the per-table modules :mod:`~sriovirt.db.compute_nodes`,
  :mod:`~sriovirt.db.pci_devices`, :mod:`~sriovirt.db.instances` and
  :mod:`~sriovirt.db.services`.

This module must not hold queries itself (they live per table), read
configuration or import the objects layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator, Mapping

from oslo_utils import uuidutils
from sqlalchemy import exc, orm

from sriovirt import exception
from sriovirt.db import compute_nodes, instances, pci_devices, services
from sriovirt.db.engine import (
    create_engine,
    error_reason,
    mask_url,
    sqlite_file,
    translated,
)
from sriovirt.db.migration import (
    check_synced,
    head,
    history,
    sync,
    version,
)
from sriovirt.db.records import (
    ComputeNodeRecord,
    InstanceRecord,
    MigrationStep,
    PciDeviceRecord,
    PciSaveResult,
)
from sriovirt.db.services import ServiceRecord

__all__ = [
    "Database",
    "ServiceRecord",
    "check_synced",
    "create_engine",
    "head",
    "history",
    "mask_url",
    "sqlite_file",
    "sync",
    "version",
]


class Database:
    """An engine for one URL and the queries of the compute service.

    Each method is one transaction.  Call :meth:`close` (or use it as a
    context manager) to release the connections.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.masked_url = mask_url(url)
        self.engine = create_engine(url, create_parent=False)
        self._sessions = orm.sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[orm.Session]:
        with translated(self.url), self._sessions.begin() as session:
            yield session

    def check_synced(self) -> MigrationStep:
        """Raise DatabaseNotSynced unless the schema is at the head."""
        return check_synced(self.url)

    # compute nodes

    def get_compute_node(
        self, host: str, hypervisor_hostname: str
    ) -> ComputeNodeRecord | None:
        with self._session() as session:
            return compute_nodes.get(session, host, hypervisor_hostname)

    def get_compute_nodes_by_uuids(
        self, uuids: Collection[str]
    ) -> dict[str, ComputeNodeRecord]:
        """The nodes of ``uuids`` (absent ones left out), one query.

        The scheduler reads every candidate host's ``pci_stats`` here.
        """
        with self._session() as session:
            return compute_nodes.get_by_uuids(session, list(uuids))

    def get_or_create_compute_node(
        self,
        host: str,
        hypervisor_hostname: str,
        uuid: str | None = None,
    ) -> ComputeNodeRecord:
        """The node of (host, hypervisor_hostname), created if missing.

        Two services racing to create it both end up with the same row:
        the loser's insert hits the unique constraint and it reads the
        winner's row.
        """
        found = self.get_compute_node(host, hypervisor_hostname)
        if found is not None:
            return found
        uuid = uuid or uuidutils.generate_uuid()
        try:
            with self._sessions.begin() as session:
                return compute_nodes.add(
                    session, uuid, host, hypervisor_hostname
                )
        except exc.IntegrityError:
            found = self.get_compute_node(host, hypervisor_hostname)
            if found is None:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"cannot create compute node {host}/"
                    f"{hypervisor_hostname}: its uuid {uuid} is taken",
                ) from None
            return found
        except exc.SQLAlchemyError as error:
            raise exception.DatabaseError(
                connection=self.masked_url, reason=error_reason(error)
            ) from error

    # PCI devices and pools

    def get_pci_devices(self, compute_node_id: int) -> list[PciDeviceRecord]:
        """The node's devices, ordered by address.

        A row whose ``extra_info`` cannot be read is a DatabaseError
        naming it; :meth:`read_pci_devices` reports it instead.
        """
        records = self.read_pci_devices(compute_node_id)
        for record in records:
            if record.problem is not None:
                raise exception.DatabaseError(
                    connection=self.masked_url, reason=record.problem
                )
        return records

    def read_pci_devices(self, compute_node_id: int) -> list[PciDeviceRecord]:
        """The node's rows as stored, ordered by address, with their ids.

        Never fails on a row's content: a row edited by hand comes back
        with ``problem`` set (unreadable ``extra_info``) or with the odd
        values as they are, for the caller to decode and report.
        """
        with self._session() as session:
            return pci_devices.read(session, compute_node_id)

    def read_pci_state(
        self, compute_node_id: int
    ) -> tuple[list[PciDeviceRecord], int]:
        """The node's rows (as :meth:`read_pci_devices`) and its
        ``pci_generation``, read in one transaction."""
        with self._session() as session:
            return (
                pci_devices.read(session, compute_node_id),
                pci_devices.generation(session, compute_node_id),
            )

    def save_pci_changes(
        self,
        compute_node_id: int,
        changed: Mapping[str, PciDeviceRecord | None],
        pci_stats: str,
        *,
        expected_generation: int,
    ) -> PciSaveResult:
        """Store the rows of a claim, allocation or free: each address of
        ``changed`` with its record (None: the device is gone) and the
        pools, one transaction, only if no other writer stored the
        node's PCI state since ``expected_generation`` (else
        :class:`~sriovirt.exception.PciStateConflict`, nothing written).
        Costs what changed: no row other than those is read."""
        with self._session() as session:
            return pci_devices.save_changes(
                session,
                self.masked_url,
                compute_node_id,
                changed,
                pci_stats,
                expected_generation=expected_generation,
            )

    def save_pci_state(
        self,
        compute_node_id: int,
        devices: Iterable[PciDeviceRecord],
        pci_stats: str,
        *,
        expected: Mapping[str, PciDeviceRecord] | None = None,
        keep: Collection[str] = (),
    ) -> PciSaveResult:
        """Make the node's stored devices and pools equal the given ones.

        One transaction, one SELECT: stored rows are keyed by address and
        only the differences are written (bulk insert, bulk update by
        primary key, delete of the rows no longer given).  Saving the
        same state twice writes nothing the second time
        (``result.written == 0``).

        Writers of one node are serialised: the transaction first locks
        the node (its row on PostgreSQL/MySQL, the database on SQLite),
        so the rows compared are the latest committed ones.  With
        ``expected`` (the rows as the caller last read or wrote them,
        by address) the save is a compare-and-swap: if the stored rows
        differ, another writer got there first and
        :class:`~sriovirt.exception.PciStateConflict` is raised with
        nothing written.  Rows at the addresses in ``keep`` are left as
        they are (neither updated nor deleted).
        """
        wanted = pci_devices.by_address(
            devices, compute_node_id, self.masked_url
        )
        with self._session() as session:
            return pci_devices.save_state(
                session,
                self.masked_url,
                compute_node_id,
                wanted,
                pci_stats,
                expected=expected,
                keep=keep,
            )

    # instances

    def create_instance(
        self, instance: InstanceRecord, pci_requests: str | None = None
    ) -> InstanceRecord:
        """Store a new instance and, if given, its PCI requests (JSON).

        Raises :class:`~sriovirt.exception.ServerNameInUse` when another
        instance of the host has the name (names are unique per host:
        two boots of one name racing, one wins).
        """
        try:
            with self._session() as session:
                return instances.create(session, instance, pci_requests)
        except exception.DatabaseError:
            taken = None
            if instance.host is not None and instance.name is not None:
                taken = self.get_instance_by_name(instance.host, instance.name)
            if taken is None or taken.uuid == instance.uuid:
                raise
            raise exception.ServerNameInUse(
                name=instance.name, host=instance.host, uuid=taken.uuid
            ) from None

    def get_instance(self, uuid: str) -> InstanceRecord | None:
        with self._session() as session:
            return instances.get(session, uuid)

    def get_instance_by_name(
        self, host: str, name: str
    ) -> InstanceRecord | None:
        """The instance named ``name`` on ``host`` (names are unique
        per host), or None."""
        with self._session() as session:
            return instances.by_name(session, host, name)

    def get_instances_by_host(
        self, host: str, node: str | None = None
    ) -> list[InstanceRecord]:
        """Instances on ``host`` (and ``node`` if given), by uuid.

        What the compute service reads at restart to know which
        instances exist.
        """
        with self._session() as session:
            return instances.by_host(session, host, node)

    def get_instances_by_name_on_hosts(
        self, name: str, hosts: Collection[str]
    ) -> list[InstanceRecord]:
        """The instances named ``name`` on any of ``hosts`` (at most one
        per host), by host; one query."""
        with self._session() as session:
            return instances.by_name_on_hosts(session, name, hosts)

    def get_instances_of_hosts(
        self, hosts: Collection[str]
    ) -> list[InstanceRecord]:
        """The instances of any of ``hosts``, by host then uuid; one
        query."""
        with self._session() as session:
            return instances.by_hosts(session, hosts)

    def update_instance(
        self,
        uuid: str,
        *,
        vm_state: str | None = None,
        task_state: str | None = None,
        clear_task_state: bool = False,
        host: str | None = None,
        node: str | None = None,
        domain_xml: str | None = None,
    ) -> InstanceRecord:
        """Change the given fields; ``clear_task_state`` sets it to None."""
        with self._session() as session:
            record = instances.update(
                session,
                uuid,
                vm_state=vm_state,
                task_state=task_state,
                clear_task_state=clear_task_state,
                host=host,
                node=node,
                domain_xml=domain_xml,
            )
            if record is None:
                raise exception.DatabaseError(
                    connection=self.masked_url,
                    reason=f"instance {uuid} does not exist",
                )
            return record

    def delete_instance(self, uuid: str) -> bool:
        """Delete the instance and its PCI requests; False if absent."""
        with self._session() as session:
            return instances.delete(session, uuid)

    # instance PCI requests

    def save_instance_pci_requests(
        self, instance_uuid: str, requests: str
    ) -> None:
        """Create or replace the instance's PCI requests (JSON text)."""
        with self._session() as session:
            instances.save_pci_requests(session, instance_uuid, requests)

    def get_instance_pci_requests(self, instance_uuid: str) -> str | None:
        """The instance's PCI requests (JSON text), None if never saved."""
        found = self.get_pci_requests_by_instances([instance_uuid])
        return found.get(instance_uuid)

    def get_pci_requests_by_instances(
        self, instance_uuids: Iterable[str]
    ) -> dict[str, str]:
        """PCI requests (JSON text) of several instances, by uuid."""
        with self._session() as session:
            return instances.pci_requests_by_instances(session, instance_uuids)

    # services

    def service_heartbeat(
        self, host: str, binary: str, topic: str, version: str
    ) -> ServiceRecord:
        """Register the service, or count one more heartbeat of it."""
        with self._session() as session:
            return services.heartbeat(session, host, binary, topic, version)

    def get_service(self, host: str, binary: str) -> ServiceRecord | None:
        with self._session() as session:
            return services.get(session, host, binary)

    def get_services_of_hosts(
        self, hosts: Collection[str], binary: str
    ) -> dict[str, ServiceRecord]:
        """host -> its ``binary`` service, for ``hosts``, in one query."""
        with self._session() as session:
            return services.by_hosts(session, hosts, binary)

    def get_services(self, binary: str | None = None) -> list[ServiceRecord]:
        """Every service (of ``binary``), by host."""
        with self._session() as session:
            return services.all_services(session, binary)

    def set_service_disabled(
        self, host: str, binary: str, disabled: bool, reason: str | None
    ) -> ServiceRecord:
        """Disable (with ``reason``) or enable the service; raises
        :class:`~sriovirt.exception.ServiceNotFound` if it never
        registered."""
        with self._session() as session:
            record = services.set_disabled(
                session, host, binary, disabled, reason
            )
        if record is None:
            raise exception.ServiceNotFound(
                binary=binary, host=host, database=self.masked_url
            )
        return record
