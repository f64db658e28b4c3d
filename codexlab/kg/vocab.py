"""The knowledge graph's vocabulary: PROV-O, DQV and `cx:` terms, and the IRIs of codexlab resources.

Resources live under `https://codexlab.dev/id/<kind>/<id>`; an id is used as is when it holds only
IRI-safe characters and is percent-encoded otherwise, so `id_of` always gives the original id back.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from pyoxigraph import NamedNode

__all__ = [
    "CX",
    "CX_NS",
    "DQV",
    "DQV_NS",
    "ENGINE_AGENT",
    "ID_NS",
    "MUTATIONS_GRAPH",
    "PREFIXES",
    "PROV",
    "PROV_NS",
    "RDF",
    "RDFS",
    "RDFS_NS",
    "RDF_NS",
    "XSD",
    "XSD_NS",
    "agent_iri",
    "beam_iri",
    "compact",
    "eid_iri",
    "glyph_iri",
    "id_of",
    "measurement_iri",
    "mutation_iri",
    "resource_iri",
    "run_iri",
    "value_iri",
]

PROV_NS = "http://www.w3.org/ns/prov#"
DQV_NS = "http://www.w3.org/ns/dqv#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
CX_NS = "https://codexlab.dev/ns#"
ID_NS = "https://codexlab.dev/id/"

RESOURCE_KINDS = ("beam", "value", "run", "eid", "mutation", "agent", "glyph", "measurement", "graph")

PREFIXES: dict[str, str] = {
    "prov": PROV_NS,
    "dqv": DQV_NS,
    "cx": CX_NS,
    "xsd": XSD_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    **{kind: f"{ID_NS}{kind}/" for kind in ("beam", "value", "run", "eid", "mutation", "agent")},
}


class PROV:
    """PROV-O terms used here."""

    Activity = NamedNode(PROV_NS + "Activity")
    Entity = NamedNode(PROV_NS + "Entity")
    Agent = NamedNode(PROV_NS + "Agent")
    SoftwareAgent = NamedNode(PROV_NS + "SoftwareAgent")
    Collection = NamedNode(PROV_NS + "Collection")
    Bundle = NamedNode(PROV_NS + "Bundle")
    wasGeneratedBy = NamedNode(PROV_NS + "wasGeneratedBy")
    used = NamedNode(PROV_NS + "used")
    wasDerivedFrom = NamedNode(PROV_NS + "wasDerivedFrom")
    wasRevisionOf = NamedNode(PROV_NS + "wasRevisionOf")
    wasAssociatedWith = NamedNode(PROV_NS + "wasAssociatedWith")
    actedOnBehalfOf = NamedNode(PROV_NS + "actedOnBehalfOf")
    hadMember = NamedNode(PROV_NS + "hadMember")
    specializationOf = NamedNode(PROV_NS + "specializationOf")
    startedAtTime = NamedNode(PROV_NS + "startedAtTime")
    generatedAtTime = NamedNode(PROV_NS + "generatedAtTime")
    value = NamedNode(PROV_NS + "value")


class DQV:
    """Data Quality Vocabulary terms used here."""

    QualityMeasurement = NamedNode(DQV_NS + "QualityMeasurement")
    Metric = NamedNode(DQV_NS + "Metric")
    computedOn = NamedNode(DQV_NS + "computedOn")
    value = NamedNode(DQV_NS + "value")
    isMeasurementOf = NamedNode(DQV_NS + "isMeasurementOf")
    expectedDataType = NamedNode(DQV_NS + "expectedDataType")


class CX:
    """codexlab's own terms (`https://codexlab.dev/ns#`)."""

    stage = NamedNode(CX_NS + "stage")
    token = NamedNode(CX_NS + "token")
    cell = NamedNode(CX_NS + "cell")
    container = NamedNode(CX_NS + "container")
    source = NamedNode(CX_NS + "source")
    hash = NamedNode(CX_NS + "hash")
    durationMs = NamedNode(CX_NS + "durationMs")
    vaultRef = NamedNode(CX_NS + "vaultRef")
    version = NamedNode(CX_NS + "version")
    qscore = NamedNode(CX_NS + "qscore")
    drift = NamedNode(CX_NS + "drift")
    rating = NamedNode(CX_NS + "rating")
    goalMatchScore = NamedNode(CX_NS + "goalMatchScore")
    rewriteSuccessProb = NamedNode(CX_NS + "rewriteSuccessProb")
    entropyDelta = NamedNode(CX_NS + "entropyDelta")
    qscoreMetric = NamedNode(CX_NS + "qscoreMetric")
    reason = NamedNode(CX_NS + "reason")
    accepted = NamedNode(CX_NS + "accepted")
    glyph = NamedNode(CX_NS + "glyph")
    scroll = NamedNode(CX_NS + "scroll")
    template = NamedNode(CX_NS + "template")
    opChain = NamedNode(CX_NS + "opChain")
    qscoreBefore = NamedNode(CX_NS + "qscoreBefore")
    qscoreAfter = NamedNode(CX_NS + "qscoreAfter")


class XSD:
    """XML Schema datatypes used here."""

    string = NamedNode(XSD_NS + "string")
    dateTime = NamedNode(XSD_NS + "dateTime")
    double = NamedNode(XSD_NS + "double")


class RDF:
    """RDF terms used here."""

    type = NamedNode(RDF_NS + "type")


class RDFS:
    """RDFS terms used here."""

    label = NamedNode(RDFS_NS + "label")


# Unreserved and sub-delim characters plus `:` and `@`: what an IRI path segment takes without escaping.
_SAFE_CHARS = "-._~!$&'()*+,;=:@"
_SAFE_ID = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]+")


def _segment(ident: str) -> str:
    """`ident` as one IRI path segment: unchanged when safe, percent-encoded (UTF-8) otherwise."""
    if _SAFE_ID.fullmatch(ident):
        return ident
    return quote(ident, safe=_SAFE_CHARS)


def resource_iri(kind: str, ident: str) -> NamedNode:
    """The IRI `https://codexlab.dev/id/<kind>/<ident>` of a codexlab resource."""
    return NamedNode(f"{ID_NS}{kind}/{_segment(ident)}")


def beam_iri(beam_id: str) -> NamedNode:
    """The `prov:Activity` of a beam."""
    return resource_iri("beam", beam_id)


def value_iri(beam_id: str) -> NamedNode:
    """The `prov:Entity` of the value a beam produced."""
    return resource_iri("value", beam_id)


def run_iri(sheet_run_id: str) -> NamedNode:
    """The named graph (a `prov:Bundle`) of one sheet run."""
    return resource_iri("run", sheet_run_id)


def eid_iri(eid: str) -> NamedNode:
    """The `prov:Collection` of an entanglement id's member values."""
    return resource_iri("eid", eid)


def mutation_iri(mutation_id: str, side: str | None = None) -> NamedNode:
    """The mutation's `prov:Activity`, or one side (`original` | `mutated`) as its glyph `prov:Entity`."""
    base = resource_iri("mutation", mutation_id)
    return base if side is None else NamedNode(f"{base.value}/{side}")


def glyph_iri(glyph: str) -> NamedNode:
    """A glyph in general, of which each mutation's sides are specializations."""
    return resource_iri("glyph", glyph)


def measurement_iri(subject_id: str) -> NamedNode:
    """The `dqv:QualityMeasurement` of a beam's value (or a mutation), one per subject."""
    return resource_iri("measurement", subject_id)


def agent_iri(name: str) -> NamedNode:
    """An agent: the engine (`codexlab-engine`) or a user by login name."""
    return resource_iri("agent", name)


ENGINE_AGENT = agent_iri("codexlab-engine")
MUTATIONS_GRAPH = resource_iri("graph", "mutations")


def id_of(iri: str, kind: str) -> str | None:
    """The id inside `https://codexlab.dev/id/<kind>/<id>`, or None when `iri` is not of that kind."""
    prefix = f"{ID_NS}{kind}/"
    if not iri.startswith(prefix):
        return None
    return unquote(iri[len(prefix) :])


def compact(iri: str) -> str:
    """`iri` as `prefix:local` with the longest known namespace, or `<iri>` when none fits."""
    best = ""
    name = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(best):
            best, name = ns, prefix
    return f"{name}:{iri[len(best) :]}" if best else f"<{iri}>"
