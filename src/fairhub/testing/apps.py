"""The test kit's apps, and the people and checks to call them with (see ``fairhub.testing``)."""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterator

import pytest

_UNSET: Any = object()


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
def make_app(database_url: str, tmp_path, fairhub_plugins,
             fairhub_tables) -> Iterator[Callable[..., Any]]:
    """Build apps on this test's database; each makes the tables it lacks (tests only)."""
    apps = []

    def factory(config: dict | None = None, plugins: Any = _UNSET, create_tables: bool = True):
        app = build_app(database_url, tmp_path / "instance", config,
                        fairhub_plugins if plugins is _UNSET else plugins, create_tables=False)
        apps.append(app)
        if create_tables:
            with app.app_context():
                fairhub_tables.create_all((config or {}).get("DATABASE_URL", database_url))
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


def signed_in(app: Any, role: str = "standard") -> Any:
    """A test client of ``app`` carrying the API token of a new approved ``role`` user."""
    from datetime import timedelta

    from fairhub import db, utcnow
    from fairhub.identity.service import tokens, users

    with app.app_context():
        user = users.create_user({"email": f"{uuid.uuid4().hex[:8]}@example.org", "role": role,
                                  "approved": True}, None)
        _token, secret = tokens.issue_token(user, name="t", role=role, reason="test",
                                            valid_to=utcnow() + timedelta(days=1))
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def every_plugin(*more: Any) -> list:
    """The name of every installed plugin, then ``more`` (plugins of the tests' own): the
    plugins of a test that covers whatever routes exist."""
    from fairhub.plugins import installed_plugins

    return [*installed_plugins(), *more]


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
