"""add services

``services``: one row per service process kind on a host (``host`` +
``binary``, e.g. ``sriovirt-compute``), with the topic it serves, its
heartbeat (``last_seen_up``, ``report_count``), whether an operator
disabled it (and why) and the newest RPC version it serves.  Frozen
history: never import the models.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column(
            "report_count", sa.Integer(), nullable=False, server_default="0"
        ),
        sa.Column("last_seen_up", sa.DateTime(), nullable=True),
        sa.Column(
            "disabled", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("host", "binary", name="uq_services_host_binary"),
    )


def downgrade() -> None:
    op.drop_table("services")
