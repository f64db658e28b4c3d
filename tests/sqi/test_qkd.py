"""The simulated BB84 exchange against the protocol's own statistics (sifted fraction 1/2, QBER 0 without
and 1/4 with an intercept-resend eavesdropper), reproducibility, per-pair seeds, and beam signatures."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from codexlab.contracts.beam import BeamEvent
from codexlab.errors import CodexError, CodexTypeError, CodexValueError
from codexlab.sqi.qkd import (
    QKDAbort,
    QKDResult,
    bb84_exchange,
    pair_key_seed,
    sign_beam,
    verify_beam_signature,
)

ALPHA = 1e-3


def _beam(**changes: Any) -> BeamEvent:
    fields: dict[str, Any] = {
        "beam_id": "beam_c1_entangle_20250101T000000000000Z_0a1b2c3d",
        "cell_id": "c1",
        "sheet_run_id": "run1",
        "eid": "eid::run1::abc123",
        "stage": "entangle",
        "token": "↔",
        "result": {"shape": [4], "dtype": "complex64", "norm": 1.0},
        "timestamp": "2025-01-01T00:00:00Z",
        "parents": ["beam_c1_ingest_20250101T000000000000Z_00000000"],
    }
    fields.update(changes)
    return BeamEvent(**fields)


# ------------------------------------------------------------------------------------------ exchange


def test_no_eavesdropper_gives_zero_qber_and_a_key() -> None:
    n = 2048
    result = bb84_exchange(n, seed=12345)
    assert isinstance(result, QKDResult)
    assert result.qber == 0.0
    assert not result.aborted
    assert isinstance(result.key, bytes) and len(result.key) == 32
    assert result.raise_if_aborted() is None
    # Each basis pair matches with probability 1/2, independently.
    assert binomtest(result.sifted, n, 0.5).pvalue > ALPHA
    # About a quarter of the sifted bits are disclosed; the rest become the key.
    assert abs(result.sample_size - 0.25 * result.sifted) <= 1
    assert result.sample_size + result.key_bits == result.sifted
    assert result.n_qubits == n and result.seed == 12345 and result.eavesdropper is False


def test_eavesdropper_gives_quarter_qber_and_aborts() -> None:
    result = bb84_exchange(4096, seed=2024, eavesdropper=True)
    errors = round(result.qber * result.sample_size)
    assert errors / result.sample_size == pytest.approx(result.qber)
    # Intercept-resend: Eve picks the wrong basis half the time, then Bob's bit is a coin flip → 1/4.
    assert binomtest(errors, result.sample_size, 0.25).pvalue > ALPHA
    assert binomtest(result.sifted, 4096, 0.5).pvalue > ALPHA
    assert result.aborted and result.key is None
    with pytest.raises(QKDAbort) as info:
        result.raise_if_aborted()
    assert isinstance(info.value, CodexError)
    message = str(info.value)
    assert f"{errors / result.sample_size:.3f}" in message
    assert "0.11" in message


def test_abort_is_a_strict_threshold_on_the_estimate() -> None:
    tapped = bb84_exchange(1024, seed=7, eavesdropper=True, abort_qber=1.0)
    assert tapped.qber > 0.11
    assert not tapped.aborted and tapped.key is not None
    clean = bb84_exchange(1024, seed=7, abort_qber=0.0)
    assert clean.qber == 0.0 and not clean.aborted


def test_same_seed_same_key_and_different_seed_different_key() -> None:
    first = bb84_exchange(1024, seed=99)
    again = bb84_exchange(1024, seed=99)
    other = bb84_exchange(1024, seed=100)
    assert first == again and first.key == again.key
    assert first.key != other.key


def test_key_is_not_in_the_repr() -> None:
    result = bb84_exchange(256, seed=1)
    assert result.key is not None and result.key.hex() not in repr(result)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_qubits": 0, "seed": 1}, CodexValueError),
        ({"n_qubits": 16.0, "seed": 1}, CodexTypeError),
        ({"n_qubits": 64, "seed": -1}, CodexValueError),
        ({"n_qubits": 64, "seed": True}, CodexTypeError),
        ({"n_qubits": 64, "seed": 1, "sample_fraction": 0.0}, CodexValueError),
        ({"n_qubits": 64, "seed": 1, "sample_fraction": 1.0}, CodexValueError),
        ({"n_qubits": 64, "seed": 1, "abort_qber": 1.5}, CodexValueError),
        ({"n_qubits": 64, "seed": 1, "abort_qber": float("nan")}, CodexValueError),
    ],
)
def test_bad_arguments_are_codex_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        bb84_exchange(**kwargs)


def test_too_few_qubits_abort_instead_of_issuing_an_empty_key() -> None:
    result = bb84_exchange(1, seed=0)
    assert result.key_bits == 0 and result.aborted and result.key is None
    with pytest.raises(QKDAbort, match="threshold 0.11"):
        result.raise_if_aborted()


@settings(max_examples=150, deadline=None)
@given(
    n_qubits=st.integers(16, 512),
    seed=st.integers(0, 2**63 - 1),
    eavesdropper=st.booleans(),
)
def test_any_exchange_only_aborts_or_issues_a_key(n_qubits: int, seed: int, eavesdropper: bool) -> None:
    result = bb84_exchange(n_qubits, seed=seed, eavesdropper=eavesdropper)
    assert 0 <= result.sifted <= n_qubits
    assert result.sample_size + result.key_bits == result.sifted
    assert result.aborted == (result.key is None)
    if result.aborted:
        with pytest.raises(QKDAbort):
            result.raise_if_aborted()
    else:
        assert result.qber <= 0.11 and len(result.key or b"") == 32
        result.raise_if_aborted()
    if not eavesdropper:  # an honest channel has no errors; it aborts only when no key bits are left
        assert result.qber == 0.0 and (not result.aborted or result.key_bits == 0)


# ------------------------------------------------------------------------------------------ pair seeds


def test_pair_key_seed_is_reproducible_and_distinct_per_pair() -> None:
    a = pair_key_seed(7, "eid::run1::aaa")
    assert a == pair_key_seed(7, "eid::run1::aaa")
    assert a != pair_key_seed(7, "eid::run1::aab")
    assert a != pair_key_seed(8, "eid::run1::aaa")
    seeds = {pair_key_seed(7, f"eid::run1::{i:04x}") for i in range(500)}
    assert len(seeds) == 500
    assert all(0 <= s < 2**63 for s in seeds)
    key_a = bb84_exchange(256, seed=a).key
    key_b = bb84_exchange(256, seed=pair_key_seed(7, "eid::run1::aab")).key
    assert key_a is not None and key_a != key_b


def test_pair_key_seed_rejects_bad_input() -> None:
    with pytest.raises(CodexTypeError):
        pair_key_seed(7, "")
    with pytest.raises(CodexValueError):
        pair_key_seed(-1, "eid::r::h")


# ------------------------------------------------------------------------------------------ signatures


@pytest.fixture(scope="module")
def key() -> bytes:
    result = bb84_exchange(1024, seed=pair_key_seed(11, "eid::run1::abc123"))
    result.raise_if_aborted()
    assert result.key is not None
    return result.key


def test_signature_is_hmac_sha256_hex_and_verifies(key: bytes) -> None:
    beam = _beam()
    signature = sign_beam(beam, key)
    assert len(signature) == 64 and int(signature, 16) >= 0
    assert verify_beam_signature(beam, signature, key)
    # The dict form of the same beam, with or without its signature stored in it, signs the same.
    data = beam.model_dump(mode="python")
    assert sign_beam(data, key) == signature
    assert verify_beam_signature({**data, "signature": signature}, signature, key)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("result", {"shape": [4], "dtype": "complex64", "norm": 1.0000001}),
        ("parents", ["beam_c1_ingest_20250101T000000000000Z_00000001"]),
        ("token", "⊕"),
        ("cell_id", "c2"),
        ("sheet_run_id", "run2"),
        ("container_id", "other"),
        ("eid", "eid::run1::abc124"),
        ("stage", "collapse"),
        ("timestamp", "2025-01-01T00:00:01Z"),
        ("source", "photon"),
        ("beam_id", "beam_c1_entangle_20250101T000000000000Z_0a1b2c3e"),
    ],
)
def test_tampering_a_content_field_breaks_the_signature(key: bytes, name: str, value: Any) -> None:
    beam = _beam()
    signature = sign_beam(beam, key)
    tampered = beam.evolve(**{name: value})
    assert not verify_beam_signature(tampered, signature, key)
    assert not verify_beam_signature({**beam.model_dump(mode="python"), name: value}, signature, key)


def test_scores_and_chain_links_do_not_change_the_signature(key: bytes) -> None:
    beam = _beam()
    signature = sign_beam(beam, key)
    scored = beam.evolve(qscore=0.2, drift=0.5, verdict="veto")
    assert verify_beam_signature(scored, signature, key)
    assert verify_beam_signature(beam.with_chain(hashlib.sha256(b"prev").hexdigest()), signature, key)


def test_wrong_key_or_malformed_signature_does_not_verify(key: bytes) -> None:
    beam = _beam()
    signature = sign_beam(beam, key)
    other = bb84_exchange(1024, seed=pair_key_seed(11, "eid::run1::other")).key
    assert other is not None and other != key
    assert not verify_beam_signature(beam, signature, other)
    assert not verify_beam_signature(beam, signature.upper(), key)
    assert not verify_beam_signature(beam, signature[:-1], key)
    assert not verify_beam_signature(beam, "é" * 64, key)
    assert not verify_beam_signature(beam, None, key)  # type: ignore[arg-type]


def test_signing_without_a_key_is_an_error() -> None:
    aborted = bb84_exchange(1024, seed=3, eavesdropper=True)
    assert aborted.aborted
    with pytest.raises(CodexValueError, match="raise_if_aborted"):
        sign_beam(_beam(), aborted.key)  # type: ignore[arg-type]
    with pytest.raises(CodexTypeError):
        sign_beam(_beam(), b"")
    with pytest.raises(CodexTypeError):
        sign_beam(object(), b"k")


def test_a_qkd_signature_is_not_tamper_evidence_but_the_sealed_store_is(tmp_path: Any) -> None:
    """The documented limit: the exchange seed is stored beside the signature, so anyone can re-derive the
    key and re-sign an edited beam; the simulation then sees nothing, while the store's keyed anchors do."""
    import json
    import sqlite3

    from codexlab import Lab
    from codexlab.contracts import beam_hash
    from codexlab.runtime.integrity import QKD_FIELD, _unsigned, verify_entangled_signatures

    home = tmp_path / "home"
    lab = Lab(home=home, flags={"QKD_ON": True})
    run = lab.run(
        "@grid x:-1..1:16, y:-1..1:16\n@seed 11\na := gaussian(x, y, x0=-0.3, σ=0.15)\n"
        "b := gaussian(x, y, x0=0.3, σ=0.15)\na ↔ b\n"
    )
    stored = lab.store.beams_for_run(run.run_id)
    target = next(b for b in stored if QKD_FIELD in b.result)
    record = target.result[QKD_FIELD]
    forged_key = bb84_exchange(seed=record["exchange_seed"]).key  # re-derived from what the store holds
    assert forged_key is not None
    edited = target.evolve(result={**target.result, "entropy_bits": 0.0})
    resigned = {**edited.result, QKD_FIELD: {**record, "signature": sign_beam(_unsigned(edited), forged_key)}}
    edited = edited.evolve(result=resigned)
    assert verify_entangled_signatures([edited]) == []  # the simulation cannot tell
    rows = {b.beam_id: b for b in stored}
    prev = target.prev_hash
    with sqlite3.connect(home / "beams.db") as db:  # the tamperer also re-hashes the run's chain
        for beam in stored[[b.beam_id for b in stored].index(target.beam_id) :]:
            beam = edited if beam.beam_id == target.beam_id else rows[beam.beam_id]
            digest = beam_hash(beam, prev)
            db.execute(
                "UPDATE beam_events SET result = ?, prev_hash = ?, hash = ? WHERE beam_id = ?",
                (json.dumps(beam.result), prev, digest, beam.beam_id),
            )
            prev = digest
    problems = lab.store.verify_chain()
    assert any("no longer has the hash anchor" in p for p in problems), problems
