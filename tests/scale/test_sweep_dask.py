"""Sweeps on a real `LocalCluster(processes=True, n_workers=2)` with the PostgreSQL store (own schema)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from codexlab.errors import CodexValueError  # noqa: E402
from codexlab.lang import parse  # noqa: E402
from codexlab.runtime import Lab  # noqa: E402
from codexlab.scale import local_cluster, run_point  # noqa: E402
from codexlab.scale.params import check_params, point_scroll, sweep_points  # noqa: E402
from codexlab.scale.point import PointTask  # noqa: E402
from codexlab.scale.workers import prepare_workers, worker_setup  # noqa: E402

from .conftest import HEAT, heat_point  # noqa: E402

pytestmark = pytest.mark.slow


#: The chain key the workers hold (`$CODEXLAB_CHAIN_KEY`); a test whose Lab holds it too lets them commit.
WORKER_KEY = "5e" * 32


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """One cluster for the module: two spawned worker processes, one thread each."""
    cluster = local_cluster(2, dashboard_address=None, env={"CODEXLAB_CHAIN_KEY": WORKER_KEY})
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def pg_lab(tmp_path, pg_url: str, pg_schemas: Iterator[str]) -> Lab:
    """A Lab whose store is the test PostgreSQL server, in a schema of its own."""
    lab = Lab(home=tmp_path / "home", db_url=f"{pg_url}?schema={next(pg_schemas)}")
    lab.progress = False
    return lab


def test_workers_are_spawned_and_pinned_to_their_share_of_cores(client: distributed.Client) -> None:
    reports = prepare_workers(client)
    assert client.run(worker_setup) == reports
    assert len(reports) == 2
    assert {r["start_method"] for r in reports.values()} == {"spawn"}
    cores = [tuple(r["cores"]) for r in reports.values()]
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    assert all(len(c) == share for c in cores)
    if len(os.sched_getaffinity(0)) >= 2:
        assert len(set(cores)) == 2, "each worker gets its own cores"
    if share == 1:
        assert {r["xla_flags"] for r in reports.values()} == {
            "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        }


@pytest.mark.postgres
def test_a_distributed_sweep_equals_the_points_run_serially(client, pg_lab: Lab, tmp_path) -> None:
    S, DT = [0.15, 0.3], [1e-4, 2e-4]
    ds = pg_lab.sweep(HEAT, {"s": S, "dt": DT}, client)
    assert ds.attrs["executor"] == "dask" and ds.attrs["committed_by"] == "client"
    for i, s in enumerate(S):
        for j, dt in enumerate(DT):
            serial_lab = Lab(home=tmp_path / f"serial_{i}{j}")
            serial = serial_lab.run(heat_point(s, dt))
            np.testing.assert_array_equal(ds.u.values[i, j], serial.values["u"].values)
            assert ds.m.values[i, j] == serial.values["m"]
            run_id = str(ds.run_id.values[i, j])
            stored = pg_lab.store.beams_for_run(run_id)
            assert len(stored) == len(serial.beams) and pg_lab.store.verify_chain(run_id) == []
            (norm,) = [b for b in stored if b.token == "norm" and b.stage == "wave"]
            (serial_norm,) = [b for b in serial.beams if b.token == "norm" and b.stage == "wave"]
            shape = [(b.stage, b.token) for b in pg_lab.lineage(norm.beam_id)]
            assert shape == [(b.stage, b.token) for b in serial_lab.lineage(serial_norm.beam_id)]


def test_codexlab_dask_names_the_scheduler(client, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXLAB_DASK", client.scheduler.address)
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    ds = lab.sweep(HEAT, {"s": [0.2], "dt": [1e-4]})
    assert ds.attrs["executor"] == "dask" and ds.attrs["committed_by"] == "client"
    assert len(lab.store.beams_for_run(str(ds.run_id.item()))) > 0
    assert client.status == "running", "the sweep closes only the client it opened"
    with pytest.raises(CodexValueError, match=r"`threads=` sets local threads; with a Dask `client`"):
        lab.sweep(HEAT, {"s": [0.2]}, client, threads=2)


@pytest.mark.postgres
def test_workers_commit_directly_to_postgres_with_a_shared_vault(
    client, tmp_path, pg_url: str, pg_schemas: Iterator[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEXLAB_VAULT_URL", str(tmp_path / "shared_vault"))
    monkeypatch.setenv("CODEXLAB_CHAIN_KEY", WORKER_KEY)
    lab = Lab(home=tmp_path / "home", db_url=f"{pg_url}?schema={next(pg_schemas)}")
    lab.progress = False
    ds = lab.sweep(HEAT, {"s": [0.2], "dt": [1e-4, 3e-4]}, client, sweep_id="direct")
    assert ds.attrs["committed_by"] == "workers"
    for run_id in ds.run_id.values.ravel():
        beams = lab.store.beams_for_run(str(run_id))
        assert beams and lab.store.verify_chain(str(run_id)) == []
        refs = [b.result["vault_ref"] for b in beams if "vault_ref" in b.result]
        assert refs and all(ref in lab.vault for ref in refs)  # written by the workers, read here
    beams = lab.store.beams_for_run(str(ds.run_id.values[0, 1]))
    (start,) = [b for b in beams if b.stage == "ingest" and b.result.get("name") == "u"]
    np.testing.assert_array_equal(lab.vault.load(start.result["vault_ref"]).values, ds.u0.values[0, 1])


@pytest.mark.postgres
def test_workers_without_the_clients_chain_key_leave_the_commit_to_the_client(
    client, tmp_path, pg_url: str, pg_schemas: Iterator[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEXLAB_VAULT_URL", str(tmp_path / "shared_vault"))
    lab = Lab(home=tmp_path / "home", db_url=f"{pg_url}?schema={next(pg_schemas)}")  # its own key file
    lab.progress = False
    with pytest.warns(RuntimeWarning, match=r"not the client's chain key.*this process committed them"):
        ds = lab.sweep(HEAT, {"s": [0.2], "dt": [1e-4]}, client, sweep_id="keyless")
    assert ds.attrs["committed_by"] == "client"
    run_id = str(ds.run_id.values.ravel()[0])
    assert lab.store.beams_for_run(run_id) and lab.store.verify_chain(run_id) == []


@pytest.mark.postgres
def test_a_point_committed_twice_by_workers_is_stored_once(
    tmp_path, pg_url: str, pg_schemas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that committed a point and died before reporting it: the retry finds the run stored."""
    monkeypatch.setenv("CODEXLAB_CHAIN_KEY", WORKER_KEY)
    url = f"{pg_url}?schema={next(pg_schemas)}"
    lab = Lab(home=tmp_path / "home", db_url=url)
    tree = parse(HEAT)
    (point,) = sweep_points("retry", check_params(tree, {"s": [0.2], "dt": [1e-4]}))
    code = point_scroll(tree, point.values)
    task = PointTask(
        point.run_id,
        "retry_p0000",
        point.index,
        code,
        "default_container",
        vault_url=lab.vault.url,
        db_url=url,
        key_id=lab.store.chain_key().key_id,
    )
    first, second = run_point(task), run_point(task)
    assert first.written is True and second.written is False
    assert [b.beam_id for b in second.beams] == [b.beam_id for b in first.beams]
    assert len(lab.store.beams_for_run(point.run_id)) == len(first.beams)
    scores = [r for r in lab.store.rows("sqi_scores") if r["beam_id"] in {b.beam_id for b in first.beams}]
    assert len(scores) == len(first.rows["sqi_scores"])


SLOW = HEAT.replace("48", "128").replace("⟲ 30", "⟲ 1500")


@pytest.mark.postgres
def test_a_worker_killed_mid_sweep_leaves_no_duplicate_and_no_missing_point(client, pg_lab: Lab) -> None:
    pids = client.run(os.getpid)
    params = {"s": [0.1, 0.2, 0.3], "dt": [1e-6, 2e-6]}
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["ds"] = pg_lab.sweep(SLOW, params, client, sweep_id="killed")
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = err

    sweeper = threading.Thread(target=run)
    sweeper.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        busy = [addr for addr, keys in client.processing().items() if any("codexlab-point" in str(k) for k in keys)]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.05)
    assert victim is not None, "no point started within two minutes"
    os.kill(pids[victim], signal.SIGKILL)  # mid-point: its first point is still compiling
    sweeper.join(300)
    assert "error" not in outcome, outcome.get("error")
    ds = outcome["ds"]
    assert set(ds.point_verdict.values.ravel()) == {"pass"} and not ds.u.isnull().any()
    runs = ds.run_id.values.ravel().tolist()
    assert len(set(runs)) == 6
    counts = [len(pg_lab.store.beams_for_run(r)) for r in runs]
    assert len(set(counts)) == 1 and counts[0] > 0  # every point once, whole
    assert all(pg_lab.store.verify_chain(r) == [] for r in runs)
    assert len(pg_lab.store.rows("beams")) == sum(counts)  # nothing half-written or left over
    keys = {f"codexlab-point-{r}" for r in runs}
    log = client.run_on_scheduler(
        lambda dask_scheduler: [(str(t[0]), t[1], t[2]) for t in dask_scheduler.transition_log if str(t[0]) in keys]
    )
    lost = {key for key, start, finish in log if (start, finish) == ("processing", "released")}
    assert lost, "the killed worker was running a point, which the scheduler ran again"
    assert lost <= {key for key, _, finish in log if finish == "memory"}
    client.wait_for_workers(2, timeout=120)
