"""The fairhub test kit, loaded by pytest as a plugin (entry point ``pytest11``).

Plugin authors get the same fixtures the core's tests use:

- ``make_app(config=None, plugins=...)``: a fresh app on a fresh database, tables created;
- ``app`` and ``client``: one such app with the plugins of the ``fairhub_plugins`` fixture
  (override it in a conftest; default every installed plugin);
- ``database_url``: a database of this test's own, SQLite or PostgreSQL by ``--fairhub-db``;
- ``make_user(role)``, ``make_token(user_uuid)``, ``auth_headers(role)``: people to call as;
- ``assert_error(response, status, code, message)``: the error shape, checked; ``bearer(secret)``
  the Authorization header of a token;
- ``live_server(workers=2, env=None)``: the same database served by gunicorn, for real HTTP
  clients; returns the base URL (``live_server.master(url)`` and ``.workers(url)`` are its
  processes); ``live_token(role)`` the secret of an approved user's API token made with the
  CLI; ``fairhub_command(*args, stdin="")`` runs the CLI on it;
- ``fairhub_cli(*args, input="")``: the CLI in this process (click's CliRunner) on this test's
  database, migrated first; returns click's Result. ``make_app(create_tables=False)`` gives an
  app on the same database to check what a command did.

Apps and processes under test queue no periodic jobs (``JOBS_PERIODIC`` is off: set it in
``make_app``'s config to test one).
PostgreSQL runs get one database per test run (dropped at the end) and one schema per test.
For fixtures of one's own: ``app_settings(url, instance_path)`` are the settings those apps
get, and ``build_app(...)`` and ``dispose_app(app)`` make and end one;
``schema_url(run_url, schema)`` and ``drop_schema(connection, schema)`` make and drop a
schema's database the way ``database_url`` does.
Under ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_UNSET: Any = object()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fairhub")
    group.addoption(
        "--fairhub-db", choices=["sqlite", "postgresql"],
        default=os.environ.get("FAIRHUB_TEST_DB", "sqlite"),
        help="Database the tests run against (env FAIRHUB_TEST_DB; default sqlite).",
    )
    group.addoption(
        "--fairhub-postgres-url",
        default=os.environ.get("FAIRHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="A PostgreSQL database the run may connect to in order to create its own.",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"fairhub database: {config.getoption('--fairhub-db')}"


def _unreachable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(f"{message}; start PostgreSQL or run with --fairhub-db=sqlite")


@pytest.fixture(scope="session")
def fairhub_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the database this run tests against."""
    return request.config.getoption("--fairhub-db")


@pytest.fixture(scope="session")
def postgres_run_url(request: pytest.FixtureRequest, fairhub_backend: str) -> Iterator[str | None]:
    """A PostgreSQL database created for this test run and dropped after it (None on SQLite)."""
    if fairhub_backend != "postgresql":
        yield None
        return
    admin_url = make_url(request.config.getoption("--fairhub-postgres-url"))
    name = f"fairhub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unreachable(f"PostgreSQL at {admin_url.render_as_string()} is unreachable: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def connection_name(schema: str) -> str:
    """The application name of every connection to a test's schema (:func:`schema_url`)."""
    return f"fairhub-test-{schema}"


def schema_url(postgres_run_url: str, schema: str) -> str:
    """The URL of the run's PostgreSQL database working in ``schema``; its connections name
    the schema (see :func:`drop_schema`)."""
    return make_url(postgres_run_url).update_query_dict({
        "options": f"-csearch_path={schema}", "application_name": connection_name(schema),
    }).render_as_string(hide_password=False)


def drop_schema(connection: Any, schema: str) -> None:
    """Drop a test's schema, first ending the connections made to it: one a test left in a
    transaction (not yet garbage collected) would hold its locks, and the drop would wait on
    it for ever."""
    connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name"), {"name": connection_name(schema)})
    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def database_url(tmp_path, postgres_run_url: str | None) -> Iterator[str]:
    """A database of this test's own: a SQLite file, or a fresh PostgreSQL schema."""
    if postgres_run_url is None:
        yield f"sqlite:///{tmp_path / 'fairhub.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_run_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(postgres_run_url, schema)
    finally:
        with engine.connect() as connection:
            drop_schema(connection, schema)
        engine.dispose()


@pytest.fixture
def fairhub_plugins() -> list | None:
    """Plugins the ``app`` fixture enables; override in a conftest (None: all installed)."""
    return None


# Cheap password hashes: the tests check the logic, not Argon2's cost (at its defaults every
# password, and every app start, costs a tenth of a second or more).
CHEAP_PASSWORDS = {"AUTH_PASSWORD_TIME_COST": 1, "AUTH_PASSWORD_MEMORY_KIB": 64}
# Periodic jobs (purges, clean-ups) run only where a test turns them on: one falling due
# during a test would change what it checks.
NO_PERIODIC_JOBS = {"JOBS_PERIODIC": False}


def app_settings(database_url: str, instance_path: Any) -> dict:
    """The settings of an app under test on ``database_url``."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "INSTANCE_PATH": str(instance_path),
        # Token use counts are written at once, so tests can read them back.
        "TOKENS_USAGE_FLUSH_SECONDS": 0,
        "TOKENS_CACHE_SECONDS": 0,  # several apps share a database: each sees changes at once
        **NO_PERIODIC_JOBS,
        **CHEAP_PASSWORDS,
    }


def build_app(database_url: str, instance_path: Any, config: dict | None, plugins: Any,
              create_tables: bool = True) -> Any:
    """An app under test on ``database_url`` (:func:`app_settings` with ``config`` over them),
    its tables created unless told not to; end it with :func:`dispose_app`."""
    from fairhub import create_app, db

    app = create_app({**app_settings(database_url, instance_path), **(config or {})},
                     plugins=plugins)
    if create_tables:
        with app.app_context():
            db.create_all()
    return app


def dispose_app(app: Any) -> None:
    """End an app under test (one a test or a command built): what its plugins keep to write
    later is written (see ``at_dispose``), its session closed and every connection given
    back."""
    from fairhub.db import dispose_engines

    dispose_engines(app)


@pytest.fixture
def make_app(database_url: str, tmp_path, fairhub_plugins) -> Iterator[Callable[..., Any]]:
    """Build apps on this test's database; each gets its tables created (tests only)."""
    apps = []

    def factory(config: dict | None = None, plugins: Any = _UNSET, create_tables: bool = True):
        app = build_app(database_url, tmp_path / "instance", config,
                        fairhub_plugins if plugins is _UNSET else plugins, create_tables)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        dispose_app(app)


@pytest.fixture
def app(make_app):
    """A fresh app with the ``fairhub_plugins`` plugins, on this test's database."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a user: ``make_user("data-manager", email=None, password=None, **fields)``.

    Users are approved unless ``approved=False`` is given. Returns the user's uuid.
    """
    from fairhub import db
    from fairhub.identity.service import users

    def factory(role: str = "standard", email: str | None = None, **fields) -> str:
        data = {"email": email or f"{role}-{uuid.uuid4().hex[:8]}@example.org", "role": role,
                "approved": True, **fields}
        with app.app_context():
            user = users.create_user(data, None)
            db.session.commit()
            return user.uuid

    return factory


@pytest.fixture
def make_token(app):
    """Issue an API token: ``make_token(user_uuid, role=None, **options)`` returns its secret.

    The role defaults to the owner's, ``valid_to`` to 30 days from now.
    """
    from datetime import timedelta

    from fairhub import db, utcnow
    from fairhub.identity.service import tokens, users

    def factory(user_uuid: str, role: str | None = None, **options) -> str:
        with app.app_context():
            owner = users.get_user(user_uuid)
            options.setdefault("valid_to", utcnow() + timedelta(days=30))
            options.setdefault("name", "test")
            options.setdefault("reason", "testing")
            _token, secret = tokens.issue_token(owner, role=role or owner.role, **options)
            db.session.commit()
            return secret

    return factory


@pytest.fixture
def auth_headers(make_user, make_token):
    """``auth_headers("admin")``: Authorization headers for a new user with that role."""

    def factory(role: str = "standard", **user_fields) -> dict:
        return {"Authorization": f"Bearer {make_token(make_user(role, **user_fields))}"}

    return factory


def bearer(secret: str) -> dict:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {secret}"}


def assert_error(response, status: int, code: str | None = None,
                 message: str | None = None) -> dict:
    """Assert a test-client response is an error of ``status`` in the API's error shape.

    ``code`` must equal ``error.code`` and ``message`` appear in ``error.message`` when given.
    Returns the error object.
    """
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert "details" in error
    if code:
        assert error["code"] == code
    if message:
        assert message in error["message"], error["message"]
    return error


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fairhub_env(database_url: str, tmp_path, fairhub_plugins) -> dict:
    """Environment for a ``fairhub`` process (server or command) on this test's database."""
    return {
        **os.environ,
        "FAIRHUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "FAIRHUB_DATABASE_URL": database_url,
        "FAIRHUB_SECRET_KEY": "live-" + uuid.uuid4().hex,
        **({"FAIRHUB_PLUGINS": ",".join(fairhub_plugins)} if fairhub_plugins else {}),
        **{f"FAIRHUB_{name}": json.dumps(value)
           for name, value in {**CHEAP_PASSWORDS, **NO_PERIODIC_JOBS}.items()},
        # Child processes import what the tests import (plugins living in the test tree).
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


@pytest.fixture
def fairhub_command(fairhub_env: dict) -> Callable[..., str]:
    """Run ``python -m fairhub ARGS`` on this test's database; return stdout, fail on error."""

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "fairhub", *args], env=fairhub_env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"fairhub {' '.join(args)} failed:\n{done.stderr}", pytrace=False)
        return done.stdout.strip()

    return run


@pytest.fixture
def fairhub_cli(fairhub_env: dict) -> Callable[..., Any]:
    """Run ``fairhub ARGS`` in this process on this test's database, migrated first."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from fairhub.cli import cli

    runner = CliRunner(env={k: v for k, v in fairhub_env.items() if k.startswith("FAIRHUB_")})

    def run(*args: str, input: str = "") -> Any:
        apps = []  # the app the command builds, as ``fairhub`` itself builds it
        info = ScriptInfo(create_app=lambda: apps.append(cli.create_app()) or apps[-1])
        try:
            return runner.invoke(cli, list(args), input=input, obj=info)
        finally:
            for built in apps:
                dispose_app(built)

    migrated = run("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    return run


class LiveServers:
    """The ``live_server`` fixture: ``live_server(workers=2, env=None)`` starts fairhub under
    gunicorn on 127.0.0.1 (migrated first) and returns its base URL; ``master(url)`` and
    ``workers(url)`` give the process ids serving it, for tests that signal them."""

    def __init__(self, fairhub_env: dict, fairhub_command: Callable[..., str], logs: Path):
        self.env, self.command, self.logs = fairhub_env, fairhub_command, logs
        self.servers: dict[str, subprocess.Popen] = {}

    def __call__(self, workers: int = 2, env: dict | None = None) -> str:
        port = free_port()
        self.command("db", "upgrade")
        log = open(self.logs / f"gunicorn-{port}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "5", "fairhub.wsgi:app"],
            env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        self.servers[url] = process
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return url
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 30 seconds")

    def master(self, url: str) -> int:
        """The process id of the gunicorn master serving ``url``."""
        return self.servers[url].pid

    def workers(self, url: str) -> list[int]:
        """The process ids of the gunicorn workers serving ``url`` now."""
        master, found = self.master(url), []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master and fields[0] != "Z":
                found.append(int(pid))
        return found

    def stop_all(self) -> None:
        for process in self.servers.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def live_server(fairhub_env: dict, fairhub_command, tmp_path) -> Iterator[LiveServers]:
    """Start fairhub under gunicorn: ``live_server(workers=2, env={...})`` returns the base
    URL (see :class:`LiveServers`); give it callers with ``live_token``. Servers are stopped
    when the test ends."""
    servers = LiveServers(fairhub_env, fairhub_command, tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture
def live_token(fairhub_command) -> Callable[..., str]:
    """``live_token(role="standard", email=None)``: an approved user with ``role``, made with
    the command line as an operator would, and the secret of an API token of theirs."""

    def make(role: str = "standard", email: str | None = None) -> str:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        fairhub_command("users", "create", email, "--role", role, "--approved",
                        stdin="a-long-password\n")
        return fairhub_command("tokens", "create", email, "--name", "live", "--role", role,
                               "--valid-to", "2099-01-01", "--reason", "test")

    return make
