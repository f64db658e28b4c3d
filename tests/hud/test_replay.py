"""The GHX replay widget: steps are `lab.replay(ref, n)` in order, members flagged, heatmaps decode back to the
vault field, moving clamps, the synced state stays small, and the HTML fallback escapes text."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("anywidget")

from codexlab import Lab  # noqa: E402
from codexlab.hud.replay import ReplayWidget, field_heatmap  # noqa: E402

PAIR = (
    "@grid x:-1..1:32, y:-1..1:32\n@seed 7\n"
    "a := gaussian(x, y, x0=-0.5, σ=0.1)\nb := gaussian(x, y, x0=0.5, σ=0.1)\n"
    "P = a ↔ b\nm = ⧖a"
)
BIG = (
    "@grid x:-1..1:128, y:-1..1:128\n"
    "f := gaussian(x, y, σ=0.3)\ng := x^2 + y^2\nh := sin(3*x) * cos(2*y)\n"
    "L = Δf\nG = ∇h\nS = f + g\nT = g * h\nU = S - T\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    lab = Lab(home=tmp_path_factory.mktemp("replay") / "home")
    lab.progress = False
    return lab


@pytest.fixture(scope="module")
def pair_run(lab):
    return lab.run(PAIR)


@pytest.fixture(scope="module")
def big_run(lab):
    return lab.run(BIG)


def _decode(field: dict) -> np.ndarray:
    q = np.asarray(field["data"], dtype=np.float64).reshape(field["shape"])
    return field["min"] + q / 255 * (field["max"] - field["min"])


def _reference(values: np.ndarray) -> np.ndarray:
    """Real fields as they are, |·| of complex ones, the norm of vectors (leading component axis), then a block
    mean to ≤ 64 cells per axis — in plain NumPy."""
    v = np.asarray(values)
    v = np.abs(v) if np.iscomplexobj(v) else v.astype(np.float64)
    if v.ndim == 3:
        v = np.sqrt((v**2).sum(axis=0))
    f0, f1 = -(-v.shape[0] // 64), -(-v.shape[1] // 64)
    assert v.shape[0] % f0 == 0 and v.shape[1] % f1 == 0  # the grids here divide evenly
    small = v.reshape(v.shape[0] // f0, f0, v.shape[1] // f1, f1).mean(axis=(1, 3))
    return small.T[::-1]  # image order: x to the right, y up (the top row is the highest y)


def test_replay_by_eid_lists_the_replayed_beams_in_order_with_members_flagged(lab, pair_run) -> None:
    eid = pair_run.eids[0]
    w = ReplayWidget(lab, eid, n=10)
    beams = lab.replay(eid, n=10)
    assert [s["beam_id"] for s in w.steps] == [b.beam_id for b in beams] and beams
    assert [(s["stage"], s["token"], s["timestamp"]) for s in w.steps] == [
        (b.stage, b.token, b.timestamp) for b in beams
    ]
    assert {s["stage"] for s in w.steps} >= {"entangle", "collapse"}
    assert all(s["entangled"] and s["eid"] == eid for s in w.steps)
    assert [s["qscore"] for s in w.steps] == [b.qscore for b in beams]
    assert [s["verdict"] for s in w.steps] == [b.verdict for b in beams]
    assert w.step == 0 and w.playing is False


def test_replay_by_run_flags_members_and_only_them(lab, pair_run) -> None:
    w = ReplayWidget(lab, pair_run.run_id, n=10)
    beams = lab.replay(pair_run.run_id, n=10)
    assert [s["beam_id"] for s in w.steps] == [b.beam_id for b in beams]
    linked = set(lab.store.frame("entanglement_members")["beam_id"].to_list())
    for s, b in zip(w.steps, beams, strict=True):
        assert s["entangled"] == (b.eid is not None or b.beam_id in linked), s
        if b.stage in ("schedule", "rewrite"):
            assert not s["entangled"]
    ingest = {s["name"]: s for s in w.steps if s["stage"] == "ingest"}
    assert set(ingest) == {"a", "b"}
    if linked:  # the pair's inputs are recorded as members A and B
        assert ingest["a"]["entangled"] and ingest["b"]["entangled"]
        assert {ingest["a"]["role"], ingest["b"]["role"]} == {"A", "B"}


def test_heatmaps_decode_back_to_the_vault_field(lab, pair_run, big_run) -> None:
    for ref in (pair_run.run_id, big_run.run_id):
        w = ReplayWidget(lab, ref, n=10)
        with_field = [s for s in w.steps if s["vault_ref"]]
        assert with_field
        for s in with_field:
            assert s["has_field"]
            field = w.fields[s["vault_ref"]]
            expected = _reference(lab.vault.load(s["vault_ref"]).values)
            assert field["kind"] == "heatmap" and field["shape"] == list(expected.shape)
            assert max(field["shape"]) <= 64 and all(0 <= q <= 255 for q in field["data"])
            lo, hi = float(expected.min()), float(expected.max())
            assert field["min"] == pytest.approx(lo, rel=1e-12, abs=1e-12)
            assert field["max"] == pytest.approx(hi, rel=1e-12, abs=1e-12)
            assert np.max(np.abs(_decode(field) - expected)) <= (hi - lo) / 255 + 1e-12
    w = ReplayWidget(lab, big_run.run_id, n=10)
    vector = next(s for s in w.steps if s["token"] == "∇" and s["vault_ref"])
    assert w.fields[vector["vault_ref"]]["magnitude"] is True


def test_complex_fields_draw_their_magnitude_and_1d_fields_a_line() -> None:
    z = np.exp(1j * np.linspace(0, 6, 96))[:, None] * np.linspace(1, 2, 200)[None, :]
    f = field_heatmap(xr.DataArray(z, dims=("x", "y")))
    expected = np.abs(z).reshape(48, 2, 50, 4).mean(axis=(1, 3)).T[::-1]
    assert f["magnitude"] and f["shape"] == [50, 48] and f["dims"] == ["x", "y"]
    assert np.max(np.abs(_decode(f) - expected)) <= (expected.max() - expected.min()) / 255 + 1e-12
    line = field_heatmap(xr.DataArray(np.array([0.0, np.inf, 2.0, 4.0]), dims=("x",)))
    assert line["kind"] == "line" and line["data"] == [0, -1, 128, 255] and (line["min"], line["max"]) == (0.0, 4.0)
    assert field_heatmap(xr.DataArray(3.0)) is None


def test_next_prev_goto_clamp_at_the_ends(lab, pair_run) -> None:
    w = ReplayWidget(lab, pair_run.run_id, n=5)
    last = len(w.steps) - 1
    assert last == 4
    assert w.prev() == 0 and w.step == 0
    assert w.next() == 1 and w.next() == 2
    assert w.goto(99) == last and w.next() == last
    assert w.goto(-3) == 0 and w.prev() == 0
    assert w.goto(3) == 3 and w.step == 3
    w.play()
    assert w.playing is True
    w.pause()
    assert w.playing is False
    w.goto(last)
    w.play()
    assert w.step == 0 and w.playing  # play from the last step starts over


def test_state_stays_small_for_ten_steps_of_128_squared_fields(lab, big_run) -> None:
    w = ReplayWidget(lab, big_run.run_id, n=10)
    assert len(w.steps) == 10
    big = [s for s in w.steps if s["has_field"]]
    assert len(big) >= 5
    assert all(w.fields[s["vault_ref"]]["source_shape"][-2:] == [128, 128] for s in big)
    size = len(json.dumps(w.get_state(), ensure_ascii=False))
    assert size < 200_000, size


def test_html_fallback_escapes_text(lab, pair_run) -> None:
    beams = lab.replay(pair_run.eids[0], n=10)
    evil = [b.model_copy(update={"token": "<img src=x onerror=alert(1)>", "verdict": "a&b"}) for b in beams]

    class StubLab:
        vault = lab.vault
        store = lab.store

        def replay(self, ref, n=10):
            return evil

        def replay_ref(self, ref):
            return ref

    w = ReplayWidget(StubLab(), "<script>alert(1)</script>", n=10)
    page = w._repr_html_()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "a&amp;b" in page
    assert page.count("<tr") == len(evil) + 1
    bundle, _ = w._repr_mimebundle_()
    assert bundle["text/html"] == page and bundle["text/plain"].startswith("<ReplayWidget")
    empty = ReplayWidget(StubLab(), "x", n=10)
    empty.steps = []
    assert "No beams" in empty._repr_html_()


def test_a_beam_id_replays_its_eid_starting_at_that_beam(lab, pair_run) -> None:
    member = [b for b in pair_run.beams if b.eid][-1]
    assert [b.beam_id for b in lab.replay(member.beam_id, n=10)] == [b.beam_id for b in lab.replay(member.eid, n=10)]
    w = ReplayWidget(lab, member.beam_id, n=10)
    assert w.ref == member.eid and w.steps[w.step]["beam_id"] == member.beam_id and w.step > 0
    w.goto(0)
    w.refresh()  # a refresh keeps the step the user moved to
    assert w.step == 0
    plain = next(b for b in pair_run.beams if not b.eid and b.stage == "ingest")
    assert ReplayWidget(lab, plain.beam_id, n=50).ref == pair_run.ghx_id
