"""The requests plugin's hook implementations."""
from __future__ import annotations

from fairhub import Permission, hookimpl

FAIRHUB_PLUGIN_NAME = "requests"

PERMISSIONS = [
    Permission("requests/create", "Request access to tables of datasets I may see; edit, "
               "submit and withdraw my requests.", ("standard",)),
    Permission("requests/read", "See my requests, their comments and my grants, and the "
               "request workflows.", ("standard",)),
    Permission("requests/review", "Decide, comment on and archive requests for datasets I am "
               "owner or reviewer of, and revoke their grants as owner.", ("data-manager",)),
    Permission("workflows/update", "Replace the request forms of workflows.", ()),
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

    from .notices import deliver
    from .purge import purge_job

    return [Job(deliver), Job(purge_job, schedule=crontab(hour=3, minute=0))]  # daily


@hookimpl
def fairhub_permissions():
    return PERMISSIONS


@hookimpl
def fairhub_blueprints():
    from .views import blp, grants_blp, workflows_blp

    return [blp, workflows_blp, grants_blp]


@hookimpl
def fairhub_commands(cli):
    from .cli import outbox, requests

    cli.add_command(requests)
    cli.add_command(outbox)
