"""The fairhub test kit, loaded by pytest as a plugin (entry point ``pytest11``).

Plugin authors get the same fixtures the core's tests use:

- ``make_app(config=None, plugins=...)``: an app on this test's database, its tables there;
- ``app`` and ``client``: one such app with the plugins of the ``fairhub_plugins`` fixture
  (override it in a conftest; default every installed plugin);
- ``database_url``: this test's database, SQLite or PostgreSQL by ``--fairhub-db``, with
  every table of every installed plugin, empty (see below);
- ``empty_database_url``: a database without tables, for tests of migrations or of the
  tables themselves; a test that asks for it has it as its ``database_url`` too;
- ``make_user(role)``, ``make_token(user_uuid)``, ``auth_headers(role)``: people to call as;
  ``signed_in(app, role)`` a test client of any app carrying a new ``role`` user's token;
- ``assert_error(response, status, code, message)``: the error shape, checked; ``bearer(secret)``
  the Authorization header of a token; ``every_plugin(*more)`` every installed plugin's name;
- ``live_server(workers=2, env=None)``: the test's database, migrated, served by gunicorn for
  real HTTP clients; returns the base URL (``live_server.master(url)`` and ``.workers(url)``
  are its processes); ``live_token(role)`` the secret of an approved user's API token made
  with the CLI; ``fairhub_command(*args, stdin="")`` runs the CLI on it;
- ``fairhub_cli(*args, input="")``: the CLI in this process (click's CliRunner) on this test's
  database, migrated first; returns click's Result. ``make_app(create_tables=False)`` gives an
  app on the same database to check what a command did.

The tables are made once per pytest process (each pytest-xdist worker has its own): on
SQLite into a template file, copied for each test; on PostgreSQL into a schema of the
worker's database, emptied before each test (rows deleted, sequences restarted, what
``create_all`` itself wrote put back). Tables of plugins that are not installed (a test's
own) are added the first time an app of theirs is made. Servers, commands and the
migrations need a database without tables, so the fixtures that run them (``fairhub_env``)
ask for ``empty_database_url``: one of the test's own, a new file or PostgreSQL schema. A
test that changes the tables themselves (DDL) asks for it too; one that fails has the
worker's tables made again. Apps and processes under test queue no periodic jobs
(``JOBS_PERIODIC`` is off: set it in ``make_app``'s config to test one).
For fixtures of one's own: ``app_settings(url, instance_path)`` are the settings those apps
get, ``build_app(...)`` and ``dispose_app(app)`` make and end one; ``schema_url(run_url,
schema)`` and ``drop_schema(connection, schema)`` make and drop a schema's database the way
``empty_database_url`` does. Under ``CI=true`` an unreachable PostgreSQL fails the run
instead of skipping it.
"""
from .apps import (CHEAP_PASSWORDS, NO_PERIODIC_JOBS, app, app_settings, assert_error,
                   auth_headers, bearer, build_app, client, dispose_app, every_plugin,
                   fairhub_plugins, make_app, make_token, make_user, signed_in)
from .databases import (DEFAULT_POSTGRES_URL, WorkerTables, connection_name, database_url,
                        drop_schema, empty_database_url, fairhub_backend, fairhub_tables,
                        postgres_run_url, pytest_addoption, pytest_report_header,
                        pytest_runtest_makereport, schema_url)
from .processes import (LiveServers, fairhub_cli, fairhub_command, fairhub_env, free_port,
                        live_server, live_token)

__all__ = [
    "CHEAP_PASSWORDS", "DEFAULT_POSTGRES_URL", "NO_PERIODIC_JOBS", "LiveServers", "WorkerTables",
    "app", "app_settings", "assert_error", "auth_headers", "bearer", "build_app", "client",
    "connection_name", "database_url", "dispose_app", "drop_schema", "empty_database_url",
    "every_plugin", "fairhub_backend", "fairhub_cli", "fairhub_command", "fairhub_env",
    "fairhub_plugins", "fairhub_tables", "free_port", "live_server", "live_token", "make_app",
    "make_token", "make_user", "postgres_run_url", "pytest_addoption", "pytest_report_header",
    "pytest_runtest_makereport", "schema_url", "signed_in",
]
