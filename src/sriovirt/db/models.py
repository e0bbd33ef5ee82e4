"""SQLAlchemy 2 table models of sriovirt's database.

One class per table, typed with ``Mapped[...]``.  These classes describe
the schema at the newest migration; the alembic migrations in
:mod:`sriovirt.db.migrations` must produce exactly this schema (a test
compares them with alembic's autogenerate).  JSON payloads (``pci_stats``,
``extra_info``, flavor, image, PCI requests) are stored as text: their
format belongs to the objects layer, not to the database.

Only :mod:`sriovirt.db` may import this module; the rest of the project
receives plain values from :mod:`sriovirt.db.api`.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, so that migrations, models and every
#: backend agree on what to call (and later drop) each constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36
NAME_LEN = 255
#: "dddd:bb:ss.f"
PCI_ADDRESS_LEN = 12


def utcnow() -> datetime.datetime:
    """Naive UTC now: every backend stores it the same way."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(), default=utcnow
    )
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(), onupdate=utcnow
    )


class ComputeNodeRow(TimestampMixin, Base):
    __tablename__ = "compute_nodes"
    __table_args__ = (UniqueConstraint("host", "hypervisor_hostname"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID_LEN), unique=True)
    host: Mapped[str] = mapped_column(String(NAME_LEN))
    hypervisor_hostname: Mapped[str] = mapped_column(String(NAME_LEN))
    #: JSON list of pools, as PciDevicePoolList/PciStats.to_json() write.
    pci_stats: Mapped[str | None] = mapped_column(Text)
    #: Incremented by every write of the node's PCI state (rows or
    #: pools): the compare-and-swap token of a claim's small write.
    pci_generation: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )


class PciDeviceRow(TimestampMixin, Base):
    __tablename__ = "pci_devices"
    __table_args__ = (
        UniqueConstraint("compute_node_id", "address"),
        Index("ix_pci_devices_instance_uuid", "instance_uuid"),
        Index("ix_pci_devices_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compute_node_id: Mapped[int] = mapped_column(
        ForeignKey("compute_nodes.id", ondelete="CASCADE")
    )
    address: Mapped[str] = mapped_column(String(PCI_ADDRESS_LEN))
    vendor_id: Mapped[str] = mapped_column(String(4))
    product_id: Mapped[str] = mapped_column(String(4))
    dev_type: Mapped[str] = mapped_column(String(8))
    parent_addr: Mapped[str | None] = mapped_column(String(PCI_ADDRESS_LEN))
    numa_node: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(36))
    instance_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    #: Added by migration 0002: which PCI request claimed the device.
    request_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    #: JSON object of strings: tags, ifname, physical_network, ...
    extra_info: Mapped[str] = mapped_column(Text, default="{}")


class InstanceRow(TimestampMixin, Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_host_node", "host", "node"),
        UniqueConstraint("host", "display_name"),
    )

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(NAME_LEN))
    node: Mapped[str | None] = mapped_column(String(NAME_LEN))
    vm_state: Mapped[str] = mapped_column(String(NAME_LEN))
    task_state: Mapped[str | None] = mapped_column(String(NAME_LEN))
    #: JSON objects.
    flavor: Mapped[str] = mapped_column(Text, default="{}")
    image: Mapped[str] = mapped_column(Text, default="{}")
    #: Added by migration 0003: the server's name (unique per host),
    #: the port ids it was booted with (JSON list) and its guest XML.
    display_name: Mapped[str | None] = mapped_column(String(NAME_LEN))
    requested_networks: Mapped[str | None] = mapped_column(Text)
    domain_xml: Mapped[str | None] = mapped_column(Text)


class InstancePciRequestsRow(TimestampMixin, Base):
    __tablename__ = "instance_pci_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), unique=True
    )
    #: JSON list of requests (InstancePCIRequests).
    requests: Mapped[str] = mapped_column(Text, default="[]")


class ServiceRow(TimestampMixin, Base):
    """Added by migration 0005: a service on a host and its heartbeat."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(NAME_LEN))
    binary: Mapped[str] = mapped_column(String(NAME_LEN))
    topic: Mapped[str] = mapped_column(String(NAME_LEN))
    report_count: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )
    last_seen_up: Mapped[datetime.datetime | None] = mapped_column(DateTime())
    disabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    disabled_reason: Mapped[str | None] = mapped_column(String(NAME_LEN))
    #: The newest RPC API version the service serves.
    version: Mapped[str] = mapped_column(String(16))
