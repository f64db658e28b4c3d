"""A SIMULATION of BB84 quantum key distribution, used with `QKD_ON` to HMAC-sign an entangled pair's beams.

Nothing here is quantum or secure against a real adversary: qubits are NumPy arrays drawn from a seeded
PCG64 generator, so a run is reproducible, and whoever knows the seed knows the key. The signatures
check the simulation's consistency; they are not tamper evidence (the beam store's sealed anchors are,
see `codexlab verify`). It models random bases, sifting, a disclosed-sample QBER
estimate with abort above a threshold (11% by default), and an optional intercept-resend eavesdropper
(about 25% errors on the sifted key). Error correction is not simulated, and privacy amplification is
simplified to one BLAKE2b hash of the kept bits (see SEMANTICS.md, "Integrity").
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from codexlab.contracts.beam import canonical_json
from codexlab.errors import CodexError, CodexTypeError, CodexValueError

__all__ = [
    "DEFAULT_ABORT_QBER",
    "KEY_BYTES",
    "UNSIGNED_FIELDS",
    "QKDAbort",
    "QKDResult",
    "bb84_exchange",
    "pair_key_seed",
    "sign_beam",
    "verify_beam_signature",
]

DEFAULT_ABORT_QBER = 0.11
KEY_BYTES = 32
_MAX_SEED = 2**63
_AMPLIFY_PERSON = b"codexlab-bb84"
_PAIR_PERSON = b"codexlab-qkdpair"

# Not signed: the scores SQI/SoulLaw add after signing, the signature itself, and the hash-chain links
# (set when the beam is appended to its run; the chain itself protects them).
UNSIGNED_FIELDS: frozenset[str] = frozenset({"drift", "qscore", "verdict", "signature", "prev_hash", "hash"})


class QKDAbort(CodexError, RuntimeError):
    """A simulated BB84 exchange that aborted: its QBER estimate was over the threshold (or no key was left)."""


@dataclass(frozen=True)
class QKDResult:
    """The outcome of one simulated BB84 exchange; `key` is None when it aborted (see `raise_if_aborted`)."""

    METHOD: ClassVar[str] = "BB84 (simulated)"

    n_qubits: int
    sifted: int
    sample_size: int
    qber: float
    aborted: bool
    key: bytes | None = field(repr=False)
    seed: int
    eavesdropper: bool
    key_bits: int = 0
    abort_qber: float = DEFAULT_ABORT_QBER

    def raise_if_aborted(self) -> None:
        """Raise `QKDAbort` if the exchange aborted, so callers that need a key fail loudly."""
        if not self.aborted:
            return
        if self.sample_size == 0 or self.key_bits == 0:
            raise QKDAbort(
                f"The simulated BB84 exchange aborted: {self.sifted} sifted bits leave {self.key_bits} key bits "
                f"after a {self.sample_size}-bit QBER sample (QBER {self.qber:.3f}, threshold {self.abort_qber:g}); "
                "rerun with more `n_qubits`."
            )
        raise QKDAbort(
            f"The simulated BB84 exchange aborted: QBER {self.qber:.3f} over {self.sample_size} sampled bits "
            f"exceeds the threshold {self.abort_qber:g}, so the channel may be tapped; no key was issued."
        )


def bb84_exchange(
    n_qubits: int = 1024,
    *,
    seed: int,
    eavesdropper: bool = False,
    sample_fraction: float = 0.25,
    abort_qber: float = DEFAULT_ABORT_QBER,
) -> QKDResult:
    """Simulate one BB84 exchange of `n_qubits`, deterministic for `seed`; abort (no exception) above `abort_qber`.

    Alice sends random bits in random bases (0 rectilinear, 1 diagonal); Bob measures in random bases. A
    measurement in the preparation basis returns the bit, the other basis a uniform random bit. With
    `eavesdropper`, Eve measures each qubit in a random basis and resends her result in her basis. Sifting
    keeps positions where Alice's and Bob's bases match; a random `ceil(sample_fraction · sifted)` of
    those bits is disclosed to estimate the QBER and discarded. The exchange aborts when QBER >
    `abort_qber` or when no sampled or key bits remain. Otherwise the key is BLAKE2b-256 of the kept bit
    count and the packed kept bits (a stand-in for privacy amplification; error correction is not
    simulated, so the key is the one Alice and Bob would share after reconciliation).
    """
    n = _check_int("n_qubits", n_qubits, 1, None)
    seed = _check_int("seed", seed, 0, _MAX_SEED - 1)
    if not isinstance(eavesdropper, bool | np.bool_):
        raise CodexTypeError(f"`eavesdropper` must be True or False, got `{eavesdropper!r}`.")
    fraction = _check_float("sample_fraction", sample_fraction, 0.0, 1.0, closed=False)
    threshold = _check_float("abort_qber", abort_qber, 0.0, 1.0, closed=True)

    rng = np.random.Generator(np.random.PCG64(seed))
    alice_bits = rng.integers(0, 2, size=n, dtype=np.uint8)
    alice_bases = rng.integers(0, 2, size=n, dtype=np.uint8)
    bob_bases = rng.integers(0, 2, size=n, dtype=np.uint8)

    # The state on the channel when it reaches Bob: (bit, basis) it encodes.
    channel_bits, channel_bases = alice_bits, alice_bases
    if eavesdropper:
        eve_bases = rng.integers(0, 2, size=n, dtype=np.uint8)
        eve_guess = rng.integers(0, 2, size=n, dtype=np.uint8)
        channel_bits = np.where(eve_bases == alice_bases, alice_bits, eve_guess).astype(np.uint8)
        channel_bases = eve_bases
    bob_guess = rng.integers(0, 2, size=n, dtype=np.uint8)
    bob_bits = np.where(bob_bases == channel_bases, channel_bits, bob_guess).astype(np.uint8)

    sifted_idx = np.flatnonzero(alice_bases == bob_bases)
    sifted = int(sifted_idx.size)
    sample_size = math.ceil(fraction * sifted)
    disclosed = np.zeros(sifted, dtype=bool)
    disclosed[rng.choice(sifted, size=sample_size, replace=False)] = True

    sample_pos = sifted_idx[disclosed]
    errors = int(np.count_nonzero(alice_bits[sample_pos] != bob_bits[sample_pos]))
    qber = errors / sample_size if sample_size else float("nan")
    kept = alice_bits[sifted_idx[~disclosed]]
    key_bits = int(kept.size)

    aborted = sample_size == 0 or key_bits == 0 or qber > threshold
    key = None if aborted else _amplify(kept)
    return QKDResult(
        n_qubits=n,
        sifted=sifted,
        sample_size=sample_size,
        qber=qber,
        aborted=bool(aborted),
        key=key,
        seed=seed,
        eavesdropper=bool(eavesdropper),
        key_bits=key_bits,
        abort_qber=threshold,
    )


def _amplify(bits: np.ndarray) -> bytes:
    """The simplified privacy amplification: BLAKE2b-256 of the bit count (8 bytes) and the packed bits."""
    digest = hashlib.blake2b(digest_size=KEY_BYTES, person=_AMPLIFY_PERSON)
    digest.update(int(bits.size).to_bytes(8, "big"))
    digest.update(np.packbits(bits).tobytes())
    return digest.digest()


def pair_key_seed(seed: int, eid: str) -> int:
    """The exchange seed of one entangled pair: BLAKE2b of the scroll seed and `eid`, in 0..2⁶³−1.

    Reproducible for the same scroll seed and eid, and (up to hash collisions) distinct per pair.
    """
    seed = _check_int("seed", seed, 0, _MAX_SEED - 1)
    if not isinstance(eid, str) or not eid:
        raise CodexTypeError(f"`eid` must be a non-empty string such as `eid::run::hash`, got `{eid!r}`.")
    digest = hashlib.blake2b(digest_size=8, person=_PAIR_PERSON)
    digest.update(seed.to_bytes(8, "big"))
    digest.update(eid.encode("utf-8"))
    return int.from_bytes(digest.digest(), "big") & (_MAX_SEED - 1)


def sign_beam(beam: Any, key: bytes) -> str:
    """HMAC-SHA256 hex of the canonical JSON of a beam's content fields (all but `UNSIGNED_FIELDS`).

    `beam` is a `BeamEvent` or its dict; both give the same signature. Scores added later (drift, qscore,
    verdict) do not change it; any change to a content field (token, result, parents, ...) does.
    """
    message = canonical_json(_content(beam)).encode("utf-8")
    return hmac.new(_check_key(key), message, hashlib.sha256).hexdigest()


def verify_beam_signature(beam: Any, signature: str, key: bytes) -> bool:
    """Whether `signature` is `sign_beam(beam, key)`, compared in constant time; False for a non-string."""
    expected = sign_beam(beam, key)
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8", "surrogatepass"))


def _content(beam: Any) -> dict[str, Any]:
    """The signed fields of a beam (a Mapping or a pydantic model) as a plain dict."""
    if isinstance(beam, Mapping):
        data = dict(beam)
    elif hasattr(beam, "model_dump"):
        data = beam.model_dump(mode="python")
    else:
        raise CodexTypeError(f"Expected a `BeamEvent` or a beam dict to sign, got `{type(beam).__name__}`.")
    return {str(k): v for k, v in data.items() if str(k) not in UNSIGNED_FIELDS}


def _check_key(key: Any) -> bytes:
    """The key as bytes; a missing key (an aborted exchange) or an empty one is an error."""
    if key is None:
        raise CodexValueError(
            "No QKD key to sign with (the BB84 exchange aborted?); call `result.raise_if_aborted()` first."
        )
    if not isinstance(key, bytes | bytearray) or len(key) == 0:
        raise CodexTypeError(f"The signing key must be non-empty bytes, got `{type(key).__name__}`.")
    return bytes(key)


def _check_int(name: str, value: Any, low: int, high: int | None) -> int:
    """An integer (not a bool) in low..high."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise CodexTypeError(f"`{name}` must be an integer, got `{value!r}`.")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"at least {low}"
        raise CodexValueError(f"`{name}` must be {bound}, got `{value}`.")
    return value


def _check_float(name: str, value: Any, low: float, high: float, *, closed: bool) -> float:
    """A finite real in [low, high] (`closed`) or (low, high)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise CodexTypeError(f"`{name}` must be a number, got `{value!r}`.")
    value = float(value)
    inside = low <= value <= high if closed else low < value < high
    if not inside:
        interval = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        raise CodexValueError(f"`{name}` must be in {interval}, got `{value!r}`.")
    return value
