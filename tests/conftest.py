"""Core tests: the fairhub test kit's fixtures (loaded as a pytest plugin) plus these."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from fairhub.testing import build_app, dispose_app, drop_schema, schema_url
from sample_plugin import SAMPLE


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
