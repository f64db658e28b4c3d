"""Size bounds on exact numbers, checked before SymPy computes them.

SymPy evaluates `Integer ** Integer` eagerly: `10^10^10` would spend minutes building a 33-gigabit
integer. The evaluator estimates a power's size from its operands' bit lengths first (exact ints, no
floats) and refuses past `MAX_EXACT_BITS`; every other exact result is checked after it is built (sums
and products grow at most additively, so that check is cheap).
"""

from __future__ import annotations

from typing import Any

import sympy

from ..errors import ResourceError

__all__ = ["MAX_EXACT_BITS", "exact_bits", "power_bits", "check_power", "check_exact"]

#: The most bits an exact rational's numerator or denominator may have (about 2,466 decimal digits;
#: Python prints ints of up to 4,300 digits, so every allowed number can be shown and stored).
MAX_EXACT_BITS = 8192


def exact_bits(value: Any) -> int:
    """Bits of the larger of an exact rational's numerator and denominator (0 for anything else)."""
    if isinstance(value, sympy.Rational):
        return max(abs(int(value.p)).bit_length(), int(value.q).bit_length())
    return 0


def power_bits(base: Any, exponent: Any) -> int:
    """An upper bound on the bits of `base ** exponent` for an exact rational base and exponent (0 when
    either is not exact, or the base is 0 or ±1, whose powers stay small)."""
    if not isinstance(base, sympy.Rational) or not isinstance(exponent, sympy.Rational):
        return 0
    if base in (0, 1, -1):
        return 0
    magnitude = -(-abs(int(exponent.p)) // int(exponent.q))  # ⌈|exponent|⌉, exactly
    return magnitude * exact_bits(base)


def _brief(value: Any) -> str:
    """A number as the message shows it: its digits when short, else its size."""
    bits = exact_bits(value)
    if bits > 64:
        return f"(a {bits:,}-bit number)"
    return sympy.sstr(value) if not isinstance(value, sympy.Rational) or value.q == 1 else f"({value})"


def check_power(base: Any, exponent: Any) -> None:
    """Refuse `base ^ exponent` before it is computed when its result would be too big."""
    bits = power_bits(base, exponent)
    if bits > MAX_EXACT_BITS:
        raise ResourceError(
            f"The exact power `{_brief(base)}^{_brief(exponent)}` would have about {bits:,} bits, over the "
            f"limit of {MAX_EXACT_BITS:,}; use a smaller exponent."
        )


def check_exact(value: Any) -> None:
    """Refuse an exact rational result larger than `MAX_EXACT_BITS`."""
    bits = exact_bits(value)
    if bits > MAX_EXACT_BITS:
        raise ResourceError(
            f"An exact number in this statement has {bits:,} bits, over the limit of {MAX_EXACT_BITS:,}; "
            "use smaller numbers."
        )
