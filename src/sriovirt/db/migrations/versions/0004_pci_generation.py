"""add compute node pci_generation

``compute_nodes.pci_generation``: a counter every write of a node's PCI
state (its ``pci_devices`` rows or ``pci_stats``) increments in the same
transaction.  A writer that read generation G and finds G still stored
knows nobody wrote in between, so a claim can store only the rows it
changed instead of comparing every row of the node.  Existing nodes
start at 0.  Frozen history: never import the models.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_nodes") as batch:
        batch.add_column(
            sa.Column(
                "pci_generation",
                sa.Integer(),
                nullable=False,
                server_default="0",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("compute_nodes") as batch:
        batch.drop_column("pci_generation")
