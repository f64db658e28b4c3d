"""The first beam store: beams with lineage, entanglements, scores, mutations, traces, cost calibration.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    """Create every table of the first schema (no `metrics`, no `beam_events.verdict`)."""
    op.create_table(
        "beam_events",
        sa.Column("beam_id", sa.String, primary_key=True),
        sa.Column("cell_id", sa.String, nullable=False),
        sa.Column("sheet_run_id", sa.String, nullable=False),
        sa.Column("container_id", sa.String, nullable=False),
        sa.Column("eid", sa.String),
        sa.Column("stage", sa.String, nullable=False),
        sa.Column("token", sa.String, nullable=False),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("timestamp", sa.String, nullable=False),
        sa.Column("parents", _json(), nullable=False),
        sa.Column("prev_hash", sa.String),
        sa.Column("hash", sa.String),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("drift", sa.Double),
        sa.Column("qscore", sa.Double),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("v", sa.Integer, nullable=False),
    )
    op.create_index("ix_beam_events_eid_timestamp", "beam_events", ["eid", "timestamp", "seq"])
    op.create_index("ix_beam_events_cell_id", "beam_events", ["cell_id"])
    op.create_index("uq_beam_events_run_seq", "beam_events", ["sheet_run_id", "seq"], unique=True)
    op.create_index("ix_beam_events_container_timestamp", "beam_events", ["container_id", "timestamp"])

    op.create_table(
        "lineage_edges",
        sa.Column("child_id", sa.String, primary_key=True),
        sa.Column("parent_id", sa.String, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_lineage_edges_parent_id", "lineage_edges", ["parent_id"])

    op.create_table(
        "entanglements",
        sa.Column("eid", sa.String, primary_key=True),
        sa.Column("sheet_run_id", sa.String, nullable=False),
        sa.Column("created", sa.String, nullable=False),
    )
    op.create_index("ix_entanglements_sheet_run_id", "entanglements", ["sheet_run_id"])

    op.create_table(
        "entanglement_members",
        sa.Column("eid", sa.String, primary_key=True),
        sa.Column("beam_id", sa.String, primary_key=True),
        sa.Column("cell_id", sa.String, nullable=False),
        sa.Column("role", sa.String),
        sa.Column("schmidt_rank", sa.Integer),
        sa.Column("entropy_bits", sa.Double),
    )
    op.create_index("ix_entanglement_members_cell_id", "entanglement_members", ["cell_id"])

    op.create_table(
        "sqi_scores",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("v", sa.Integer, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("mutation_id", sa.String),
        sa.Column("container_id", sa.String, nullable=False),
        sa.Column("goal_match_score", sa.Double, nullable=False),
        sa.Column("rewrite_success_prob", sa.Double, nullable=False),
        sa.Column("entropy_delta", sa.Double, nullable=False),
        sa.Column("beam_id", sa.String),
        sa.Column("qscore", sa.Double),
        sa.Column("drift", sa.Double),
        sa.Column("rating", sa.String),
    )
    op.create_index("ix_sqi_scores_beam_id", "sqi_scores", ["beam_id"])
    op.create_index("ix_sqi_scores_container_timestamp", "sqi_scores", ["container_id", "timestamp"])

    op.create_table(
        "dna_mutations",
        sa.Column("mutation_id", sa.String, primary_key=True),
        sa.Column("v", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.String, nullable=False),
        sa.Column("original", _json(), nullable=False),
        sa.Column("mutated", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("accepted", sa.Boolean),
        sa.Column("qscore_before", sa.Double),
        sa.Column("qscore_after", sa.Double),
    )
    op.create_index("ix_dna_mutations_timestamp", "dna_mutations", ["timestamp"])

    op.create_table(
        "collapse_traces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("v", sa.Integer, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("expression", sa.String),
        sa.Column("output", _json()),
        sa.Column("adapter", sa.String),
        sa.Column("identity", sa.String),
        sa.Column("hologram", _json()),
        sa.Column("event", sa.String),
        sa.Column("law", sa.String),
        sa.Column("reason", sa.String),
        sa.Column("beam_id", sa.String),
        sa.Column("container_id", sa.String),
    )
    op.create_index("ix_collapse_traces_type_timestamp", "collapse_traces", ["type", "timestamp"])
    op.create_index("ix_collapse_traces_beam_id", "collapse_traces", ["beam_id"])

    op.create_table(
        "cost_calibration",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("op", sa.String, nullable=False),
        sa.Column("backend", sa.String, nullable=False),
        sa.Column("dtype", sa.String, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("flops", sa.Double),
        sa.Column("bytes", sa.Double),
        sa.Column("predicted_ms", sa.Double),
        sa.Column("actual_ms", sa.Double),
        sa.Column("timestamp", sa.String, nullable=False),
    )
    op.create_index("ix_cost_calibration_op_backend_dtype", "cost_calibration", ["op", "backend", "dtype"])


def downgrade() -> None:
    """Drop every table of the first schema."""
    for table in (
        "cost_calibration",
        "collapse_traces",
        "dna_mutations",
        "sqi_scores",
        "entanglement_members",
        "entanglements",
        "lineage_edges",
        "beam_events",
    ):
        op.drop_table(table)
