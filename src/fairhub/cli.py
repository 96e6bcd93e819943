"""The ``fairhub`` command line: serve, migrate, inspect, and whatever plugins add."""
from __future__ import annotations

import json
import platform
import signal
import sys
from importlib import metadata

import click
import flask_migrate
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, shell_command, with_appcontext
from werkzeug.serving import run_simple

from fairhub import __version__
from fairhub.errors import ApiError, readable
from fairhub.jobs import worker_command
from fairhub.plugins import CORE_PLUGIN, hooks_of, installed_plugins
from fairhub.terminal import echo_table

# Flask's own options of its command group, which do not apply to fairhub: it builds its one
# app itself (no -A/--app), reads FAIRHUB_* settings rather than a .env file (no -e/--env-file,
# which also needs python-dotenv), and `serve --debug` sets debug mode (no group --debug).
FLASK_ONLY_OPTIONS = frozenset({"app", "env_file", "debug"})


def _make_app():
    from fairhub.app import create_app

    return create_app()


def plugin_versions(app) -> list[tuple[str, str]]:
    """``(name, version)`` of each plugin ``app`` enables, in hook order: an installed entry
    point's is its distribution's (the built-in plugins share fairhub's); a plugin enabled by
    module path has its package's ``__version__`` or its distribution's, else "unknown"."""
    installed = installed_plugins()
    pm = app.extensions["fairhub"].pm
    return [(name, _entry_version(installed.get(name)) or _module_version(pm.get_plugin(name)))
            for name in app.extensions["fairhub"].plugin_names() if name != CORE_PLUGIN]


def _entry_version(entry) -> str | None:
    return entry.dist.version if entry is not None and entry.dist is not None else None


def _module_version(plugin) -> str:
    module = sys.modules.get(getattr(plugin, "__name__", type(plugin).__module__))
    top = (getattr(module, "__package__", None) or getattr(module, "__name__", "")).split(".")[0]
    for holder in (module, sys.modules.get(top)):
        if getattr(holder, "__version__", None):
            return str(holder.__version__)
    for distribution in metadata.packages_distributions().get(top, ()):
        return metadata.version(distribution)
    return "unknown"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"fairhub {__version__} (Python {platform.python_version()})")
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except Exception as error:  # the settings name a plugin that cannot be loaded
        raise click.ClickException(f"The enabled plugins cannot be loaded: {error}") from None
    versions = plugin_versions(app)
    width = max((len(name) for name, _ in versions), default=0)
    for name, version in versions:
        click.echo(f"  {name:<{width}}  {version}")
    if not versions:
        click.echo("  no plugins enabled")
    ctx.exit()


class FairhubGroup(FlaskGroup):
    """Flask's command group (it builds the app, so plugins' commands appear) without Flask's
    options that do not apply here, with fairhub's ``--version``, and with the API's errors
    told as ``Error: <sentence>`` and readable details, exit status 1."""

    def __init__(self, **extra) -> None:
        super().__init__(add_default_commands=False, add_version_option=False,
                         load_dotenv=False, **extra)
        self.params = [param for param in self.params if param.name not in FLASK_ONLY_OPTIONS]
        self.params.append(click.Option(
            ["--version"], is_flag=True, expose_value=False, is_eager=True,
            callback=_print_version,
            help="Show fairhub's version and those of the enabled plugins, and exit."))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Not FlaskGroup's: it reads FLASK_APP and a .env file early for --help.
        return click.Group.parse_args(self, ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ApiError as error:  # a service refused: the app context rolls back on exit
            raise click.ClickException(readable(error)) from error


@click.group(cls=FairhubGroup, create_app=_make_app)
def cli() -> None:
    """Run and manage a fairhub server.

    The instance folder is FAIRHUB_INSTANCE_PATH (default ./instance); see the README for every
    FAIRHUB_* setting.
    """


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reload on code changes, show tracebacks.")
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the API with the development server (use gunicorn in production)."""
    # Not app.run(): Flask ignores it inside a `flask`-style command.
    app = current_app._get_current_object()
    app.debug = debug
    # A service manager stops a server with SIGTERM, which would end the process on the spot:
    # end it as Ctrl-C does, so that what the app keeps to write at exit (the search log,
    # token use counts) is written.
    signal.signal(signal.SIGTERM, _stop)
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


def _stop(_signal: int, _frame) -> None:
    raise SystemExit(0)


@cli.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@with_appcontext
def db_upgrade(sql: bool) -> None:
    """Bring the database to the latest revision of the core and every enabled plugin."""
    flask_migrate.upgrade(revision="heads", sql=sql)


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Step the database back to REVISION (a revision id, or e.g. `core@-1`)."""
    flask_migrate.downgrade(revision=revision)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revision the database is at, per branch."""
    flask_migrate.current()


@db_group.command("history")
@with_appcontext
def db_history() -> None:
    """List every known revision."""
    flask_migrate.history()


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def plugins_command(as_json: bool) -> None:
    """List the enabled plugins, in hook order, and the hooks each implements."""
    pm = current_app.extensions["fairhub"].pm
    rows = [
        {"name": name, "module": getattr(plugin, "__name__", type(plugin).__module__),
         "hooks": hooks_of(pm, plugin)}
        for name, plugin in reversed(pm.list_name_plugin())
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    echo_table(("PLUGIN", "MODULE", "HOOKS"),
               [(row["name"], row["module"], ", ".join(row["hooks"])) for row in rows],
               "No plugins are enabled.")


cli.add_command(routes_command)
cli.add_command(shell_command)
cli.add_command(worker_command)


def main() -> None:
    """Entry point of the ``fairhub`` script."""
    cli(prog_name="fairhub")
