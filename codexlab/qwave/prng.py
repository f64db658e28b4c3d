"""PRNG keys for ⧖ and random fields, derived from `@seed`, a statement's content hash and a step.

Never from a run counter: the same seeded scroll gives the same outcomes on any machine. The key
implementation is pinned to threefry2x32 so a different JAX default cannot change the draws.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CodexTypeError, CodexValueError

__all__ = ["KEY_IMPL", "check_seed", "derive_key", "as_key", "key_words", "key_hex"]

KEY_IMPL = "threefry2x32"
_HASH_DIGITS = 8


def check_seed(seed: object) -> None:
    """Raise `CodexValueError` unless `seed` is an integer in 0..2⁶³−1 (what a PRNG key accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**63:
        raise CodexValueError(f"`@seed` must be an integer in 0..2⁶³−1, got `{seed!r}`; write `@seed 7`.")


def derive_key(seed: int, statement_hash: str, step: int) -> jax.Array:
    """The PRNG key of one draw: fold_in(fold_in(key(seed), hash[:8] & 0x7fffffff), step).

    Parameters: `seed` from `@seed` (0 ≤ seed < 2⁶³), `statement_hash` the statement's hex content hash
    (at least 8 hex digits), `step` the draw's index inside the statement (a loop iteration, ≥ 0).
    Returns a typed JAX key (threefry2x32). Raises `CodexValueError` for a bad seed, hash or step.
    """
    check_seed(seed)
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or not 0 <= int(step) < 2**31:
        raise CodexValueError(f"The draw step must be an integer in 0..2³¹−1, got `{step!r}`.")
    text = str(statement_hash)
    try:
        if len(text) < _HASH_DIGITS:
            raise ValueError(text)
        salt = int(text[:_HASH_DIGITS], 16) & 0x7FFFFFFF
    except ValueError as err:
        raise CodexValueError(
            f"The statement hash `{text}` is not a hex content hash of at least {_HASH_DIGITS} digits; "
            "pass the statement's Photon node id."
        ) from err
    return _derive(np.int64(seed), np.uint32(salt), np.uint32(step))


@jax.jit
def _derive(seed: jax.Array, salt: jax.Array, step: jax.Array) -> jax.Array:
    """fold_in(fold_in(key(seed), salt), step) as one compiled call."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed, impl=KEY_IMPL), salt), step)


def as_key(key: Any) -> jax.Array:
    """A typed threefry key from a typed key or its raw uint32 words (a `(2,)` array or list)."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise CodexValueError(f"Expected one PRNG key, got a batch of shape `{key.shape}`; pick one.")
        return key
    try:
        words = np.asarray(key)
    except (TypeError, ValueError):
        words = np.asarray(None)
    if words.shape != (2,) or not np.issubdtype(words.dtype, np.integer):
        raise CodexTypeError(
            f"Expected a PRNG key, got `{type(key).__name__}`; build one with `derive_key(seed, statement_hash, step)`."
        )
    if words.min() < 0 or words.max() >= 2**32:
        raise CodexValueError(f"Raw key words must be uint32, got `{words.tolist()}`.")
    return jax.random.wrap_key_data(jnp.asarray(words, dtype=jnp.uint32), impl=KEY_IMPL)


def key_words(key: Any) -> list[int]:
    """The key's raw uint32 words, as plain ints for records."""
    return [int(w) for w in np.asarray(jax.random.key_data(as_key(key))).ravel()]


def key_hex(key: Any) -> str:
    """The key's words as one hex string (8 digits per word)."""
    return "".join(f"{w:08x}" for w in key_words(key))
