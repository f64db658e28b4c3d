"""SQI and SoulLaw: drift, entropy, goal match and qscore of beams; the fail-closed policy; collapse traces.

Pure building blocks the runtime wires into its pipeline (see SEMANTICS.md, "SQI", "SoulLaw",
"Collapse traces").
"""

from __future__ import annotations

from codexlab.sqi.collapse_trace import export_collapse_trace
from codexlab.sqi.drift import (
    DriftComponent,
    DriftReport,
    Gap,
    combine_reports,
    container_status,
    discretization_drift,
    precision_drift,
    relative_l2,
    run_drift,
)
from codexlab.sqi.entropy import beam_entropies, entropy_delta, shannon_entropy
from codexlab.sqi.goals import GoalResult, goal_match_score, goal_result_from_comparison, unmet_goal_gaps
from codexlab.sqi.scoring import (
    SCORED_STAGES,
    SqiResult,
    accuracy,
    process_beams,
    qscore,
    rating,
    record_sqi_score_event,
    rewrite_success_prob,
    stability,
)
from codexlab.sqi.soullaw import (
    LAWS,
    PASS,
    LawRegistry,
    Ruling,
    Verdict,
    check_resources,
    law,
    log_soullaw_event,
    verdict_of,
    vet,
    veto,
    warn,
)
from codexlab.sqi.soullaw_config import DEFAULT_THRESHOLDS, SoulLawConfig, load_soullaw_config

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DriftComponent",
    "DriftReport",
    "Gap",
    "GoalResult",
    "LAWS",
    "LawRegistry",
    "PASS",
    "Ruling",
    "SCORED_STAGES",
    "SoulLawConfig",
    "SqiResult",
    "Verdict",
    "accuracy",
    "beam_entropies",
    "check_resources",
    "combine_reports",
    "container_status",
    "discretization_drift",
    "entropy_delta",
    "export_collapse_trace",
    "goal_match_score",
    "goal_result_from_comparison",
    "law",
    "load_soullaw_config",
    "log_soullaw_event",
    "precision_drift",
    "process_beams",
    "qscore",
    "rating",
    "record_sqi_score_event",
    "relative_l2",
    "rewrite_success_prob",
    "run_drift",
    "shannon_entropy",
    "stability",
    "unmet_goal_gaps",
    "verdict_of",
    "vet",
    "veto",
    "warn",
]
