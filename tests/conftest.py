"""Core tests: the fairhub test kit's fixtures (loaded as a pytest plugin) plus these."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from fairhub.plugins import installed_plugins
from fairhub.testing import build_app, dispose_app, drop_schema, schema_url

SAMPLE = "sample_plugin.plugin"
# The built-in plugins and the sample one: for tests that cover whatever routes exist.
EVERY_PLUGIN = [*installed_plugins(), SAMPLE]


# Tests that each take far longer than the rest (the property test takes a minute or more),
# longest first. They run before the others: under pytest-xdist, a worker that drew one near
# the end would still be running it long after the other workers ran out of tests.
LONG_FIRST = (
    "tests/test_api_properties.py",
    "tests/plugins/files/test_live_uploads.py",
    "tests/identity/test_single_use_race.py",
    "tests/test_live_server.py",
    "tests/test_jobs.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONG_FIRST.index(path) if path in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within each file, and of the rest, is kept


@pytest.fixture
def fairhub_plugins():
    """Core tests run with the sample third-party plugin only."""
    return [SAMPLE]


@pytest.fixture(scope="session")
def fresh_tables(tmp_path_factory, postgres_run_url):
    """This worker's tables as ``create_all`` makes them, to hand out (see fresh_tables)."""
    from fresh_tables import FreshTables

    tables = FreshTables(tmp_path_factory.mktemp("fresh-tables"), postgres_run_url)
    yield tables
    tables.close()


@pytest.fixture
def database_url(tmp_path, postgres_run_url, fresh_tables):
    """The kit's ``database_url``, whose PostgreSQL schema may be kept for the next test.

    As the kit's: a SQLite file, or a new empty PostgreSQL schema, of this test's own; its
    connections also carry an application name, so that any still open at the end are seen.
    """
    if postgres_run_url is None:
        yield f"sqlite:///{tmp_path / 'fairhub.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with fresh_tables.admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(postgres_run_url, schema)
    finally:
        fresh_tables.release(schema)


_UNSET = object()


@pytest.fixture
def make_app(make_app, database_url, fresh_tables):
    """The kit's ``make_app``, whose tables come from ``fresh_tables`` when it has them.

    The kit builds the app; then ``create_all`` runs on this test's database as before, only
    when an earlier test's tables fit (made by the same models and DDL listeners, holding
    just what ``create_all`` wrote) they are put in place first and it finds them there.
    """
    from fairhub import db

    def factory(config: dict | None = None, plugins=_UNSET, create_tables: bool = True):
        kit = {} if plugins is _UNSET else {"plugins": plugins}
        app = make_app(config, create_tables=False, **kit)
        if create_tables:
            with app.app_context():
                if (config or {}).get("DATABASE_URL", database_url) == database_url:
                    fresh_tables.create_all(database_url)
                else:
                    db.create_all()
        return app

    return factory


@pytest.fixture(scope="module")
def make_shared_app(tmp_path_factory, postgres_run_url):
    """``make_shared_app(plugins, config=None)``: an app that the tests of one module share.

    Each call gives a new app, with the settings of the kit's ``make_app``, on a new database
    of its own (a SQLite file, or a PostgreSQL schema of the run's database) with its tables
    created; the database is dropped after the module.

    Building an app and its tables is most of what a short test costs, so a long list of
    parametrized checks that only read, or send requests the app must refuse, share one.
    Such a test still checks what its own request did (a refused write that went through
    fails the test that sent it), so sharing hides nothing; tests that change data keep an
    app of their own.
    """
    apps, schemas = [], []

    def factory(plugins, config: dict | None = None):
        directory = tmp_path_factory.mktemp("shared-app")
        if postgres_run_url is None:
            url = f"sqlite:///{directory / 'fairhub.db'}"
        else:
            schema = f"m_{uuid.uuid4().hex[:12]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            url = schema_url(postgres_run_url, schema)
        app = build_app(url, directory / "instance", config, plugins)
        apps.append(app)
        return app

    admin = (create_engine(postgres_run_url, isolation_level="AUTOCOMMIT")
             if postgres_run_url else None)
    yield factory
    for app in apps:
        dispose_app(app)
    if admin is not None:
        with admin.connect() as connection:
            for schema in schemas:
                drop_schema(connection, schema)
        admin.dispose()


def signed_in(app, role: str = "standard"):
    """A test client of ``app`` with a new ``role`` user's token."""
    from fairhub import db
    from fairhub.identity.service import tokens, users
    from fairhub import utcnow
    from datetime import timedelta
    import uuid

    with app.app_context():
        user = users.create_user({"email": f"{uuid.uuid4().hex[:8]}@example.org", "role": role,
                                  "approved": True}, None)
        _token, secret = tokens.issue_token(user, name="t", role=role, reason="test",
                                            valid_to=utcnow() + timedelta(days=1))
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client
