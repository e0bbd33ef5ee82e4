"""add request_id

``pci_devices.request_id``: the PCI request (one per SR-IOV port) that
claimed the device, so a port's device can be found again after a
restart.  Nullable: existing rows keep NULL (free devices have none).
Frozen history: never import the models.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: a plain ALTER on PostgreSQL, and on SQLite whatever
    # SQLite supports (a table copy when needed).
    with op.batch_alter_table("pci_devices") as batch:
        batch.add_column(sa.Column("request_id", sa.String(36), nullable=True))
        batch.create_index("ix_pci_devices_request_id", ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("pci_devices") as batch:
        batch.drop_index("ix_pci_devices_request_id")
        batch.drop_column("request_id")
