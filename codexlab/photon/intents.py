"""Intents from glyph records (`⟦ Goal | tag : value -> action ⟧`): what traces and the KG carry.

Goals keep their condition node so SQI can evaluate it later (goal match); Plans, Skills and Notes keep
their value for traces. Every intent says where it came from in `metadata["origin"]` ("codex" unless the
caller says otherwise, e.g. "photon").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from codexlab.errors import CodexTypeError, CodexValueError, did_you_mean
from codexlab.lang import ast as A
from codexlab.photon.adapter import codex_to_photon_ast
from codexlab.photon.ir import PhotonProgram, PLoop, PNode, PRecord, PStatement
from codexlab.photon.printing import to_unicode

__all__ = ["Intent", "INTENT_TYPES", "extract_intents_from_glyphs"]

#: The record types a scroll may carry.
INTENT_TYPES = ("Goal", "Plan", "Skill", "Note")


@dataclass(frozen=True)
class Intent:
    """One glyph record as an intent: its type, tag, printed value, action and metadata.

    `value` is the record's Photon value; `condition` is the same node for a Goal (what SQI checks) and
    None otherwise.
    """

    type: str
    tag: str
    text: str
    action: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    value: PNode | PLoop | None = None
    condition: PNode | None = None


def _records(glyphs: Any) -> Iterable[PRecord]:
    """The glyph records of a program, a scroll, or an iterable of records (loop bodies included)."""
    if isinstance(glyphs, (A.Scroll, PhotonProgram)):
        program = codex_to_photon_ast(glyphs) if isinstance(glyphs, A.Scroll) else glyphs
        yield from _records_in(program.statements)
        return
    if isinstance(glyphs, (A.GlyphRecord, PRecord)):
        glyphs = (glyphs,)
    for item in glyphs:
        if isinstance(item, A.GlyphRecord):
            converted = codex_to_photon_ast(item)
            assert isinstance(converted, PRecord)
            yield converted
        elif isinstance(item, PRecord):
            yield item
        else:
            raise CodexTypeError(
                f"`extract_intents_from_glyphs` takes glyph records, not `{type(item).__name__}`; "
                "pass `ast.GlyphRecord`/`PRecord` items or a whole Scroll/PhotonProgram."
            )


def _records_in(statements: tuple[PStatement, ...]) -> Iterable[PRecord]:
    for s in statements:
        if isinstance(s, PRecord):
            yield s
        elif isinstance(s, PLoop):
            yield from _records_in(s.body)


def extract_intents_from_glyphs(
    glyphs: Any, metadata: Mapping[str, Any] | None = None, *, strict: bool = False
) -> list[Intent]:
    """Turn glyph records into `Intent`s, in source order.

    Parameters: glyphs — `ast.GlyphRecord`/`PRecord` items (one or an iterable), or a `Scroll` /
        `PhotonProgram` whose records (loop bodies included) are taken; metadata — copied into each
        intent; its `origin` is kept (default "codex"); strict — refuse record types other than
        Goal, Plan, Skill and Note (the grammar accepts any name there; by default they pass through).
    Returns: one `Intent` per record; a Goal's `condition` is its value node.
    Raises: CodexValueError for an unknown record type when `strict`; CodexTypeError for an item that is
        not a glyph record.
    """
    base = {"origin": "codex", **(metadata or {})}
    intents = []
    for record in _records(glyphs):
        if strict and record.type not in INTENT_TYPES:
            raise CodexValueError(
                f"Unknown glyph record type `{record.type}`{did_you_mean(record.type, INTENT_TYPES)}; "
                f"use one of {', '.join(f'`{t}`' for t in INTENT_TYPES)}."
            )
        value = record.value
        text = "" if value is None else to_unicode(value)
        condition = value if record.type == "Goal" and isinstance(value, PNode) else None
        intents.append(Intent(record.type, record.tag, text, record.action, dict(base), value, condition))
    return intents
