"""Add the `metrics` table and `beam_events.verdict` (the SoulLaw verdict attached after scoring).

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Existing beams get `verdict` NULL (not vetted yet); `metrics` starts empty."""
    with op.batch_alter_table("beam_events") as batch:
        batch.add_column(sa.Column("verdict", sa.String))
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("unit", sa.String),
        sa.Column("tags", sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")),
        sa.Column("timestamp", sa.String, nullable=False),
    )
    op.create_index("ix_metrics_name_timestamp", "metrics", ["name", "timestamp"])


def downgrade() -> None:
    """Drop `metrics` and `beam_events.verdict` (the verdicts are lost)."""
    op.drop_index("ix_metrics_name_timestamp", table_name="metrics")
    op.drop_table("metrics")
    with op.batch_alter_table("beam_events") as batch:
        batch.drop_column("verdict")
