"""Schema versions of the SQL stores, through the Alembic migrations packaged in `store/migrations/`."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from codexlab.errors import StoreError
from codexlab.store.schema import HEAD_REVISION, METADATA

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "ensure_schema", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Alembic commands publish their context through module globals (`alembic.context`, `alembic.op`), so
# two threads running a command at once (e.g. two sweep points opening their stores) break each other.
_ALEMBIC = threading.Lock()


def alembic_config(connection: sa.Connection) -> Config:
    """An Alembic config on `connection`, built in code: no ini file, so Alembic leaves logging alone."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: sa.Connection) -> str | None:
    """The revision a database is at, or None for one that Alembic has never touched."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Run the migrations up to `revision` inside the caller's transaction."""
    try:
        with _ALEMBIC:
            command.upgrade(alembic_config(connection), revision)
    except CommandError as err:
        raise StoreError(
            f"The beam store could not be migrated to revision `{revision}`: {err}; it may have been "
            "written by a newer codexlab, so upgrade codexlab."
        ) from err


def ensure_schema(connection: sa.Connection) -> str | None:
    """Bring a database to the head revision; returns the revision it was at (None: created just now).

    A fresh database gets the current tables in one step and is stamped at head; an older one is
    upgraded through each migration; a database with beam tables but no revision is refused.
    """
    revision = current_revision(connection)
    if revision == HEAD_REVISION:
        return revision
    if revision is None:
        existing = set(sa.inspect(connection).get_table_names()) & set(METADATA.tables)
        if existing:
            names = ", ".join(f"`{n}`" for n in sorted(existing))
            raise StoreError(
                f"The database already has {names} but no codexlab schema revision; point the store at an "
                "empty database (or schema), or stamp it with `alembic stamp` after checking its tables."
            )
        METADATA.create_all(connection)
        with _ALEMBIC:
            command.stamp(alembic_config(connection), "head")
        return None
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    if revision not in known:
        raise StoreError(
            f"The beam store is at schema revision `{revision}`, which this codexlab does not know (it "
            f"knows up to `{HEAD_REVISION}`); upgrade codexlab to open it."
        )
    upgrade(connection, "head")
    return revision
