"""PROV-O mapping: pure functions from payloads (beams, SQI scores, DNA mutations) to RDF quads.

Every beam lands in the named graph of its sheet run (`https://codexlab.dev/id/run/<sheet_run_id>`):

- the beam is a `prov:Activity` (`cx:stage`, `cx:token`, `cx:cell`, `cx:container`, `cx:source`,
  `prov:startedAtTime`, `prov:wasAssociatedWith` the engine and the user);
- its value is a `prov:Entity` (`prov:wasGeneratedBy` the activity, `prov:value` the result summary as
  canonical JSON, `prov:generatedAtTime`, `cx:vaultRef` when the result has a `vault_ref`);
- each parent gives `value prov:wasDerivedFrom parent-value` and `activity prov:used parent-value`;
- an `eid` gives a `prov:Collection` that `prov:hadMember` each member value;
- a qscore gives a `dqv:QualityMeasurement` of `cx:qscoreMetric` computed on the value, plus a direct
  `cx:qscore` (and `cx:drift`) on the value.

Vetoed beams (`verdict == "veto"`) and `error` beams produce no quads at all, and edges from other beams
of the same batch to them are dropped too, so they appear in no graph. A mutation gives
`prov:wasRevisionOf` and `prov:wasDerivedFrom` (both: no reasoner runs) from its mutated glyph entity to
its original one, in the graph `https://codexlab.dev/id/graph/mutations`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pyoxigraph import Literal, NamedNode, Quad

from codexlab._version import __version__
from codexlab.contracts import BeamEvent, DnaMutation, SqiScore, canonical_json, load_payload, rating_for
from codexlab.kg.vocab import (
    CX,
    DQV,
    ENGINE_AGENT,
    MUTATIONS_GRAPH,
    PROV,
    RDF,
    RDFS,
    XSD,
    agent_iri,
    beam_iri,
    eid_iri,
    glyph_iri,
    measurement_iri,
    mutation_iri,
    run_iri,
    value_iri,
)

__all__ = [
    "agent_quads",
    "as_beam",
    "as_mutation",
    "as_score",
    "beam_quads",
    "beams_to_quads",
    "default_user",
    "is_approved",
    "mutation_quads",
    "score_event_quads",
    "score_quads",
    "score_subject",
]

BeamLike = BeamEvent | Mapping[str, Any]
ScoreLike = SqiScore | Mapping[str, Any]
MutationLike = DnaMutation | Mapping[str, Any]


def default_user() -> str:
    """The login name of the user running codexlab (`unknown` when the platform cannot say)."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


def as_beam(beam: BeamLike) -> BeamEvent:
    """A BeamEvent from a model or a mapping (older versions upgraded through their migrations)."""
    return beam if isinstance(beam, BeamEvent) else load_payload(BeamEvent, beam)


def as_score(score: ScoreLike) -> SqiScore:
    """An SqiScore from a model or a mapping."""
    return score if isinstance(score, SqiScore) else load_payload(SqiScore, score)


def as_mutation(mutation: MutationLike) -> DnaMutation:
    """A DnaMutation from a model or a mapping."""
    return mutation if isinstance(mutation, DnaMutation) else load_payload(DnaMutation, mutation)


def is_approved(beam: BeamEvent) -> bool:
    """Whether a beam may enter the knowledge graph: not vetoed by SoulLaw and not an `error` beam."""
    return beam.verdict != "veto" and beam.stage != "error"


def _time(text: str) -> Literal:
    """An `xsd:dateTime` literal of the contracts' ISO 8601 UTC text."""
    return Literal(text, datatype=XSD.dateTime)


def agent_quads(graph: NamedNode, user: str) -> list[Quad]:
    """The graph as a `prov:Bundle`, the engine (`prov:SoftwareAgent` with its version) and the user
    (`prov:Agent`) the engine acts for, described inside `graph` so each run graph stands alone."""
    person = agent_iri(user)
    return [
        Quad(graph, RDF.type, PROV.Bundle, graph),
        Quad(ENGINE_AGENT, RDF.type, PROV.SoftwareAgent, graph),
        Quad(ENGINE_AGENT, RDFS.label, Literal("codexlab engine"), graph),
        Quad(ENGINE_AGENT, CX.version, Literal(__version__), graph),
        Quad(ENGINE_AGENT, PROV.actedOnBehalfOf, person, graph),
        Quad(person, RDF.type, PROV.Agent, graph),
        Quad(person, RDFS.label, Literal(user), graph),
    ]


def _metric_quads(graph: NamedNode) -> list[Quad]:
    """The declaration of `cx:qscoreMetric` as a `dqv:Metric` of `xsd:double` values."""
    return [
        Quad(CX.qscoreMetric, RDF.type, DQV.Metric, graph),
        Quad(CX.qscoreMetric, RDFS.label, Literal("SQI qscore"), graph),
        Quad(CX.qscoreMetric, DQV.expectedDataType, XSD.double, graph),
    ]


def beam_quads(
    beam: BeamEvent,
    *,
    user_node: NamedNode,
    excluded: frozenset[str] | set[str] = frozenset(),
    value_of: dict[str, NamedNode] | None = None,
) -> list[Quad]:
    """The activity, value entity, lineage and collection quads of one approved beam.

    `excluded` holds beam ids whose values must not be referenced (vetoed or error beams of the batch);
    `value_of` caches parent value IRIs across a batch. A vetoed or `error` beam gives no quads.
    """
    if not is_approved(beam):
        return []
    graph = run_iri(beam.sheet_run_id)
    act = beam_iri(beam.beam_id)
    val = value_iri(beam.beam_id)
    when = _time(beam.timestamp)
    out = [
        Quad(act, RDF.type, PROV.Activity, graph),
        Quad(act, CX.stage, Literal(beam.stage), graph),
        Quad(act, CX.token, Literal(beam.token), graph),
        Quad(act, CX.cell, Literal(beam.cell_id), graph),
        Quad(act, CX.container, Literal(beam.container_id), graph),
        Quad(act, CX.source, Literal(beam.source), graph),
        Quad(act, PROV.startedAtTime, when, graph),
        Quad(act, PROV.wasAssociatedWith, ENGINE_AGENT, graph),
        Quad(act, PROV.wasAssociatedWith, user_node, graph),
        Quad(val, RDF.type, PROV.Entity, graph),
        Quad(val, PROV.wasGeneratedBy, act, graph),
        Quad(val, PROV.generatedAtTime, when, graph),
        Quad(val, PROV.value, Literal(canonical_json(beam.result)), graph),
    ]
    if beam.hash is not None:
        out.append(Quad(act, CX.hash, Literal(beam.hash), graph))
    result = beam.result
    vault_ref = result.get("vault_ref")
    if isinstance(vault_ref, str) and vault_ref:
        out.append(Quad(val, CX.vaultRef, Literal(vault_ref), graph))
    duration = result.get("duration_ms")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        out.append(Quad(act, CX.durationMs, Literal(float(duration)), graph))
    cache = {} if value_of is None else value_of
    for parent in beam.parents:
        if parent in excluded:
            continue
        pval = cache.get(parent)
        if pval is None:
            pval = cache[parent] = value_iri(parent)
        out.append(Quad(val, PROV.wasDerivedFrom, pval, graph))
        out.append(Quad(act, PROV.used, pval, graph))
    if beam.eid is not None:
        coll = eid_iri(beam.eid)
        out.append(Quad(coll, RDF.type, PROV.Collection, graph))
        out.append(Quad(coll, PROV.hadMember, val, graph))
    return out


def score_quads(
    subject: NamedNode,
    measurement: NamedNode,
    graph: NamedNode,
    *,
    qscore: float | None,
    drift: float | None,
    score: SqiScore | None = None,
) -> list[Quad]:
    """The `dqv:QualityMeasurement` of a qscore on `subject`, the direct `cx:qscore` and `cx:drift`."""
    out: list[Quad] = []
    if qscore is not None:
        out += [
            Quad(measurement, RDF.type, DQV.QualityMeasurement, graph),
            Quad(measurement, DQV.computedOn, subject, graph),
            Quad(measurement, DQV.isMeasurementOf, CX.qscoreMetric, graph),
            Quad(measurement, DQV.value, Literal(float(qscore)), graph),
            Quad(measurement, CX.rating, Literal(rating_for(qscore)), graph),
            Quad(subject, CX.qscore, Literal(float(qscore)), graph),
        ]
        if score is not None:
            out += [
                Quad(measurement, CX.goalMatchScore, Literal(float(score.goal_match_score)), graph),
                Quad(measurement, CX.rewriteSuccessProb, Literal(float(score.rewrite_success_prob)), graph),
                Quad(measurement, CX.entropyDelta, Literal(float(score.entropy_delta)), graph),
                Quad(measurement, PROV.generatedAtTime, _time(_epoch_iso(score.timestamp)), graph),
            ]
    if drift is not None:
        out.append(Quad(subject, CX.drift, Literal(float(drift)), graph))
    return out


def _epoch_iso(seconds: float) -> str:
    """Epoch seconds as the contracts' fixed-width ISO 8601 UTC text."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def beams_to_quads(
    beams: Iterable[BeamLike],
    scores: Iterable[ScoreLike] | Mapping[str, ScoreLike] | None = None,
    *,
    user: str | None = None,
) -> list[Quad]:
    """All quads of a batch of beams and the SQI scores of those beams, one named graph per run.

    Vetoed and `error` beams are skipped (no quads, and no edges to them); a beam's qscore and drift
    come from its score event when one is given, else from the beam's own `qscore`/`drift` fields.
    Scores of beams outside the batch are ignored here (`KnowledgeGraph.write_scores` places them).
    """
    batch = [as_beam(b) for b in beams]
    by_beam = _scores_by_beam(scores)
    excluded = {b.beam_id for b in batch if not is_approved(b)}
    who = user or default_user()
    user_node = agent_iri(who)
    value_of: dict[str, NamedNode] = {}
    headed: set[str] = set()
    metric_declared: set[str] = set()
    out: list[Quad] = []
    for beam in batch:
        if beam.beam_id in excluded:
            continue
        graph = run_iri(beam.sheet_run_id)
        if beam.sheet_run_id not in headed:
            headed.add(beam.sheet_run_id)
            out += agent_quads(graph, who)
        out += beam_quads(beam, user_node=user_node, excluded=excluded, value_of=value_of)
        score = by_beam.get(beam.beam_id)
        qscore = score.qscore if score is not None and score.qscore is not None else beam.qscore
        drift = score.drift if score is not None and score.drift is not None else beam.drift
        if qscore is None and drift is None:
            continue
        if qscore is not None and beam.sheet_run_id not in metric_declared:
            metric_declared.add(beam.sheet_run_id)
            out += _metric_quads(graph)
        val = value_of.get(beam.beam_id) or value_iri(beam.beam_id)
        out += score_quads(val, measurement_iri(beam.beam_id), graph, qscore=qscore, drift=drift, score=score)
    return out


def _scores_by_beam(
    scores: Iterable[ScoreLike] | Mapping[str, ScoreLike] | None,
) -> dict[str, SqiScore]:
    """Score events keyed by beam id (events without a beam id are left out)."""
    if scores is None:
        return {}
    items = scores.values() if isinstance(scores, Mapping) else scores
    out: dict[str, SqiScore] = {}
    for item in items:
        score = as_score(item)
        if score.beam_id is not None:
            out[score.beam_id] = score
    return out


def score_subject(score: SqiScore) -> tuple[NamedNode, NamedNode] | None:
    """What a score event measures and its measurement's IRI: the beam's value, else the mutated glyph."""
    if score.beam_id is not None:
        return value_iri(score.beam_id), measurement_iri(score.beam_id)
    if score.mutation_id is not None:
        return mutation_iri(score.mutation_id, "mutated"), measurement_iri(score.mutation_id)
    return None


def score_event_quads(score: SqiScore, graph: NamedNode) -> list[Quad]:
    """The quads of one score event placed in `graph` (the graph its subject lives in)."""
    target = score_subject(score)
    if target is None:
        return []
    subject, measurement = target
    out = _metric_quads(graph) if score.qscore is not None else []
    return out + score_quads(subject, measurement, graph, qscore=score.qscore, drift=score.drift, score=score)


def mutation_quads(mutation: MutationLike, *, user: str | None = None) -> list[Quad]:
    """A DNA mutation: an activity that used the original glyph entity and generated the mutated one.

    The mutated entity is `prov:wasRevisionOf` and `prov:wasDerivedFrom` the original (both, since no
    reasoner infers the second), carries `cx:reason` and `cx:accepted`, and each side is a
    `prov:specializationOf` its glyph. `qscore_before`/`qscore_after` become the sides' `cx:qscore`.
    """
    m = as_mutation(mutation)
    graph = MUTATIONS_GRAPH
    act = mutation_iri(m.mutation_id)
    old = mutation_iri(m.mutation_id, "original")
    new = mutation_iri(m.mutation_id, "mutated")
    meta = m.metadata
    out = agent_quads(graph, user or default_user())
    out += [
        Quad(act, RDF.type, PROV.Activity, graph),
        Quad(act, PROV.startedAtTime, _time(m.timestamp), graph),
        Quad(act, PROV.wasAssociatedWith, ENGINE_AGENT, graph),
        Quad(act, PROV.used, old, graph),
        Quad(act, CX.reason, Literal(meta.reason), graph),
        Quad(act, CX.container, Literal(meta.container_id), graph),
        Quad(act, CX.entropyDelta, Literal(float(meta.entropy_delta)), graph),
        Quad(act, CX.rewriteSuccessProb, Literal(float(meta.rewrite_success_prob)), graph),
        Quad(new, PROV.wasGeneratedBy, act, graph),
        Quad(new, PROV.generatedAtTime, _time(m.timestamp), graph),
        Quad(new, PROV.wasRevisionOf, old, graph),
        Quad(new, PROV.wasDerivedFrom, old, graph),
        Quad(new, CX.reason, Literal(meta.reason), graph),
    ]
    if m.accepted is not None:
        out.append(Quad(new, CX.accepted, Literal(m.accepted), graph))
        out.append(Quad(act, CX.accepted, Literal(m.accepted), graph))
    for node, side, qscore in ((old, m.original, m.qscore_before), (new, m.mutated, m.qscore_after)):
        out += [
            Quad(node, RDF.type, PROV.Entity, graph),
            Quad(node, CX.glyph, Literal(side.glyph), graph),
            Quad(node, PROV.specializationOf, glyph_iri(side.glyph), graph),
        ]
        if side.scroll is not None:
            out.append(Quad(node, CX.scroll, Literal(side.scroll), graph))
        if side.template is not None:
            out.append(Quad(node, CX.template, Literal(side.template), graph))
        if side.op_chain is not None:
            out.append(Quad(node, CX.opChain, Literal(canonical_json(side.op_chain)), graph))
        if qscore is not None:
            out.append(Quad(node, CX.qscore, Literal(float(qscore)), graph))
    if m.qscore_before is not None:
        out.append(Quad(act, CX.qscoreBefore, Literal(float(m.qscore_before)), graph))
    if m.qscore_after is not None:
        out.append(Quad(act, CX.qscoreAfter, Literal(float(m.qscore_after)), graph))
    return out
