"""Synthetic beams for the pattern-engine tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from codexlab.contracts import BeamEvent


def _beam_factory() -> Callable[..., BeamEvent]:
    counter = {"n": 0}

    def make(
        run: str,
        stage: str,
        token: str,
        parents: list[BeamEvent] | None = None,
        *,
        verdict: str | None = "pass",
        kind: str = "field",
        ms: float = 1.0,
        **result: Any,
    ) -> BeamEvent:
        counter["n"] += 1
        n = counter["n"]
        shape = [2, 16, 16] if kind == "vector" else [16, 16]
        return BeamEvent(
            beam_id=f"beam_cell_{run}_{stage}_20250101T000000{n:06d}Z_{n:08x}",
            cell_id=f"cell_{run}",
            sheet_run_id=run,
            container_id="demo",
            stage=stage,
            token=token,
            result={"kind": kind, "shape": shape, "duration_ms": ms, **result},
            timestamp=f"2025-01-01T00:00:00.{n:06d}Z",
            parents=[p.beam_id for p in parents or []],
            verdict=verdict,
        )

    return make


@pytest.fixture
def beam() -> Callable[..., BeamEvent]:
    """Build a BeamEvent: `beam(run, stage, token, parents, verdict=..., kind=..., ms=...)`."""
    return _beam_factory()


def energy_run(beam: Callable[..., BeamEvent], run: str, *, veto_dot: bool = False) -> list[BeamEvent]:
    """The beams of `E = ∇ψ • ∇ψ + Δψ`: ingest ψ, ∇, •, Δ, +."""
    psi = beam(run, "ingest", ":=")
    grad = beam(run, "wave", "∇", [psi], kind="vector", ms=2.0)
    dot = beam(run, "wave", "•", [grad], verdict="veto" if veto_dot else "pass", ms=1.0)
    lap = beam(run, "symbolic", "Δ", [psi], ms=3.0)
    plus = beam(run, "wave", "+", [dot, lap], ms=1.0)
    return [psi, grad, dot, lap, plus]
