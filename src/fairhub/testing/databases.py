"""The test kit's databases: the run's PostgreSQL database, each pytest process's tables
handed to every test empty, and empty databases of a test's own (see ``fairhub.testing``)."""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .apps import build_app, dispose_app

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
def empty_database_url(tmp_path, postgres_run_url: str | None) -> Iterator[str]:
    """A database of this test's own without tables: a SQLite file, or a new PostgreSQL
    schema (dropped after the test). A test that asks for it has it as ``database_url``."""
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


class WorkerTables:
    """The tables of this pytest process, made once and handed to each test empty (see the
    module's docstring): ``fresh(tmp_path)`` hands them out, ``create_all(url)`` makes those
    an app brings that are not there yet, ``rebuild()`` makes them all again."""

    def __init__(self, directory: Path, postgres_run_url: str | None) -> None:
        self.directory, self.run_url = directory, postgres_run_url
        if postgres_run_url is None:
            self.url, self.engine = f"sqlite:///{directory / 'template.db'}", None
        else:
            self.schema = f"w_{uuid.uuid4().hex[:12]}"
            self.url = schema_url(postgres_run_url, self.schema)
            self.engine = create_engine(self.url)
        self.make()

    def make(self) -> None:
        """Make the tables of every installed plugin."""
        from fairhub.plugins import installed_plugins

        if self.engine is not None:
            with self._admin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        self.made: list = []  # the tables made, parents first
        self.rows: dict = {}  # PostgreSQL: table -> the rows ``create_all`` wrote in it
        self.test_url = self.url
        app = build_app(self.url, self.directory / "instance", None, list(installed_plugins()),
                        create_tables=False)
        try:
            with app.app_context():
                self.create_all(self.url)
        finally:
            dispose_app(app)

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        """A connection to the run's database, outside the schema."""
        engine = create_engine(self.run_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def fresh(self, tmp_path: Path) -> str:
        """The URL of the tables, empty, for the test of ``tmp_path``."""
        if self.engine is None:
            path = tmp_path / "fairhub.db"
            shutil.copyfile(self.directory / "template.db", path)
            self.test_url = f"sqlite:///{path}"
            return self.test_url
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self.emptying)
            for table, rows in self.rows.items():
                connection.execute(table.insert(), rows)
        self.test_url = self.url
        return self.url

    def create_all(self, url: str) -> None:
        """``db.create_all()`` in the current app, on ``url``: on the tables handed to the
        test, only those not made yet are made (in the template too, on SQLite)."""
        from fairhub import db

        if url != self.test_url:
            db.create_all()
            return
        made = {table.name for table in self.made}
        new = [table for table in db.metadata.sorted_tables if table.name not in made]
        if not new:
            return
        db.metadata.create_all(db.engine, tables=new)
        if self.engine is None and url != self.url:
            template = create_engine(self.url)
            try:
                db.metadata.create_all(template, tables=new)
            finally:
                template.dispose()
        elif self.engine is not None:
            with db.engine.connect() as connection:
                for table in new:
                    rows = connection.execute(table.select()).mappings().all()
                    if rows:
                        self.rows[table] = [dict(row) for row in rows]
        self.made = [table for table in db.metadata.sorted_tables
                     if table.name in made or table in new]
        # PostgreSQL's TRUNCATE makes new files for every table and index: deleting the rows
        # of mostly empty tables is many times faster. Connections earlier tests left open
        # (they carry the schema's application name, as this one does) are ended first.
        self.emptying = "; ".join([
            "SET LOCAL synchronous_commit = off",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
            "application_name = current_setting('application_name') AND pid <> pg_backend_pid()",
            *(f'DELETE FROM "{table.name}"' for table in reversed(self.made)),
            "SELECT count(setval(quote_ident(sequencename)::regclass, start_value, false)) "
            "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL",
        ])

    def rebuild(self) -> None:
        """Drop the tables and make them again (PostgreSQL; SQLite's template is never
        handed out)."""
        if self.engine is not None:
            self.engine.dispose()
            with self._admin() as connection:
                drop_schema(connection, self.schema)
            self.make()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()  # the schema goes with the run's database


@pytest.fixture(scope="session")
def fairhub_tables(tmp_path_factory, postgres_run_url: str | None) -> Iterator[WorkerTables]:
    """This pytest process's tables (:class:`WorkerTables`), made at its first use."""
    tables = WorkerTables(tmp_path_factory.mktemp("fairhub-tables"), postgres_run_url)
    yield tables
    tables.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path, fairhub_tables) -> Iterator[str]:
    """This test's database: every table of every installed plugin, empty (or the test's
    ``empty_database_url`` if it asked for one)."""
    if "empty_database_url" in request.fixturenames:
        yield request.getfixturevalue("empty_database_url")
        return
    yield fairhub_tables.fresh(tmp_path)
    if request.node.stash.get(_FAILED, False):
        fairhub_tables.rebuild()  # the test may have left the tables changed
