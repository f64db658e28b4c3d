"""Store fixtures: every API test runs on SQLite, JSONL and PostgreSQL (its own schema per test)."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Generator, Iterator

import psycopg
import pytest
import sqlalchemy as sa

from codexlab.store import BeamStore, JSONLStore, SQLStore

from .factory import Storage

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
PG_USERS = ("root", "postgres")


def _find_server() -> str | None:
    """A working SQLAlchemy URL for the test server (`$CODEXLAB_TEST_PG_URL` or the default
    server as `root`, then `postgres`), or None when nothing answers."""
    explicit = os.environ.get("CODEXLAB_TEST_PG_URL")
    candidates = (
        [explicit]
        if explicit
        else [f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}" for user in PG_USERS]
    )
    for url in candidates:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except (sa.exc.SQLAlchemyError, psycopg.Error):
            continue
        finally:
            engine.dispose()
        return url
    return None


_NO_SERVER = f"PostgreSQL at {PG_HOST}:{PG_PORT}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report every "no server" skip at one place, so `-ra` folds them into a single line."""
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and str(longrepr[2]).startswith(f"Skipped: {_NO_SERVER}"):
        report.longrepr = (__file__, _find_server.__code__.co_firstlineno - 1, longrepr[2])
    return report


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL; skips (fails under CI=true) when no server answers."""
    url = _find_server()
    if url is None:
        message = (
            f"{_NO_SERVER} (database `{PG_DATABASE}`, users {', '.join(PG_USERS)}) does not answer: "
            "PostgreSQL store tests skipped"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + ", but CI=true requires them")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_schemas(pg_url: str) -> Iterator[Iterator[str]]:
    """Fresh schema names for this test run (`cxtest_<random>_<n>`), all dropped at the end."""
    prefix = f"cxtest_{secrets.token_hex(4)}"
    yield (f"{prefix}_{n}" for n in itertools.count())
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        names = (
            conn.execute(
                sa.text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
                {"p": f"{prefix}_%"},
            )
            .scalars()
            .all()
        )
        for name in names:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    engine.dispose()


BACKENDS = ["sqlite", "jsonl", pytest.param("postgresql", marks=pytest.mark.postgres)]


def make_store(kind: str, tmp_path, request: pytest.FixtureRequest) -> BeamStore:
    """A fresh, empty store of one kind; its chain key lives in `tmp_path/keys`."""
    if kind == "sqlite":
        store: BeamStore = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    elif kind == "jsonl":
        store = JSONLStore(tmp_path / "jsonl")
    else:
        url = request.getfixturevalue("pg_url")
        store = SQLStore(url, schema=next(request.getfixturevalue("pg_schemas")), home=tmp_path)
    store.ensure_tables()
    return store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[BeamStore]:
    handle = make_store(request.param, tmp_path, request)
    yield handle
    handle.close()


@pytest.fixture
def storage(store: BeamStore) -> Storage:
    return Storage(store)
