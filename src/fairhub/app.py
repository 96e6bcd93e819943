"""The application factory."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import swagger_ui_bundle
from flask import Flask, Response, send_from_directory
from flask.sessions import SessionInterface
from flask_migrate import Migrate

from fairhub import __version__, core
from fairhub.api import Api, JsonProvider
from fairhub.config import CORE_SETTINGS, load_config, plugin_list
from fairhub.db import db, init_db
from fairhub.errors import register_error_handlers
from fairhub.identity import authn
from fairhub.inputs import install_input_checks
from fairhub.logs import configure_logging
from fairhub.migrations import configure_migrations
from fairhub.plugins import (
    Host,
    PluginError,
    build_plugin_manager,
    collect_blueprints,
    collect_config,
    collect_permissions,
)

# Commands of the ``fairhub`` group itself (see fairhub.cli); plugins may not reuse these names.
CORE_COMMANDS = frozenset({"serve", "db", "plugins", "routes", "shell"})


def create_app(test_config: dict | None = None, plugins: Iterable[Any] | None = None) -> Flask:
    """Build a fairhub app.

    ``plugins`` overrides the ``PLUGINS`` setting: a list of entry-point names, ``module.path``
    strings or plugin objects, in the order their hooks run. None enables every installed plugin.
    """
    app = Flask(
        "fairhub",
        instance_path=str(_instance_path(test_config)),
        instance_relative_config=True,
        static_folder=None,
    )
    load_config(app, test_config)
    app.config["API_VERSION"] = __version__
    app.url_map.strict_slashes = False
    app.json = JsonProvider(app)
    # The API authenticates with bearer tokens only; cookie sessions would cost every request.
    app.session_interface = NoCookieSessions()
    configure_logging(app)

    specs = plugins if plugins is not None else plugin_list(app.config.get("PLUGINS"))
    pm = build_plugin_manager(specs, core)
    collect_config(pm, app.config, [s.name for s in CORE_SETTINGS])
    init_db(app)
    api = Api(app, spec_kwargs={"info": {"description": "The fairhub HTTP API."}})
    host = Host(pm=pm, api=api)
    app.extensions["fairhub"] = host
    register_error_handlers(app)
    app.after_request(_leave_date_to_the_server)
    install_input_checks(app)
    configure_migrations(app, Migrate(app, db, directory=str(Path(__file__).parent / "migrations")))
    _serve_docs_assets(app)

    pm.hook.fairhub_init_app(app=app)
    collect_permissions(pm, host)
    core.check_default_roles(host.permissions.values())
    for _plugin, blueprint in collect_blueprints(pm):
        api.register_blueprint(blueprint)
    _check_every_route_is_guarded(app)
    _add_commands(app, pm)
    return app


class NoCookieSessions(SessionInterface):
    """A session interface that never reads or writes a cookie."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def _leave_date_to_the_server(response: Response) -> Response:
    """Drop a Date header the app set (werkzeug's conditional answers of files stamp one):
    the HTTP server writes its own, and werkzeug's server (`fairhub serve`) would send both."""
    response.headers.remove("Date")
    return response


def _check_every_route_is_guarded(app: Flask) -> None:
    """Stop start-up if a route says neither ``require_permission`` nor ``public``."""
    unmarked = authn.unmarked_routes(app)
    if unmarked:
        raise PluginError(
            "These routes say neither @blp.require_permission(...) nor @blp.public: "
            + ", ".join(unmarked) + "."
        )


def _instance_path(test_config: dict | None) -> Path:
    given = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("FAIRHUB_INSTANCE_PATH")
    return Path(given or Path.cwd() / "instance").resolve()


def _serve_docs_assets(app: Flask) -> None:
    """Serve the Swagger UI files from the installed package, so the docs work offline."""
    folder = str(swagger_ui_bundle.swagger_ui_path)

    @app.get("/api/docs/assets/<path:filename>")
    def docs_asset(filename: str):
        return send_from_directory(folder, filename, max_age=86400)


def _add_commands(app: Flask, pm) -> None:
    """Let each plugin add CLI commands; taking a name already in use stops start-up."""
    for impl in reversed(pm.hook.fairhub_commands.get_hookimpls()):
        before = dict(app.cli.commands)
        impl.function(**{arg: app.cli for arg in impl.argnames})
        for name, command in app.cli.commands.items():
            if before.get(name) is command:
                continue
            if name in before or name in CORE_COMMANDS:
                raise PluginError(
                    f"Command {name!r} of plugin {impl.plugin_name!r} is already defined."
                )
