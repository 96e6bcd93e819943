"""Spec section 2: bad input to the users, groups and roles routes, each a clear 4xx."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fairhub.testing import assert_error

from identity_support import (  # noqa: F401  (person and steward are fixtures)
    NEW_PASSWORD, PASSWORD, create_group, create_role, person, steward)


# Bad input


@pytest.fixture
def targets(client, steward, person):
    """A user, a group and a custom role to aim bad requests at, and a steward to send them."""
    user = person("observer")
    assert create_group(client, steward.headers, "lab").status_code == 201
    assert create_role(client, steward.headers, "custom", "observer").status_code == 201
    return SimpleNamespace(user=user.uuid, headers=steward.headers)


def assert_422_naming(response, field: str, sent) -> None:
    """A validation error whose details name ``field``; ``sent`` labels the failure."""
    assert response.status_code == 422, (sent, response.get_data(as_text=True))
    error = response.get_json()["error"]
    assert (error["status"], error["code"]) == (422, "validation_error"), sent
    assert error["message"] and field in json.dumps(error["details"]), (sent, error)


LONG = "x" * 101
OK_EMAIL = "ok@example.org"
# Per endpoint: (body, the field the error must name). Nothing here may change any state.
BAD_BODIES = {
    "POST /api/users": [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@"}, "email"),
        ({"email": "two words@example.org"}, "email"),
        ({"email": 5}, "email"),
        ({}, "email"),
        ({"email": OK_EMAIL, "first_name": LONG}, "first_name"),
        ({"email": OK_EMAIL, "last_name": LONG}, "last_name"),
        ({"email": OK_EMAIL, "first_name": 7}, "first_name"),
        ({"email": OK_EMAIL, "password": "short"}, "password"),
        ({"email": OK_EMAIL, "password": "123456789"}, "password"),
        ({"email": OK_EMAIL, "approved": 1}, "approved"),
        ({"email": OK_EMAIL, "approved": "true"}, "approved"),
        ({"email": OK_EMAIL, "searchable": 0}, "searchable"),
        ({"email": OK_EMAIL, "role": "nope"}, "role"),
        ({"email": OK_EMAIL, "role": "a/b"}, "role"),
        ({"email": OK_EMAIL, "role": "../x"}, "role"),
        ({"email": OK_EMAIL, "role": "Admin"}, "role"),
        ({"email": OK_EMAIL, "is_admin": True}, "is_admin"),
    ],
    "PATCH /api/users/{user}": [
        ({"first_name": LONG}, "first_name"),
        ({"email": "nope"}, "email"),
        ({"password": "tooshort"}, "password"),
        ({"searchable": "true"}, "searchable"),
        ({"searchable": 1}, "searchable"),
        ({"role": "nope"}, "role"),
        ({"role": "../x"}, "role"),
        ({"approved": True}, "approved"),
        ({"password_hash": "x"}, "password_hash"),
    ],
    "POST /api/users/{user}/archive": [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": 3}, "reason"),
        ({"reason": "r", "expire_tokens": 1}, "expire_tokens"),
        ({"reason": "r", "expire_tokens": "true"}, "expire_tokens"),
        ({"reason": "r", "force": True}, "force"),
    ],
    "PATCH /api/user": [
        ({"first_name": LONG}, "first_name"),
        ({"searchable": 0}, "searchable"),
        ({"role": "admin"}, "role"),
        ({"email": "me@example.org"}, "email"),
        ({"approved": True}, "approved"),
    ],
    "POST /api/user/password": [
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": 1234567890123}, "new_password"),
    ],
    "POST /api/groups": [
        ({"code": "x" * 65, "name": "Long"}, "code"),
        ({"code": "a/b", "name": "Slash"}, "code"),
        ({"code": "../x", "name": "Dots"}, "code"),
        ({"code": "", "name": "Empty"}, "code"),
        ({"code": 12, "name": "Number"}, "code"),
        ({"code": "ok"}, "name"),
        ({"code": "ok", "name": ""}, "name"),
        ({"code": "ok", "name": None}, "name"),
        ({"code": "ok", "name": "x" * 201}, "name"),
        ({"code": "ok", "name": "N", "members": "everyone"}, "members"),
        ({"code": "ok", "name": "N", "members": [{"uuid": 5}]}, "members"),
        ({"code": "ok", "name": "N", "owner": "me"}, "owner"),
    ],
    "PATCH /api/groups/lab": [
        ({"name": ""}, "name"),
        ({"code": "renamed"}, "code"),
        ({"members": [{"id": 1}]}, "members"),
    ],
    "POST /api/groups/lab/members": [
        ({}, "users"),
        ({"users": []}, "users"),
        ({"users": ["uuid-as-string"]}, "users"),
        ({"users": [{"uuid": "x" * 37}]}, "users"),
    ],
    "POST /api/roles": [
        ({"code": "a/b", "name": "R", "based_on": "observer"}, "code"),
        ({"code": "../x", "name": "R", "based_on": "observer"}, "code"),
        ({"code": "Upper", "name": "R", "based_on": "observer"}, "code"),
        ({"code": "r" * 65, "name": "R", "based_on": "observer"}, "code"),
        ({"code": "ok", "name": "R", "based_on": "nope"}, "based_on"),
        ({"code": "ok", "name": "R"}, "based_on"),
        ({"code": "ok", "based_on": "observer"}, "name"),
        ({"code": "ok", "name": "R", "based_on": "observer", "permissions": "users/read"},
         "permissions"),
        ({"code": "ok", "name": "R", "based_on": "observer", "managed": True}, "managed"),
    ],
    "PATCH /api/roles/custom": [
        ({"name": ""}, "name"),
        ({"permissions": [1]}, "permissions"),
        ({"based_on": "admin"}, "based_on"),
    ],
    "PATCH /api/roles/custom/assign": [
        ({"users": {"uuid": "x"}}, "users"),
        ({"users": []}, "users"),
        ({"users": [{"uuid": "x"}], "all": True}, "all"),
    ],
}


@pytest.mark.parametrize("endpoint", list(BAD_BODIES))
def test_bad_bodies_are_422_naming_the_field(client, targets, endpoint):
    method, path = endpoint.split()
    url = path.format(user=targets.user)
    for body, field in BAD_BODIES[endpoint]:
        response = client.open(url, method=method, json=body, headers=targets.headers)
        assert_422_naming(response, field, body)


def test_malformed_json_is_400_and_a_json_array_is_422(client, targets):
    for endpoint in BAD_BODIES:
        method, path = endpoint.split()
        url = path.format(user=targets.user)
        malformed = client.open(url, method=method, data="{oops",
                                content_type="application/json", headers=targets.headers)
        assert_error(malformed, 400, "bad_request", "not valid JSON")
        listed = client.open(url, method=method, json=["a", "list"], headers=targets.headers)
        assert_error(listed, 422, "validation_error")


BAD_QUERIES = [
    ("/api/users", {"approved": "maybe"}, "approved"),
    ("/api/users", {"archived": "2"}, "archived"),
    ("/api/users", {"page": 0}, "page"),
    ("/api/users", {"page_size": "ten"}, "page_size"),
    ("/api/users", {"q": "x" * 201}, "q"),
    ("/api/users", {"sort": "email"}, "sort"),
    ("/api/groups", {"q": "x" * 201}, "q"),
    ("/api/groups", {"name": "lab"}, "name"),
    ("/api/roles", {"page_size": 0}, "page_size"),
    ("/api/permissions", {"plugin": "core"}, "plugin"),
]


def test_bad_query_parameters_are_422(client, targets):
    for path, query, field in BAD_QUERIES:
        response = client.get(path, query_string=query, headers=targets.headers)
        assert_422_naming(response, field, (path, query))


def test_codes_with_path_characters_or_unknown_codes_in_urls_are_404(client, targets):
    for method, path in (("GET", "/api/groups/a/b"), ("GET", "/api/roles/a/b"),
                         ("DELETE", "/api/roles/a/b"), ("GET", "/api/users/a/b"),
                         ("GET", "/api/groups/%2e%2e%2fx")):
        assert_error(client.open(path, method=method, headers=targets.headers), 404,
                     "not_found")
    for path in ("/api/groups/ghost", "/api/roles/ghost", "/api/users/ghost",
                 "/api/groups/" + "x" * 300, "/api/users/" + "x" * 300):
        assert_error(client.get(path, headers=targets.headers), 404, "not_found",
                     "does not exist")


def test_nul_characters_are_refused(client, targets):
    assert_error(client.get("/api/users", query_string={"q": "a\x00b"},
                            headers=targets.headers), 400, "bad_request", "NUL")
    assert_error(client.post("/api/groups", json={"code": "nul", "name": "a\x00b"},
                             headers=targets.headers), 400, "bad_request", "NUL")
