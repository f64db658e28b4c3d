"""The store's fast JSON and hash paths agree with the contract's `canonical_json` and `beam_hash`."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.contracts import BeamEvent, beam_hash, canonical_json
from codexlab.store._codec import chain_fields, json_text

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
_keys = st.text(max_size=6) | st.integers(-20, 20) | st.booleans() | st.none() | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_json_text_is_canonical_json(value: object) -> None:
    assert json_text(value) == canonical_json(value)


@settings(max_examples=150, deadline=None)
@given(
    result=st.dictionaries(st.text(max_size=6), _values, max_size=5),
    eid=st.none() | st.from_regex(r"eid::[a-z0-9]{1,6}::[a-f0-9]{1,8}", fullmatch=True),
    parents=st.lists(st.from_regex(r"beam_[a-zé0-9\"\\]{1,6}", fullmatch=True), max_size=3, unique=True),
    token=st.text(min_size=1, max_size=6),
    prev=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    drift=st.none() | st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    qscore=st.none() | st.floats(min_value=0, max_value=1),
    verdict=st.none() | st.text(max_size=6),
)
def test_chain_hash_is_the_contract_hash(
    result: dict[str, object],
    eid: str | None,
    parents: list[str],
    token: str,
    prev: str | None,
    drift: float | None,
    qscore: float | None,
    verdict: str | None,
) -> None:
    beam = BeamEvent(
        beam_id="beam_c_wave_1",
        cell_id="c",
        sheet_run_id="r",
        stage="wave",
        token=token,
        result=result,
        timestamp="2025-01-01T00:00:00Z",
        eid=eid,
        parents=parents,
        drift=drift,
        qscore=qscore,
        verdict=verdict,
    )
    text, digest = chain_fields(beam, prev)
    assert digest == beam_hash(beam, prev)
    assert text == canonical_json(result)


def test_non_finite_floats_take_the_canonical_spelling() -> None:
    assert json_text({"a": math.nan, "b": -math.inf}) == '{"a":"NaN","b":"-Infinity"}'
    assert json_text({True: 1, None: 2}) == '{"None":2,"True":1}'
    assert json_text({"x": {10: 1, 9: 2}}) == '{"x":{"10":1,"9":2}}'
