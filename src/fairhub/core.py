"""The core's own hook implementations, registered before every plugin and run last."""
from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from fairhub import health
from fairhub.hookspecs import hookimpl
from fairhub.identity import authn, views
from fairhub.identity.cli import COMMANDS
from fairhub.identity.service import audit, passwords, tokens
from fairhub.identity.service.roles import ADMIN, ASSIGNABLE_DEFAULTS, DATA_MANAGER
from fairhub.permissions import Permission
from fairhub.plugins import PluginError

PERMISSIONS = [
    Permission("users/read", "See users (data managers see only searchable ones).",
               (ADMIN, DATA_MANAGER)),
    Permission("users/create", "Create users.", (ADMIN,)),
    Permission("users/update", "Change users' profiles and passwords.", (ADMIN,)),
    Permission("users/approve", "Approve and unapprove users.", (ADMIN,)),
    Permission("users/archive", "Archive and restore users.", (ADMIN,)),
    Permission("groups/read", "See groups and their members.", (ADMIN, DATA_MANAGER)),
    Permission("groups/create", "Create groups.", (ADMIN,)),
    Permission("groups/update", "Change groups and their members.", (ADMIN,)),
    Permission("groups/delete", "Delete groups.", (ADMIN,)),
    Permission("roles/read", "See roles and permissions.", (ADMIN,)),
    Permission("roles/create", "Create custom roles.", (ADMIN,)),
    Permission("roles/update", "Change custom roles.", (ADMIN,)),
    Permission("roles/delete", "Delete custom roles.", (ADMIN,)),
    Permission("roles/assign", "Give users a role.", (ADMIN,)),
    Permission("tokens/create", "Create my own API tokens.", (ADMIN, DATA_MANAGER)),
    Permission("tokens/manage", "Search, deactivate, reactivate and expire anyone's tokens.",
               (ADMIN,)),
    Permission("audit/read", "Read the audit log.", (ADMIN,)),
]


@hookimpl(trylast=True)
def fairhub_init_app(app):
    trusted = int(app.config["TRUSTED_PROXIES"])
    if trusted > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)
    authn.install(app)
    passwords.install(app)
    tokens.install_check_cache(app)
    tokens.install_usage(app)


@hookimpl(trylast=True)
def fairhub_permissions():
    return PERMISSIONS


@hookimpl(trylast=True)
def fairhub_blueprints():
    return [health.blp, *views.BLUEPRINTS]


@hookimpl(trylast=True)
def fairhub_commands(cli):
    for command in COMMANDS:
        cli.add_command(command)


@hookimpl(trylast=True)
def fairhub_authenticate(request):
    return authn.authenticate(request)


@hookimpl(trylast=True)
def fairhub_event(event):
    tokens.forget_checks(event)
    if event.audit:
        audit.record_event(event)


def check_default_roles(permissions) -> None:
    """Stop start-up if a permission names a default role that does not exist."""
    for permission in permissions:
        unknown = set(permission.default_roles) - ASSIGNABLE_DEFAULTS
        if unknown:
            raise PluginError(f"Permission {permission.name!r} names unknown default roles "
                              f"{sorted(unknown)}.")
