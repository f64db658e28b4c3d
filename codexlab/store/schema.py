"""The beam store's tables (SQLAlchemy Core), shared by the SQL backends, the migrations and JSONL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from codexlab.errors import StoreError, did_you_mean

__all__ = [
    "HEAD_REVISION",
    "JSON_COLUMNS",
    "METADATA",
    "NATURAL_KEYS",
    "PAYLOAD_TABLES",
    "ROW_ORDER",
    "TABLES",
    "TABLE_ALIASES",
    "UNANCHORED_REVISIONS",
    "beam_events",
    "collapse_traces",
    "cost_calibration",
    "dna_mutations",
    "entanglement_members",
    "entanglements",
    "intents",
    "lineage_edges",
    "metrics",
    "resolve_table",
    "run_anchors",
    "sqi_scores",
]

# The Alembic revision that `METADATA` describes; `ensure_tables` upgrades every store to it.
HEAD_REVISION = "0004"
# Revisions written before runs were anchored: opening one seals its runs as found (see `anchors`).
UNANCHORED_REVISIONS: tuple[str, ...] = ("0001", "0002")


def _json() -> sa.JSON:
    """JSON on SQLite, JSONB on PostgreSQL (queryable, indexable); SQL NULL for None."""
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _exact_json() -> sa.JSON:
    """JSON kept as written on every backend: JSONB would turn `1e+16` into an integer and `-0.0` into
    `0`, which changes the value the run hash chain was computed over."""
    return sa.JSON(none_as_null=True)


METADATA = sa.MetaData()

beam_events = sa.Table(
    "beam_events",
    METADATA,
    sa.Column("beam_id", sa.String, primary_key=True),
    sa.Column("cell_id", sa.String, nullable=False),
    sa.Column("sheet_run_id", sa.String, nullable=False),
    sa.Column("container_id", sa.String, nullable=False),
    sa.Column("eid", sa.String),
    sa.Column("stage", sa.String, nullable=False),
    sa.Column("token", sa.String, nullable=False),
    sa.Column("result", _exact_json(), nullable=False),
    sa.Column("timestamp", sa.String, nullable=False),
    sa.Column("parents", _json(), nullable=False),
    sa.Column("prev_hash", sa.String),
    sa.Column("hash", sa.String),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("drift", sa.Double),
    sa.Column("qscore", sa.Double),
    sa.Column("verdict", sa.String),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("v", sa.Integer, nullable=False),
    sa.Index("ix_beam_events_eid_timestamp", "eid", "timestamp", "seq"),
    sa.Index("ix_beam_events_cell_id", "cell_id"),
    sa.Index("uq_beam_events_run_seq", "sheet_run_id", "seq", unique=True),
    sa.Index("ix_beam_events_container_timestamp", "container_id", "timestamp"),
)

# One row per run per persist call, written in the same transaction as the run's beams: the run's beam
# count and terminal hash, chained to the previous anchor and sealed with the chain key (HMAC).
run_anchors = sa.Table(
    "run_anchors",
    METADATA,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("sheet_run_id", sa.String, nullable=False),
    sa.Column("beam_count", sa.Integer, nullable=False),
    sa.Column("terminal_hash", sa.String, nullable=False),
    sa.Column("prev_mac", sa.String),
    sa.Column("key_id", sa.String, nullable=False),
    sa.Column("created", sa.String, nullable=False),
    sa.Column("mac", sa.String, nullable=False),
    sa.Index("ix_run_anchors_sheet_run_id", "sheet_run_id", "seq"),
)

lineage_edges = sa.Table(
    "lineage_edges",
    METADATA,
    sa.Column("child_id", sa.String, primary_key=True),
    sa.Column("parent_id", sa.String, primary_key=True),
    sa.Index("ix_lineage_edges_parent_id", "parent_id"),
    sqlite_with_rowid=False,
)

entanglements = sa.Table(
    "entanglements",
    METADATA,
    sa.Column("eid", sa.String, primary_key=True),
    sa.Column("sheet_run_id", sa.String, nullable=False),
    sa.Column("created", sa.String, nullable=False),
    sa.Index("ix_entanglements_sheet_run_id", "sheet_run_id"),
)

entanglement_members = sa.Table(
    "entanglement_members",
    METADATA,
    sa.Column("eid", sa.String, primary_key=True),
    sa.Column("beam_id", sa.String, primary_key=True),
    sa.Column("cell_id", sa.String, nullable=False),
    sa.Column("role", sa.String),
    sa.Column("schmidt_rank", sa.Integer),
    sa.Column("entropy_bits", sa.Double),
    sa.Index("ix_entanglement_members_cell_id", "cell_id"),
)

sqi_scores = sa.Table(
    "sqi_scores",
    METADATA,
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
    sa.Index("ix_sqi_scores_beam_id", "beam_id"),
    sa.Index("ix_sqi_scores_container_timestamp", "container_id", "timestamp"),
)

dna_mutations = sa.Table(
    "dna_mutations",
    METADATA,
    sa.Column("mutation_id", sa.String, primary_key=True),
    sa.Column("v", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.String, nullable=False),
    sa.Column("original", _json(), nullable=False),
    sa.Column("mutated", _json(), nullable=False),
    sa.Column("metadata", _json(), nullable=False),
    sa.Column("accepted", sa.Boolean),
    sa.Column("qscore_before", sa.Double),
    sa.Column("qscore_after", sa.Double),
    sa.Index("ix_dna_mutations_timestamp", "timestamp"),
)

collapse_traces = sa.Table(
    "collapse_traces",
    METADATA,
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
    sa.Index("ix_collapse_traces_type_timestamp", "type", "timestamp"),
    sa.Index("ix_collapse_traces_beam_id", "beam_id"),
)

cost_calibration = sa.Table(
    "cost_calibration",
    METADATA,
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
    sa.Index("ix_cost_calibration_op_backend_dtype", "op", "backend", "dtype"),
)

metrics = sa.Table(
    "metrics",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("unit", sa.String),
    sa.Column("tags", _json()),
    sa.Column("timestamp", sa.String, nullable=False),
    sa.Index("ix_metrics_name_timestamp", "name", "timestamp"),
)

intents = sa.Table(
    "intents",
    METADATA,
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
    sa.Column("metadata", _json(), nullable=False),
    sa.Index("ix_intents_sheet_run_id", "sheet_run_id"),
    sa.Index("ix_intents_container_timestamp", "container_id", "timestamp"),
)

TABLES: dict[str, sa.Table] = {table.name: table for table in METADATA.sorted_tables}
TABLE_ALIASES: dict[str, str] = {"beams": "beam_events"}

# Tables written through `persist_rows`: payload records whose shape the caller validated.
PAYLOAD_TABLES: tuple[str, ...] = (
    "sqi_scores",
    "dna_mutations",
    "collapse_traces",
    "cost_calibration",
    "metrics",
    "intents",
)

# Payload tables whose records carry their own unique id (the others get a surrogate `id`).
NATURAL_KEYS: dict[str, str] = {"dna_mutations": "mutation_id"}

# How `rows` and `frame` order each table: insertion order where there is an `id`, time order for
# beams, a stable key order for the rest.
ROW_ORDER: dict[str, tuple[str, ...]] = {
    "beam_events": ("timestamp", "seq", "beam_id"),
    "lineage_edges": ("child_id", "parent_id"),
    "entanglements": ("created", "eid"),
    "entanglement_members": ("eid", "beam_id"),
    "dna_mutations": ("timestamp", "mutation_id"),
    "sqi_scores": ("id",),
    "collapse_traces": ("id",),
    "cost_calibration": ("id",),
    "metrics": ("id",),
    "run_anchors": ("seq",),
    "intents": ("id",),
}

JSON_COLUMNS: dict[str, frozenset[str]] = {
    name: frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON)) for name, table in TABLES.items()
}


def resolve_table(name: str, *, among: tuple[str, ...] | None = None) -> sa.Table:
    """The table called `name` (or an alias such as `beams`), with a did-you-mean for typos."""
    choices = tuple(TABLES) if among is None else among
    canonical = TABLE_ALIASES.get(name, name)
    if canonical not in choices:
        options = choices + tuple(alias for alias, target in TABLE_ALIASES.items() if target in choices)
        listing = ", ".join(f"`{c}`" for c in choices)
        raise StoreError(f"`{name}` is not a store table{did_you_mean(name, options)}; use one of {listing}.")
    return TABLES[canonical]
