"""Alembic environment: runs revisions against the app's database."""
from __future__ import annotations

from alembic import context
from flask import current_app

from fairhub.db import UTCDateTime
from fairhub.migrations import modelled

db = current_app.extensions["migrate"].db


def render_item(kind, obj, autogen_context):
    """Write fairhub's own column types in new revisions as the plain types they store, so a
    revision imports nothing of fairhub: it stays as it was written whatever the code does."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_offline() -> None:
    context.configure(
        url=str(db.engine.url.render_as_string(hide_password=False)),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            # SQLite alters tables by copying them; batch mode does that for every revision.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            include_object=modelled,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
