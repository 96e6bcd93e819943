"""Alembic migrations: the core's revisions here, each plugin's in its own ``migrations/``.

Every plugin with migrations keeps them in a ``migrations/`` folder beside its modules, as a
branch of its own: its first revision has ``branch_labels = ("<plugin name>",)`` and
``depends_on`` the core revision it needs. ``fairhub db upgrade`` brings every branch of the
enabled plugins to its head.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate

from fairhub.db import db
from fairhub.plugins import plugin_root

CORE_VERSIONS = Path(__file__).parent / "versions"


def version_locations(app: Flask) -> list[str]:
    """The folders holding revisions: the core's, then each enabled plugin's."""
    pm = app.extensions["fairhub"].pm
    folders = [str(CORE_VERSIONS)]
    for _name, plugin in pm.list_name_plugin():
        folder = plugin_root(plugin) / "migrations"
        if folder.is_dir() and str(folder) not in folders and folder != CORE_VERSIONS.parent:
            folders.append(str(folder))
    return folders


def configure_migrations(app: Flask, migrate: Migrate) -> None:
    """Point Flask-Migrate's Alembic config at every enabled plugin's revisions."""

    @migrate.configure
    def add_plugin_versions(config):
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(version_locations(app)))
        return config


def enabled_tables(app: Flask) -> set[str]:
    """Names of the tables whose models belong to the core or an enabled plugin."""
    pm = app.extensions["fairhub"].pm
    packages = {_package_of(getattr(p, "__name__", type(p).__module__))
                for _name, p in pm.list_name_plugin()}
    return {
        table.name
        for mapper in db.Model.registry.mappers
        if _package_of(mapper.class_.__module__) in packages
        for table in mapper.tables
    }


def _package_of(module: str) -> str:
    return module.split(".")[0]


# Key of Table.info naming the columns and indexes the database keeps beyond the model (a
# full-text vector kept by a trigger): schema comparisons leave them alone.
UNMODELLED = "fairhub_unmodelled"


def modelled(obj, name, kind, reflected, compare_to) -> bool:
    """Alembic ``include_object``: skip what a model table declares as unmodelled."""
    if reflected and compare_to is None and kind in ("column", "index"):
        table = db.metadata.tables.get(obj.table.name)
        return table is None or name not in table.info.get(UNMODELLED, ())
    return True
