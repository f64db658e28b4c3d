"""Opening stores (URLs, paths, environment, shared handles) and Alembic schema upgrades."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import codexlab.store as cs
from codexlab.contracts import beam_hash
from codexlab.errors import CodexConfigError, StoreError
from codexlab.store import JSONLStore, SQLStore, open_store, resolve_url
from codexlab.store.migrate import alembic_config, current_revision, upgrade

from .factory import Storage, beam, series, ts


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEXLAB_DB_URL", raising=False)
    monkeypatch.delenv("CODEXLAB_HOME", raising=False)


def test_one_home_shares_one_engine(tmp_path: Path) -> None:
    first = open_store(home=tmp_path / "home")
    second = open_store(home=tmp_path / "home")
    assert first is second
    assert isinstance(first, SQLStore) and first.engine is second.engine  # type: ignore[attr-defined]
    assert (tmp_path / "home" / "beams.db").exists()
    assert open_store(f"sqlite:///{tmp_path / 'home' / 'beams.db'}") is first
    assert open_store(tmp_path / "home") is first  # a directory means its beams.db
    other = open_store(home=tmp_path / "elsewhere")
    assert other is not first
    first.close()
    reopened = open_store(home=tmp_path / "home")
    assert reopened is not first and reopened.get_beam("beam_x") is None
    reopened.close()
    other.close()


def test_environment_picks_the_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXLAB_HOME", str(tmp_path / "envhome"))
    assert resolve_url() == f"sqlite:///{(tmp_path / 'envhome' / 'beams.db').resolve()}"
    monkeypatch.setenv("CODEXLAB_DB_URL", f"jsonl://{tmp_path / 'dev'}")
    store = cs.ensure_tables()
    assert isinstance(store, JSONLStore) and store.path == (tmp_path / "dev").resolve()
    # the plan-named functions take the store first, or None for this default store
    cs.persist_beam_events(None, series(2))
    assert [b.beam_id for b in cs.beams_for_run(store=None, sheet_run_id="run1")] == ["beam_b0", "beam_b1"]
    assert cs.get_lineage_for_cell(store, "cell_001")[0].beam_id == "beam_b0"
    assert cs.lineage(store, "beam_b1", ids_only=True) == ["beam_b0"]
    assert cs.verify_chain() == [] and cs.schema_version(store) == "0004"
    store.close()


def test_urls_resolve_by_scheme(tmp_path: Path) -> None:
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite://") == "sqlite://"
    assert resolve_url(f"jsonl://{tmp_path}/x/../y") == f"jsonl://{(tmp_path / 'y').resolve()}"
    assert resolve_url(tmp_path / "a.db") == f"sqlite:///{(tmp_path / 'a.db').resolve()}"
    with pytest.raises(CodexConfigError, match=r"`sqlit://` is not a store URL scheme \(did you mean `sqlite`\?\)"):
        resolve_url("sqlit:///x.db")
    with pytest.raises(CodexConfigError, match="applies to PostgreSQL only"):
        SQLStore("sqlite://", schema="x")


def test_postgres_schema_in_the_url(pg_url: str, pg_schemas) -> None:
    name = next(pg_schemas)
    store = open_store(f"{pg_url}?schema={name}")
    assert isinstance(store, SQLStore) and store.schema == name
    assert open_store(pg_url, schema=name) is store
    with pytest.raises(CodexConfigError, match="names schema"):
        open_store(f"{pg_url}?schema={name}", schema="other")
    with pytest.raises(CodexConfigError, match="is not a plain SQL name"):
        SQLStore(pg_url, schema="bad-name; drop")
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(url, schema) of an empty SQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}", None
    return request.getfixturevalue("pg_url"), next(request.getfixturevalue("pg_schemas"))


def _engine(url: str, schema: str | None) -> sa.Engine:
    engine = sa.create_engine(url)
    if schema is not None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        engine.dispose()
        engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    return engine


def _shape(engine: sa.Engine) -> dict[str, object]:
    """Tables, their columns (name, nullability) and indexes, order aside."""
    inspector = sa.inspect(engine)
    shape: dict[str, object] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        columns = {(c["name"], c["nullable"], type(c["type"]).__name__) for c in inspector.get_columns(table)}
        indexes = {(i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)}
        shape[table] = (columns, indexes, tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
    return shape


def test_an_old_store_is_upgraded_with_its_data(sql_location: tuple[str, str | None], tmp_path: Path) -> None:
    url, schema = sql_location
    home = tmp_path / "home"
    engine = _engine(url, schema)
    with engine.begin() as conn:
        upgrade(conn, "0001")
        assert current_revision(conn) == "0001"
        assert "metrics" not in sa.inspect(conn).get_table_names()
        assert "verdict" not in {c["name"] for c in sa.inspect(conn).get_columns("beam_events")}
    # a beam as the 0001 code wrote it: no verdict column yet
    unchained = beam("kept", eid="eid::run1::k1", result={"n": 1})
    kept = unchained.model_copy(update={"hash": beam_hash(unchained, None, scheme=1)})  # as 0001 hashed it
    json_in = "CAST(:{} AS json)" if schema is not None else ":{}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO beam_events (beam_id, cell_id, sheet_run_id, container_id, eid, stage, token, "
                "result, timestamp, parents, prev_hash, hash, source, seq, v) VALUES (:beam_id, :cell_id, "
                f":sheet_run_id, :container_id, :eid, :stage, :token, {json_in.format('result')}, "
                f":timestamp, {json_in.format('parents')}, :prev_hash, :hash, :source, 1, 1)"
            ),
            {
                **kept.model_dump(exclude={"drift", "qscore", "verdict", "v"}),
                "result": json.dumps(kept.result),
                "parents": "[]",
            },
        )
        conn.execute(sa.text("INSERT INTO entanglements VALUES ('eid::run1::k1', 'run1', '2025-01-01')"))
    engine.dispose()

    store = SQLStore(url, schema=schema, home=home)
    store.ensure_tables()
    assert store.schema_version() == "0004"
    again = store.get_beam("beam_kept")
    # hashed before scores were chained: scheme 1, sealed as found by a `legacy` anchor at the upgrade
    assert again is not None and again.verdict is None and again.hash == beam_hash(again, None, scheme=1)
    report = store.verify()
    assert report.problems == [] and report.legacy_runs == 1 and report.anchors == 1
    (anchor,) = store.rows("run_anchors")
    assert (anchor["kind"], anchor["sheet_run_id"], anchor["beam_count"]) == ("legacy", "run1", 1)
    assert store.entanglement_map() == {"eid::run1::k1": ["cell_001"]}
    (following,) = store.persist_beam_events([beam("next", t=1, parents=["kept"], verdict="pass")])
    assert following.hash == beam_hash(following, again.hash)  # new beams: scheme 2, scores chained
    store.persist_rows("metrics", [{"name": "m", "value": 1.0, "timestamp": 0}])
    assert store.verify_chain() == []
    # a legacy beam's scores are outside its hash (what `verify` says about old runs), its content is not
    storage = Storage(store)
    storage.update_beam("beam_kept", verdict="veto")
    assert store.verify_chain() == []
    storage.edit_result("beam_kept", {"n": 2})
    assert "beam `beam_kept` (seq 1) was edited" in store.verify_chain()[0]

    # the upgraded schema is the one a fresh store gets in one step
    fresh_location = (url.replace("old.db", "fresh.db"), None) if schema is None else (url, schema + "_fresh")
    fresh = SQLStore(*fresh_location[:1], schema=fresh_location[1], home=home)
    fresh.ensure_tables()
    assert _shape(store.engine) == _shape(fresh.engine)
    fresh.close()
    store.close()


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 'x.db'}")
    store.persist_beam_events(series(2))
    witness = store.witness().path
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
        assert current_revision(conn) == "0001"
    store.close()
    # the downgrade dropped the anchors: sealing the store again as found would bless any edit made
    # meanwhile, so a home that saw it sealed refuses until told otherwise
    with pytest.raises(StoreError, match=r"has no anchors, but this home saw it sealed up to anchor #1"):
        SQLStore(f"sqlite:///{tmp_path / 'x.db'}").ensure_tables()
    assert witness is not None
    witness.unlink()
    again = SQLStore(f"sqlite:///{tmp_path / 'x.db'}")
    assert again.schema_version() == "0004"
    assert [b.beam_id for b in again.beams_for_run("run1")] == ["beam_b0", "beam_b1"]
    assert again.verify_chain() == []
    again.close()


def test_unknown_or_missing_revisions_are_refused(tmp_path: Path) -> None:
    future = sa.create_engine(f"sqlite:///{tmp_path / 'future.db'}")
    with future.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('0099')")
    with pytest.raises(StoreError, match="revision `0099`, which this codexlab does not know"):
        SQLStore(f"sqlite:///{tmp_path / 'future.db'}").ensure_tables()
    stray = sa.create_engine(f"sqlite:///{tmp_path / 'stray.db'}")
    with stray.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE beam_events (beam_id TEXT)")
    with pytest.raises(StoreError, match="already has `beam_events` but no codexlab schema revision"):
        SQLStore(f"sqlite:///{tmp_path / 'stray.db'}").ensure_tables()


def test_jsonl_store_records_its_schema_version(tmp_path: Path) -> None:
    store = JSONLStore(tmp_path / "dev")
    assert store.schema_version() == "0004"
    meta = tmp_path / "dev" / "meta.json"
    meta.write_text(json.dumps({"format": "codexlab-jsonl", "schema_version": "0001"}))
    store.close()
    assert JSONLStore(tmp_path / "dev").schema_version() == "0004"
    meta.write_text(json.dumps({"format": "codexlab-jsonl", "schema_version": "0042"}))
    with pytest.raises(StoreError, match="revision `0042`, which this codexlab does not know"):
        JSONLStore(tmp_path / "dev").ensure_tables()


def test_an_old_jsonl_store_is_sealed_as_found(tmp_path: Path) -> None:
    """A 0002 JSONL store (beam lines, no commit lines) reads whole after the upgrade and verifies."""
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"format": "codexlab-jsonl", "schema_version": "0002"}))
    prev = None
    lines = []
    for i, run in enumerate(["r1", "r1", "r2"]):
        old = beam(f"o{i}", run=run, t=i, verdict="pass").model_dump()
        old["prev_hash"] = prev if run == "r1" else None
        old["hash"] = beam_hash(old, old["prev_hash"], scheme=1)
        old["seq"] = {0: 1, 1: 2, 2: 1}[i]
        prev = old["hash"] if run == "r1" else prev
        lines.append(json.dumps(old))
    (folder / "beam_events.jsonl").write_text("\n".join(lines) + "\n")
    store = JSONLStore(folder)
    assert store.schema_version() == "0004"
    assert [b.beam_id for b in store.beams_for_run("r1")] == ["beam_o0", "beam_o1"]
    report = store.verify()
    assert report.problems == [] and report.legacy_runs == 2 and report.beams == 3
    store.persist_beam_events([beam("n", run="r2", t=5, parents=["o2"])])
    assert store.verify_chain() == []
    assert ts(5) in {b.timestamp for b in store.beams_for_run("r2")}


def test_a_jsonl_store_without_its_meta_file_is_refused(tmp_path: Path) -> None:
    store = JSONLStore(tmp_path / "dev")
    store.persist_beam_events(series(1))
    store.close()
    (tmp_path / "dev" / "meta.json").unlink()
    with pytest.raises(StoreError, match=r"`.*meta.json` is missing but `.*beam_events.jsonl` holds beams"):
        JSONLStore(tmp_path / "dev").ensure_tables()
