"""Fixtures of the demo plugin's tests: the command on the test's database, with its own
table schema, and an app on the same database to look through the API."""
from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def fairhub_plugins():
    return ["datasets", "search", "files", "requests", "demo"]


@pytest.fixture
def tables_schema():
    return f"tables_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fairhub_env(fairhub_env, tables_schema):
    return {**fairhub_env, "FAIRHUB_FILES_TABLES_SCHEMA": tables_schema,
            "FAIRHUB_ADMIN_EMAIL": "steward@example.org"}


@pytest.fixture
def app(make_app, fairhub_cli, tables_schema):
    """An app on the commands' (migrated) database and tables."""
    return make_app({"FILES_TABLES_SCHEMA": tables_schema}, create_tables=False)
