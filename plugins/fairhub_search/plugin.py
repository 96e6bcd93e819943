"""The search plugin's hook implementations."""
from __future__ import annotations

from fairhub import Permission, hookimpl

FAIRHUB_PLUGIN_NAME = "search"

PERMISSIONS = [
    Permission("search/create", "Save my searches.", ("standard",)),
    Permission("search/read", "See my saved searches.", ("standard",)),
    Permission("search/update", "Change my saved searches.", ("standard",)),
    Permission("search/delete", "Delete my saved searches.", ("standard",)),
]


@hookimpl
def fairhub_config_defaults():
    from .config import SETTINGS

    return {setting.name: setting.default for setting in SETTINGS}


@hookimpl
def fairhub_init_app(app):
    from sqlalchemy import event

    from . import hookspecs, models
    from .service import search_log

    app.extensions["fairhub"].pm.add_hookspecs(hookspecs)
    app.extensions["search"] = search_log(app)
    # Tables made without the migrations (tests) get the index too, built the same way.
    for table, build in ((models.SearchDocument.__table__, _create_index),
                         (models.SearchEntry.__table__, _move_vectors)):
        if not event.contains(table, "after_create", build):
            event.listen(table, "after_create", build)


def _create_index(target, connection, **_):
    from .backends import create_index

    create_index(connection)


def _move_vectors(target, connection, **_):
    from .backends import move_vectors

    move_vectors(connection)


@hookimpl
def fairhub_permissions():
    return PERMISSIONS


@hookimpl
def fairhub_blueprints():
    from .views import blp

    return [blp]


@hookimpl(optionalhook=True)
def fairhub_dataset_prepare(dataset):
    from .indexer import prepare

    return "search", prepare(dataset)


@hookimpl
def fairhub_event(event):
    from .indexer import on_event

    on_event(event)


@hookimpl
def fairhub_commands(cli):
    from .cli import search

    cli.add_command(search)
