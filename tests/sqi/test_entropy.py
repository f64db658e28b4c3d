"""Entropy H = −Σ p log p over p = |ψ|²ΔA (nats) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from codexlab.errors import CodexTypeError
from codexlab.sqi import beam_entropies, entropy_delta, shannon_entropy


def test_uniform_field_has_log_n_nats() -> None:
    assert shannon_entropy(np.full((8, 4), 3.0)) == pytest.approx(math.log(32), rel=1e-14)


def test_single_spike_has_zero_entropy_and_zeros_are_ignored() -> None:
    spike = np.zeros((5, 5))
    spike[2, 3] = -7.0
    assert shannon_entropy(spike) == 0.0
    assert shannon_entropy(np.zeros(10)) == 0.0


def test_real_field_uses_p_proportional_to_f_squared() -> None:
    f = np.array([1.0, -2.0, 0.0, 2.0])
    p = np.array([1.0, 4.0, 4.0]) / 9.0
    assert shannon_entropy(f) == pytest.approx(float(-np.sum(p * np.log(p))), rel=1e-14)


def test_complex_state_uses_modulus_squared() -> None:
    psi = np.array([1 + 1j, 1 - 1j, 2j, 0.0])
    p = np.array([2.0, 2.0, 4.0]) / 8.0
    assert shannon_entropy(psi) == pytest.approx(float(-np.sum(p * np.log(p))), rel=1e-14)


def test_vector_field_sums_components_per_point() -> None:
    comps = np.array([[3.0, 0.0], [4.0, 1.0]])  # component × x: |F|² = 25, 1
    field = xr.DataArray(comps, dims=("component", "x"))
    p = np.array([25.0, 1.0]) / 26.0
    assert shannon_entropy(field) == pytest.approx(float(-np.sum(p * np.log(p))), rel=1e-14)


def test_numbers_have_zero_entropy_and_nan_fields_have_none() -> None:
    assert shannon_entropy(4.2) == 0.0
    assert shannon_entropy(np.float64(3.0)) == 0.0
    assert shannon_entropy(1 + 2j) == 0.0
    assert math.isnan(shannon_entropy(np.array([1.0, np.nan])))
    with pytest.raises(CodexTypeError, match="fields and numbers"):
        shannon_entropy({"outcome": [0.1]})


def test_entropy_delta_is_output_minus_mean_of_field_inputs() -> None:
    a, b = np.ones(4), np.ones(16)
    out = np.ones(8)
    expected = math.log(8) - (math.log(4) + math.log(16)) / 2
    assert entropy_delta(out, [a, 2.0, b]) == pytest.approx(expected, rel=1e-14)
    assert entropy_delta(out, [2.0, 3.0]) == 0.0
    assert entropy_delta(5.0, [a]) == pytest.approx(-math.log(4))


def test_beam_entropies_keeps_fields_only() -> None:
    got = beam_entropies({"beam_a": np.ones(4), "beam_n": 3.0})
    assert set(got) == {"beam_a"} and got["beam_a"] == pytest.approx(math.log(4))


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 64), elements=st.floats(-1e6, 1e6, allow_nan=False)),
    st.floats(1e-3, 1e3),
)
def test_entropy_is_between_zero_and_log_n_and_scale_free(values: np.ndarray, factor: float) -> None:
    h = shannon_entropy(values)
    assert -1e-12 <= h <= math.log(values.size) + 1e-12
    assert shannon_entropy(values * factor) == pytest.approx(h, abs=1e-9)
