"""The datasets plugin's hook implementations."""
from __future__ import annotations

from fairhub import Permission, hookimpl

FAIRHUB_PLUGIN_NAME = "datasets"

PERMISSIONS = [
    Permission("datasets/read", "See datasets and dictionaries: internal and public ones, and "
               "private ones shared with me.", ("guest",)),
    Permission("datasets/create", "Create datasets.", ("data-manager",)),
    Permission("datasets/update", "Edit datasets I am owner, manager or editor of.",
               ("data-manager",)),
    Permission("datasets/delete", "Delete datasets I am owner or manager of.",
               ("data-manager",)),
    Permission("datasets/share", "Grant levels on datasets I am owner or manager of.",
               ("data-manager",)),
    Permission("datasets/administer", "See and manage every dataset, without a grant.", ()),
]


@hookimpl
def fairhub_config_defaults():
    from .config import SETTINGS

    return {setting.name: setting.default for setting in SETTINGS}


@hookimpl
def fairhub_init_app(app):
    from . import cache, hookspecs, models  # noqa: F401  (models binds the tables)

    app.extensions["fairhub"].pm.add_hookspecs(hookspecs)
    cache.install(app)


@hookimpl
def fairhub_permissions():
    return PERMISSIONS


@hookimpl
def fairhub_blueprints():
    from .views import blp, dictionaries_blp

    return [blp, dictionaries_blp]


@hookimpl
def fairhub_commands(cli):
    from .cli import datasets

    cli.add_command(datasets)
