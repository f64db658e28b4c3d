"""Opening stores: URL or path to a backend, one shared handle per resolved location per process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa

from codexlab.errors import CodexConfigError, did_you_mean
from codexlab.store.base import BeamStore
from codexlab.store.jsonl import JSONLStore
from codexlab.store.keys import default_home
from codexlab.store.sql import SQLStore

__all__ = ["DB_FILE", "default_home", "open_store", "resolve_url"]

DB_FILE = "beams.db"
_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "jsonl")

_HANDLES: dict[tuple[str, str | None, Path | None], BeamStore] = {}
_HANDLES_LOCK = threading.Lock()


def resolve_url(
    url_or_path: str | os.PathLike[str] | None = None, *, home: str | os.PathLike[str] | None = None
) -> str:
    """The absolute store URL for an argument, `$CODEXLAB_DB_URL`, or `<home>/beams.db`.

    A URL picks its backend by scheme (`sqlite:///`, `postgresql+psycopg://`, `jsonl:///dir`); a
    plain path is a SQLite file, or a home directory holding `beams.db` when it is a directory.
    """
    if url_or_path is None:
        url_or_path = os.environ.get("CODEXLAB_DB_URL") or None
    if url_or_path is None:
        base = Path(home) if home is not None else default_home()
        return f"sqlite:///{(base.expanduser().resolve() / DB_FILE)}"
    text = os.fspath(url_or_path)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        return f"sqlite:///{path / DB_FILE if path.is_dir() else path}"
    scheme, rest = text.split("://", 1)
    if scheme == "jsonl":
        return f"jsonl://{Path(rest).expanduser().resolve()}"
    if scheme == "postgresql":
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite":
        url = sa.make_url(text)
        if url.database in (None, "", ":memory:"):
            return "sqlite://"
        return url.set(database=str(Path(url.database).expanduser().resolve())).render_as_string(hide_password=False)
    if scheme == "postgresql+psycopg":
        return text
    options = ", ".join(f"`{s}://`" for s in _SCHEMES)
    raise CodexConfigError(
        f"`{scheme}://` is not a store URL scheme{did_you_mean(scheme, _SCHEMES)}; use one of {options} "
        "(set it as the argument or in `CODEXLAB_DB_URL`)."
    )


def open_store(
    url_or_path: str | os.PathLike[str] | None = None,
    *,
    home: str | os.PathLike[str] | None = None,
    schema: str | None = None,
) -> BeamStore:
    """The store at a URL, a path, `$CODEXLAB_DB_URL` or `<home>/beams.db`, with its tables ready.

    Handles are cached per resolved URL (and schema), so every `Lab` on one home in one process
    shares one engine. A PostgreSQL URL may carry `?schema=name` instead of `schema=`. `home` is also
    where the chain key lives (`<home>/keys/`); without it, the folder of a SQLite file or JSONL
    directory, else `$CODEXLAB_HOME` or `./.codexlab`.

    Raises:
        CodexConfigError: an unknown URL scheme or a bad schema name.
        StoreError: the store cannot be opened or upgraded.
    """
    url = resolve_url(url_or_path, home=home)
    if url.startswith("postgresql"):
        url, schema = _split_schema(url, schema)
    key_home = _key_home(url, home)
    key = (url, schema, key_home)  # one handle per store and key folder (a shared PostgreSQL store has several)
    with _HANDLES_LOCK:
        store = _HANDLES.get(key)
        if store is None or getattr(store, "closed", False):
            if url.startswith("jsonl://"):
                store = JSONLStore(url.removeprefix("jsonl://"), home=key_home)
            else:
                store = SQLStore(url, schema=schema, home=key_home)
            _HANDLES[key] = store
    store.ensure_tables()
    return store


def _key_home(url: str, home: str | os.PathLike[str] | None) -> Path | None:
    """Where the store's chain key lives: `home`, else the folder of a SQLite file or JSONL directory,
    else `$CODEXLAB_HOME` (None: an in-memory store, whose key lives in this process only)."""
    if home is not None:
        return Path(home).expanduser().resolve()
    if url.startswith("jsonl://"):
        return Path(url.removeprefix("jsonl://")).parent
    if url.startswith("sqlite"):
        database = sa.make_url(url).database
        return Path(database).parent if database not in (None, "", ":memory:") else None
    return default_home().expanduser().resolve()


def _split_schema(url: str, schema: str | None) -> tuple[str, str | None]:
    """Move `?schema=` out of a PostgreSQL URL (psycopg would reject it as a connection option)."""
    parsed = sa.make_url(url)
    in_url = parsed.query.get("schema")
    if in_url is None:
        return url, schema
    if isinstance(in_url, tuple):
        in_url = in_url[-1]
    if schema is not None and schema != in_url:
        raise CodexConfigError(
            f"The URL names schema `{in_url}` but `schema={schema!r}` was passed too; keep one of them."
        )
    return parsed.difference_update_query(["schema"]).render_as_string(hide_password=False), in_url
