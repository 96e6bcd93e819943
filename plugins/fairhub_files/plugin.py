"""The files plugin's hook implementations."""
from __future__ import annotations

from fairhub import Permission, hookimpl

FAIRHUB_PLUGIN_NAME = "files"

PERMISSIONS = [
    Permission("files/read", "See the files of datasets I may see (hidden ones only on "
               "datasets I manage).", ("guest",)),
    Permission("files/download", "Download the downloadable files of datasets I may see.",
               ("observer",)),
    Permission("files/upload", "Upload attachments, data files and table data to datasets I "
               "edit, and follow my uploads.", ("data-manager",)),
    Permission("files/update", "Change the viewing and transfer settings of files of "
               "datasets I edit.", ("data-manager",)),
    Permission("files/delete", "Delete files of datasets I manage.", ("data-manager",)),
]


@hookimpl
def fairhub_config_defaults():
    from .config import SETTINGS

    return {setting.name: setting.default for setting in SETTINGS}


@hookimpl
def fairhub_init_app(app):
    from . import models  # noqa: F401  (binds the tables)


@hookimpl
def fairhub_jobs():
    from fairhub import Job, crontab

    from .cleanup import clean_job
    from .loads import load_table

    return [Job(load_table), Job(clean_job, schedule=crontab(minute=15))]  # hourly


@hookimpl
def fairhub_permissions():
    return PERMISSIONS


@hookimpl
def fairhub_blueprints():
    from .views import blp

    return [blp]


@hookimpl
def fairhub_commands(cli):
    from .cli import files

    cli.add_command(files)


@hookimpl
def fairhub_event(event):
    from .cleanup import on_event

    on_event(event)
