"""Malformed payloads of every kind raise ContractError and nothing else; valid ones round-trip."""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlab.contracts import canonical_json, load_payload, model_for, payload_kinds, validate_payload
from codexlab.errors import ContractError
from tests.contracts._examples import PLAN_EXAMPLES

VALID: dict[str, Any] = {
    **PLAN_EXAMPLES,
    "qfc_update": {
        "type": "qfc_update",
        "source": "container::demo",
        "payload": {"kind": "qpu_sheet_metrics", "cells": 3},
    },
    "entanglement_link": {
        "eid": "eid::r::h",
        "beam_id": "beam_a",
        "role": "B",
        "schmidt_rank": 2,
        "entropy_bits": 0.5,
        "cell_id": "cell_007",
    },
    "soullaw_event": {
        "type": "soullaw_event",
        "event": "soullaw_warn",
        "law": "bounded_growth",
        "reason": "growth 12 > 10",
        "beam_id": "beam_c_wave_1",
        "container_id": "demo",
        "timestamp": 1735689600.5,
    },
}
KINDS = sorted(payload_kinds())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "wave",
            "beam_x",
            "eid::r::h",
            "2025-01-01T00:00:00Z",
            "container::c",
            "A",
            "fusion",
            "qpu_cell_update",
            "soullaw_pass",
            "qwave",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a dict entry or list item inside a payload."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(_paths(item, (*prefix, index)))
    return found


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Any:
    """A valid example with one to three edits: a dropped field, a wrong-typed value, an extra key."""
    data = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "replace", "extra"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return data


def _non_finite(value: Any) -> bool:
    """Whether a payload holds NaN or infinity, which JSON carries only as strings."""
    if isinstance(value, float):
        return not math.isfinite(value)
    text = canonical_json(value)
    return any(f'"{word}"' in text for word in ("NaN", "Infinity", "-Infinity"))


def _check(kind: str, data: Any) -> None:
    model = model_for(kind)
    for reader in (validate_payload, load_payload):
        try:
            result = reader(kind, data)
        except ContractError as exc:
            assert str(exc).startswith(("`", "A ")) and str(exc).endswith(".")
            continue
        assert isinstance(result, model)
        if not _non_finite(result.model_dump(mode="python")):
            assert validate_payload(kind, result.model_dump(mode="json")) == result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), data=json_values)
def test_random_json_values_raise_only_contract_errors(kind, data):
    _check(kind, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_examples_raise_only_contract_errors(data):
    kind = data.draw(st.sampled_from(KINDS))
    _check(kind, data.draw(mutated(kind)))


def test_the_unmutated_examples_are_valid():
    for kind in KINDS:
        assert isinstance(validate_payload(kind, VALID[kind]), model_for(kind))
