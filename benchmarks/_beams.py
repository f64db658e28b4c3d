"""Synthetic beams shared by the store and knowledge-graph benchmarks (one place for their shape)."""

from __future__ import annotations

from typing import Any

from codexlab.contracts import BeamEvent

__all__ = ["chain", "timestamp", "wave_result"]


def timestamp(i: int, day: int = 1) -> str:
    """The i-th microsecond of 2025-01-`day` as the contract's ISO text (distinct and ordered per i)."""
    seconds, micros = divmod(i, 1_000_000)
    return f"2025-01-{day:02d}T00:{seconds // 60:02d}:{seconds % 60:02d}.{micros:06d}Z"


def wave_result(i: int, **extra: Any) -> dict[str, Any]:
    """The result summary of a 256² float32 wave op, distinct per i."""
    return {
        "shape": [256, 256],
        "dtype": "float32",
        "min": -1.25 - i * 1e-6,
        "max": 3.5,
        "norm": 12.75,
        "checksum": f"{i:016x}",
        **extra,
        "duration_ms": 0.42,
    }


def chain(n: int, run: str = "chain_run") -> list[BeamEvent]:
    """`n` beams of one run, each derived from the one before: a lineage `n` deep."""
    out: list[BeamEvent] = []
    for i in range(n):
        out.append(
            BeamEvent(
                beam_id=f"beam_chain_wave_{i:08d}",
                cell_id="cell_chain",
                sheet_run_id=run,
                stage="ingest" if i == 0 else "wave",
                token="Δ",
                timestamp=timestamp(i, day=2),
                parents=[out[-1].beam_id] if out else [],
            )
        )
    return out
