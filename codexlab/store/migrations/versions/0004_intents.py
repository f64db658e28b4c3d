"""Add the `intents` table: the glyph-record intents (Goal, Plan, Skill, Note) a service sent for each run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """`intents` starts empty; nothing else changes."""
    op.create_table(
        "intents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.String, nullable=False),
        sa.Column("sheet_run_id", sa.String, nullable=False),
        sa.Column("cell_id", sa.String, nullable=False),
        sa.Column("container_id", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("tag", sa.String, nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("action", sa.String),
        sa.Column("origin", sa.String, nullable=False),
        sa.Column(
            "metadata",
            sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
            nullable=False,
        ),
    )
    op.create_index("ix_intents_sheet_run_id", "intents", ["sheet_run_id"])
    op.create_index("ix_intents_container_timestamp", "intents", ["container_id", "timestamp"])


def downgrade() -> None:
    """Drop `intents` (the stored intents are lost)."""
    op.drop_index("ix_intents_container_timestamp", table_name="intents")
    op.drop_index("ix_intents_sheet_run_id", table_name="intents")
    op.drop_table("intents")
