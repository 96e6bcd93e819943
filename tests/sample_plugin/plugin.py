from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from fairhub import Permission, db, hookimpl

FAIRHUB_PLUGIN_NAME = "notes"


@hookimpl
def fairhub_config_defaults():
    return {"NOTES_MAX_LENGTH": 500}


@hookimpl
def fairhub_init_app(app):
    from . import models  # noqa: F401  (binds the table)

    app.extensions["notes"] = {"events": []}


@hookimpl
def fairhub_permissions():
    return [Permission("notes/create", "Create sample notes.", default_roles=("standard",))]


@hookimpl
def fairhub_blueprints():
    from .views import blp

    return [blp]


@hookimpl
def fairhub_commands(cli):
    @cli.command("notes-count")
    @with_appcontext
    def notes_count():
        """Print how many notes there are."""
        from .models import Note

        click.echo(db.session.scalar(select(func.count()).select_from(Note)))


@hookimpl
def fairhub_event(event):
    current_app.extensions["notes"]["events"].append(event.name)
