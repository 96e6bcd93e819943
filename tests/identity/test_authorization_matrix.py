"""The authorization matrix, generated from the app's routes and the managed roles.

Every (rule, method) of an app with every installed plugin and the sample one is listed at
import time, so routes that later plugins add are checked without editing this file: protected
routes answer 401 without a token, and each managed role gets 403 exactly when it lacks a
permission the route requires.
"""
from __future__ import annotations

import tempfile
import uuid

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter, UUIDConverter

from fairhub import create_app
from fairhub.identity.authn import required_permissions
from fairhub.testing import every_plugin
from sample_plugin import SAMPLE

EVERY_PLUGIN = every_plugin(SAMPLE)
MANAGED_ROLES = ["observer", "standard", "data-manager", "data-steward", "admin", "archived"]
# Ids far beyond anything a test creates: a placeholder must never hit a real object (token 1
# may be the caller's own, and DELETE /api/tokens/1 would revoke it mid-loop).
PLACEHOLDER_ID = 2_000_000_000
# The routes anyone may call, as (rule, method); OPTIONS is answered for every route.
EXPECTED_PUBLIC = {
    ("/api/health", "GET"), ("/api/health", "HEAD"),
    ("/api/openapi.json", "GET"), ("/api/openapi.json", "HEAD"),
    ("/api/docs/", "GET"), ("/api/docs/", "HEAD"),
    ("/api/docs/assets/<path:filename>", "GET"), ("/api/docs/assets/<path:filename>", "HEAD"),
    ("/api/auth/login", "POST"),
    ("/api/auth/about", "GET"), ("/api/auth/about", "HEAD"),
    # The sample plugin opens reading notes to anyone; creating one needs notes/create.
    ("/api/notes", "GET"), ("/api/notes", "HEAD"),
    ("/api/notes/<code>", "GET"), ("/api/notes/<code>", "HEAD"),
}


def placeholder(converter) -> str:
    """A URL value the converter accepts, naming no existing object."""
    if isinstance(converter, IntegerConverter):
        return str(PLACEHOLDER_ID)
    if isinstance(converter, UUIDConverter):
        return str(uuid.uuid4())
    if isinstance(converter, PathConverter):
        return "x/y.js"
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def collect_routes() -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """(rule, method, url, required permissions) of every route, every plugin included."""
    routes = []
    with tempfile.TemporaryDirectory(prefix="fairhub-matrix-") as instance:
        app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x",
                          "INSTANCE_PATH": instance}, plugins=EVERY_PLUGIN)
        with app.test_request_context():
            for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
                values = {name: placeholder(conv) for name, conv in rule._converters.items()}
                url = rule.build(values, append_unknown=False)[1]
                for method in sorted(rule.methods - {"OPTIONS"}):
                    required = required_permissions(rule.endpoint, method)
                    routes.append((rule.rule, method, url, required))
    return routes


@pytest.fixture
def fairhub_plugins():
    return EVERY_PLUGIN


ROUTES = collect_routes()
PROTECTED = [r for r in ROUTES if r[3] is not None]
PUBLIC = {(rule, method) for rule, method, _url, required in ROUTES if required is None}


def as_params(routes) -> list:
    return [pytest.param(*route, id=f"{route[1]} {route[0]}") for route in routes]


def call(client, method: str, url: str, headers: dict | None = None):
    return client.open(url, method=method, headers=headers or {})


def assert_error(response, status: int, code: str, method: str) -> dict | None:
    """The status, and for non-HEAD requests the error shape with its code; returns the error."""
    assert response.status_code == status, response.data
    if method == "HEAD":
        return None
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_protected_routes_include_the_identity_and_plugin_apis():
    protected_rules = {rule for rule, *_ in PROTECTED}
    assert {"/api/users", "/api/audit", "/api/admin/tokens", "/api/user"} <= protected_rules
    assert {"/api/datasets", "/api/datasets/<code>", "/api/dictionaries"} <= protected_rules


def test_public_routes_are_exactly_the_expected_few():
    assert PUBLIC == EXPECTED_PUBLIC


@pytest.fixture(scope="module")
def anonymous(make_shared_app):
    """A client without a token, of one app shared by the 401 checks below: a call refused
    for want of a token changes nothing, so each check sees the app as a fresh one would."""
    return make_shared_app(EVERY_PLUGIN).test_client()


@pytest.mark.parametrize("rule, method, url, required", as_params(PROTECTED))
def test_protected_route_without_token_is_401(anonymous, rule, method, url, required):
    response = call(anonymous, method, url)
    error = assert_error(response, 401, "unauthorized", method)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if error is not None:
        assert error["message"] == "This needs a Bearer token."


@pytest.fixture
def role_permissions(client, auth_headers):
    """The permissions of every managed role, as GET /api/roles/{code} tells a data-steward."""
    steward = auth_headers("data-steward")
    result = {}
    for role in MANAGED_ROLES:
        response = client.get(f"/api/roles/{role}", headers=steward)
        assert response.status_code == 200, response.data
        result[role] = set(response.get_json()["permissions"])
    return result


@pytest.mark.parametrize("role", MANAGED_ROLES)
def test_role_is_refused_exactly_what_it_lacks(client, auth_headers, role_permissions, role):
    """One token per role against every protected route: 403 iff a permission is missing."""
    headers = auth_headers(role)
    held = role_permissions[role]
    wrong = []
    for rule, method, url, required in PROTECTED:
        missing = [name for name in required if name not in held]
        response = call(client, method, url, headers)
        if missing:
            if response.status_code != 403:
                wrong.append(f"{method} {rule}: {response.status_code}, expected 403")
            elif method != "HEAD":
                error = response.get_json()["error"]
                if error["code"] != "forbidden" or error["details"] != {
                        "missing_permissions": missing} or missing[0] not in error["message"]:
                    wrong.append(f"{method} {rule}: 403 body {error}")
        elif response.status_code in (401, 403) or response.status_code >= 500:
            wrong.append(f"{method} {rule}: {response.status_code} {response.data!r}, "
                         f"though {role} holds {list(required)}")
    assert not wrong, "\n".join(wrong)


def test_roles_differ_as_the_spec_says(role_permissions):
    """The matrix is only meaningful if the roles differ as the spec describes them."""
    assert role_permissions["archived"] == set()
    assert role_permissions["observer"] <= role_permissions["standard"]
    assert role_permissions["data-manager"] < role_permissions["data-steward"]
    assert role_permissions["admin"] < role_permissions["data-steward"]
    assert {"audit/read", "tokens/manage", "users/create"} <= role_permissions["admin"]
    assert "audit/read" not in role_permissions["data-manager"]
    assert "tokens/create" in role_permissions["data-manager"]
    assert "tokens/create" not in role_permissions["standard"]


def test_data_manager_holds_what_standard_holds(role_permissions):
    assert "notes/create" in role_permissions["standard"]
    assert role_permissions["standard"] <= role_permissions["data-manager"]
