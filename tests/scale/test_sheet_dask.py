"""Distributed sheets (`lab.run_sheet(..., client=...)`) on a real `LocalCluster(processes=True, n_workers=2)`:
the same values bit for bit, the same beams and the same lineage as running the cells one by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from codexlab.errors import SheetError  # noqa: E402
from codexlab.qpu import parse_sheet  # noqa: E402
from codexlab.scale import local_cluster  # noqa: E402
from tests.sheets.conftest import DIAMOND, new_lab  # noqa: E402
from tests.sheets.test_parallel import NAMES, _lineage, _same_value, _shape  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two spawned worker processes, one thread each."""
    cluster = local_cluster(2, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_distributed_sheet_equals_sequential_runs(tmp_path: Path, client: distributed.Client) -> None:
    sheet = parse_sheet(DIAMOND)
    plain = new_lab(tmp_path / "plain")
    runs = {c.id: plain.run(c.code, container="box", cell_id=c.id) for c in sheet.cells}
    reference = {c: r.beams for c, r in runs.items()}
    ref_values = {n: v for r in runs.values() for n, v in r.values.items() if n != "_"}

    lab = new_lab(tmp_path / "dask")
    result = lab.run_sheet(sheet, container="box", cache=False, client=client)
    assert result.jobs == 2 and result.ran == sheet.ids
    for name in NAMES:
        assert _same_value(result.values[name], ref_values[name]), name
        assert _same_value(lab.memory("box").bindings[name].value.data, plain.memory("box").bindings[name].value.data)
    got = {c: o.beams for c, o in result.cells.items()}
    assert _shape(got) == _shape(reference)
    # Every beam is in this Lab's store (committed here), with its lineage across cells.
    for beams in got.values():
        for b in beams:
            assert lab.store.get_beam(b.beam_id) is not None
    where_ref = {b.beam_id: (c, k) for c, bs in reference.items() for k, b in enumerate(bs)}
    where_got = {b.beam_id: (c, k) for c, bs in got.items() for k, b in enumerate(bs)}
    assert _lineage(lab, got["mix"][-1], where_got) == _lineage(plain, reference["mix"][-1], where_ref)
    assert lab.memory("box").grid == plain.memory("box").grid


def test_a_failing_cell_on_a_worker_names_the_cell_and_line(tmp_path: Path, client: distributed.Client) -> None:
    lab = new_lab(tmp_path / "home")
    text = "# %% one\n@grid x:-1..1:16, y:-1..1:16\na := x + y\n\n# %% two\nb = a + 1\nc = nothere * 2\n"
    with pytest.raises(
        SheetError, match=r"Cell `two` \(line 6\) failed at line 7: CodexNameError: `nothere` is not defined"
    ) as err:
        lab.run_sheet(text, client=client, cache=False)
    assert err.value.sheet_run.ran == ["one"]
    # The failed cell's one error beam was committed here; `one` was merged into the container.
    assert "a" in lab.memory().bindings and "b" not in lab.memory().bindings
