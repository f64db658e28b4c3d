"""Add `run_anchors`: each run's beam count and terminal hash, chained and sealed with the chain key.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01

Beams stored before this revision were hashed without their scores (hash scheme 1) and have no anchors.
The first codexlab that opens such a store seals each of its runs as found, in the same transaction as
this migration (`codexlab.store.anchors.adopt_legacy`): from then on deleting or re-hashing them is
detected, but their scores stay outside their hashes and nothing before the upgrade is vouched for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `run_anchors` (empty; the runs already stored are sealed by the caller, which holds the key)."""
    op.create_table(
        "run_anchors",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("sheet_run_id", sa.String, nullable=False),
        sa.Column("beam_count", sa.Integer, nullable=False),
        sa.Column("terminal_hash", sa.String, nullable=False),
        sa.Column("prev_mac", sa.String),
        sa.Column("key_id", sa.String, nullable=False),
        sa.Column("created", sa.String, nullable=False),
        sa.Column("mac", sa.String, nullable=False),
    )
    op.create_index("ix_run_anchors_sheet_run_id", "run_anchors", ["sheet_run_id", "seq"])


def downgrade() -> None:
    """Drop `run_anchors` (the store can no longer prove that runs were not deleted or re-hashed)."""
    op.drop_index("ix_run_anchors_sheet_run_id", table_name="run_anchors")
    op.drop_table("run_anchors")
