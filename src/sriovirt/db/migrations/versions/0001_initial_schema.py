"""initial schema

The four tables as first released; ``pci_devices`` has no ``request_id``
yet (revision 0002 adds it).  Frozen history: never import the models.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("hypervisor_hostname", sa.String(255), nullable=False),
        sa.Column("pci_stats", sa.Text(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_compute_nodes"),
        sa.UniqueConstraint("uuid", name="uq_compute_nodes_uuid"),
        sa.UniqueConstraint(
            "host",
            "hypervisor_hostname",
            name="uq_compute_nodes_host_hypervisor_hostname",
        ),
    )
    op.create_table(
        "pci_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compute_node_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(12), nullable=False),
        sa.Column("vendor_id", sa.String(4), nullable=False),
        sa.Column("product_id", sa.String(4), nullable=False),
        sa.Column("dev_type", sa.String(8), nullable=False),
        sa.Column("parent_addr", sa.String(12), nullable=True),
        sa.Column("numa_node", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(36), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=True),
        sa.Column("extra_info", sa.Text(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_pci_devices"),
        sa.ForeignKeyConstraint(
            ["compute_node_id"],
            ["compute_nodes.id"],
            name="fk_pci_devices_compute_node_id_compute_nodes",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "compute_node_id",
            "address",
            name="uq_pci_devices_compute_node_id_address",
        ),
    )
    op.create_index(
        "ix_pci_devices_instance_uuid", "pci_devices", ["instance_uuid"]
    )
    op.create_table(
        "instances",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("vm_state", sa.String(255), nullable=False),
        sa.Column("task_state", sa.String(255), nullable=True),
        sa.Column("flavor", sa.Text(), nullable=False),
        sa.Column("image", sa.Text(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("uuid", name="pk_instances"),
    )
    op.create_index("ix_instances_host_node", "instances", ["host", "node"])
    op.create_table(
        "instance_pci_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("requests", sa.Text(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_instance_pci_requests"),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
            name="fk_instance_pci_requests_instance_uuid_instances",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "instance_uuid", name="uq_instance_pci_requests_instance_uuid"
        ),
    )


def downgrade() -> None:
    op.drop_table("instance_pci_requests")
    op.drop_index("ix_instances_host_node", table_name="instances")
    op.drop_table("instances")
    op.drop_index("ix_pci_devices_instance_uuid", table_name="pci_devices")
    op.drop_table("pci_devices")
    op.drop_table("compute_nodes")
