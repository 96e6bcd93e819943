"""The ``fairhub`` command line: serve, migrate, inspect, and whatever plugins add."""
from __future__ import annotations

import json
import signal

import click
import flask_migrate
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from werkzeug.serving import run_simple

from fairhub.plugins import hooks_of


def _make_app():
    from fairhub.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_make_app, add_default_commands=False, load_dotenv=False)
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
    for row in rows:
        click.echo(f"{row['name']:<16} {row['module']}")
        for hook in row["hooks"]:
            click.echo(f"{'':<16}   {hook}")


cli.add_command(routes_command)
cli.add_command(shell_command)


def main() -> None:
    """Entry point of the ``fairhub`` script."""
    cli(prog_name="fairhub")
