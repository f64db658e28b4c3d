"""Alembic environment of the beam store: runs only on a connection that codexlab passes in."""

from __future__ import annotations

from alembic import context

from codexlab.errors import StoreError
from codexlab.store.schema import METADATA

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise StoreError(
        "The beam store's migrations run on a live connection only; call "
        "`codexlab.store.ensure_tables(store)` (or `codexlab.store.migrate.upgrade(connection)`) instead."
    )

context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
