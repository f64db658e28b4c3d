"""The WebSocket protocol: client requests parsed and checked, server messages built from runs.

Client messages: `run` (code, container, source), `subscribe` (containers, panels), `cancel` (run_id),
each with an optional `ref` echoed back. Server messages: `accepted`, `busy`, `glyph_execution`
(contract 3, one per executed op), `qfc_update` (the QFC envelopes), `intent`, `result`, `error`,
`cancelling`, `subscribed`, `panels` and `dropped`. See docs/server.md for the reference.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import CodexError, CodexProtocolError, did_you_mean
from ..runtime.cost import glyph_execution_payload
from ..runtime.run import Run, describe_value

__all__ = [
    "CancelRequest",
    "Request",
    "RunRequest",
    "SubscribeRequest",
    "accepted",
    "busy",
    "dumps",
    "error_message",
    "glyph_executions",
    "intent_message",
    "intent_rows",
    "parse_request",
    "request_from",
    "photon_derived",
    "result_message",
]

#: Fields of the `action` object of a glyph_execution, copied from the op beam's result when present.
ACTION_FIELDS = ("path", "backend", "precision", "shape", "dtype", "duration_ms", "predicted_ms", "fused")
_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REF_MAX = 128


@dataclass(frozen=True)
class RunRequest:
    """Run `code` in `container` (None: the scroll's `@container` or the default) as `source`."""

    code: str
    container: str | None
    source: str
    ref: str | int | None


@dataclass(frozen=True)
class SubscribeRequest:
    """Follow the QFC envelopes and runs of these containers (None: all); `panels` adds HUD panel data."""

    containers: tuple[str, ...] | None
    panels: bool
    ref: str | int | None


@dataclass(frozen=True)
class CancelRequest:
    """Stop run `run_id` at its next instruction."""

    run_id: str
    ref: str | int | None


Request = RunRequest | SubscribeRequest | CancelRequest

_FIELDS: dict[str, dict[str, bool]] = {
    "run": {"type": True, "code": True, "container": False, "source": False, "ref": False},
    "subscribe": {"type": True, "containers": True, "panels": False, "ref": False},
    "cancel": {"type": True, "run_id": True, "ref": False},
}


def parse_request(text: str | bytes) -> Request:
    """One client message as a request; `CodexProtocolError` says what is wrong with it."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise CodexProtocolError(
            f'The message is not valid JSON ({err}); send one JSON object such as `{{"type": "run", "code": "a = 1"}}`.'
        ) from None
    return request_from(data)


def request_from(data: Any) -> Request:
    """A decoded client message (a JSON object) as a request; `CodexProtocolError` when it is not one."""
    if not isinstance(data, dict):
        raise CodexProtocolError(f"The message is a JSON `{type(data).__name__}`, not an object; send an object.")
    kind = data.get("type")
    if kind not in _FIELDS:
        options = ", ".join(f"`{k}`" for k in _FIELDS)
        hint = did_you_mean(kind, _FIELDS) if isinstance(kind, str) else ""
        raise CodexProtocolError(f"Unknown message type `{kind}`{hint}; use one of {options}.")
    fields = _FIELDS[kind]
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise CodexProtocolError(
            f"`{kind}` has an unknown field `{unknown[0]}`{did_you_mean(str(unknown[0]), fields)}; "
            f"its fields are {', '.join(f'`{f}`' for f in fields)}."
        )
    missing = [k for k, required in fields.items() if required and k not in data]
    if missing:
        raise CodexProtocolError(f"`{kind}` needs `{missing[0]}`; add it.")
    ref = _ref(data.get("ref"))
    if kind == "run":
        return RunRequest(_code(data["code"]), _container(data.get("container")), _source(data.get("source")), ref)
    if kind == "subscribe":
        return SubscribeRequest(_containers(data["containers"]), _flag(data.get("panels", False)), ref)
    return CancelRequest(_text(data["run_id"], "run_id"), ref)


def _text(value: Any, name: str, limit: int = 256) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise CodexProtocolError(
            f"`{name}` should be a non-empty string of at most {limit} characters, got `{value!r}`."
        )
    return value


def _code(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CodexProtocolError("`code` should be the CodexLang text to run, a non-empty string.")
    return value


def _container(value: Any) -> str | None:
    return None if value is None else _text(value, "container", 128)


def _source(value: Any) -> str:
    if value is None:
        return "codex"
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        raise CodexProtocolError(
            f"`source` should be a lower-case word such as `codex`, `photon` or `user`, got `{value!r}`."
        )
    return value


def _containers(value: Any) -> tuple[str, ...] | None:
    if value == "*":
        return None
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise CodexProtocolError(f'`containers` should be a list of container ids or "*" (all), got `{value!r}`.')
    return tuple(dict.fromkeys(_text(c, "containers[]", 128) for c in value))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CodexProtocolError(f"`panels` should be true or false, got `{value!r}`.")
    return value


def _ref(value: Any) -> str | int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and len(value) <= _REF_MAX:
        return value
    raise CodexProtocolError(f"`ref` should be a string of at most {_REF_MAX} characters or an integer.")


# ------------------------------------------------------------------------------------------ replies


def _finite(value: Any) -> Any:
    """The value with non-finite floats as None (JSON has no NaN; browsers refuse it)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(message: Any) -> str:
    """A message as strict JSON text (non-finite numbers become null)."""
    try:
        return json.dumps(message, allow_nan=False, ensure_ascii=False, default=str)
    except ValueError:
        return json.dumps(_finite(message), allow_nan=False, ensure_ascii=False, default=str)


def accepted(run_id: str, container: str, queued: int, ref: str | int | None) -> dict[str, Any]:
    """The run was queued: its id (for `cancel`, REST and replay) and how many runs wait before it."""
    return {"type": "accepted", "run_id": run_id, "container": container, "queued": queued, "ref": ref}


def busy(err: CodexError, ref: str | int | None) -> dict[str, Any]:
    """The queue is full; nothing was queued."""
    return {"type": "busy", "message": err.message, "ref": ref}


def error_message(
    err: BaseException, *, run_id: str | None = None, ref: str | int | None = None, beam_id: str | None = None
) -> dict[str, Any]:
    """An error: its class, the sentence, and the line and column in the scroll when known."""
    codex = err if isinstance(err, CodexError) else None
    return {
        "type": "error",
        "error": type(err).__name__,
        "message": codex.message if codex is not None else str(err),
        "line": codex.line if codex is not None else None,
        "column": codex.column if codex is not None else None,
        "run_id": run_id,
        "beam_id": beam_id,
        "ref": ref,
    }


# ------------------------------------------------------------------------------------------ runs


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def glyph_executions(run: Run) -> list[dict[str, Any]]:
    """One `glyph_execution` (contract 3) per op the scheduler costed and ran, in execution order.

    An op beam names its `schedule` beam (`result.schedule_beam`), whose `detail` holds the four cost
    terms; `source` is the op beam's (`photon` for ops of a statement that came through a Photon
    rewrite); `action` is an object with the run, the beam and the op's path, timing and shape.
    """
    schedules = {b.beam_id: b for b in run.beams if b.stage == "schedule"}
    out = []
    for beam in run.beams:
        schedule = schedules.get(str(beam.result.get("schedule_beam", "")))
        if schedule is None or not isinstance(schedule.result.get("detail"), Mapping):
            continue
        action = {"run_id": run.run_id, "beam_id": beam.beam_id, "stage": beam.stage}
        action.update({k: beam.result[k] for k in ACTION_FIELDS if k in beam.result})
        out.append(
            glyph_execution_payload(
                beam.token, action, beam.source, schedule.result["detail"], timestamp=_epoch(beam.timestamp)
            )
        )
    return out


def photon_derived(run: Run, source: str) -> bool:
    """Whether a run's scroll came through Photon: submitted as `photon` or rewritten by a Photon rule."""
    return source == "photon" or any(b.source == "photon" for b in run.beams)


def intent_rows(run: Run, code: str, source: str) -> list[dict[str, Any]]:
    """The intents of the scroll's glyph records (`origin` photon for a Photon-derived scroll), as rows
    of the `intents` table."""
    from ..lang.parser import parse
    from ..photon.intents import extract_intents_from_glyphs

    origin = "photon" if photon_derived(run, source) else source
    intents = extract_intents_from_glyphs(parse(code), metadata={"origin": origin})
    stamp = max((b.timestamp for b in run.beams), default=None)
    return [
        {
            "timestamp": stamp,
            "sheet_run_id": run.run_id,
            "cell_id": run.cell_id,
            "container_id": run.container_id,
            "type": intent.type,
            "tag": intent.tag,
            "text": intent.text,
            "action": intent.action,
            "origin": str(intent.metadata.get("origin", origin)),
            "metadata": {str(k): v for k, v in intent.metadata.items()},
        }
        for intent in intents
    ]


def intent_message(row: Mapping[str, Any]) -> dict[str, Any]:
    """An `intent` message from a stored intent row."""
    keys = ("type", "tag", "text", "action", "origin", "metadata")
    return {
        "type": "intent",
        "run_id": row["sheet_run_id"],
        "container": row["container_id"],
        "cell_id": row["cell_id"],
        "intent": {k: row.get(k) for k in keys},
    }


def result_message(run: Run) -> dict[str, Any]:
    """The committed run: ids that resolve (REST, replay, QFC), its values and derivations."""
    return {
        "type": "result",
        "run_id": run.run_id,
        "cell_id": run.cell_id,
        "container": run.container_id,
        "ghx_id": run.ghx_id,
        "qfc_id": run.qfc_id,
        "beam_ids": run.beam_ids,
        "eids": list(run.eids),
        "statements": list(run.statements),
        "values": {name: describe_value(v) for name, v in run.values.items()},
        "derivations": {name: str(d) for name, d in run.derivations.items()},
        "duration_ms": run.duration_ms,
    }
