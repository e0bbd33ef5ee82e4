"""add instance name and guest

``instances.display_name`` (the server's name, unique per host),
``instances.requested_networks`` (JSON list of the port ids the server
was booted with, in guest NIC order) and ``instances.domain_xml`` (the
guest definition as libvirt holds it).  Nullable: existing rows keep
NULL.  Frozen history: never import the models.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(
            sa.Column("display_name", sa.String(255), nullable=True)
        )
        batch.add_column(
            sa.Column("requested_networks", sa.Text(), nullable=True)
        )
        batch.add_column(sa.Column("domain_xml", sa.Text(), nullable=True))
        batch.create_unique_constraint(
            "uq_instances_host_display_name", ["host", "display_name"]
        )


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_constraint("uq_instances_host_display_name", type_="unique")
        batch.drop_column("domain_xml")
        batch.drop_column("requested_networks")
        batch.drop_column("display_name")
