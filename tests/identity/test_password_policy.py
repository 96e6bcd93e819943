"""One password policy: the API's routes and the command line refuse the same passwords with
the same sentence, and leave everything as it was."""
from __future__ import annotations

import pytest

from fairhub.testing import assert_error, bearer

GOOD = "a-good-long-password"
TOO_SHORT = "A password needs at least 10 characters."
TOO_LONG = "A password may have at most 256 characters."
WEAK = [("abc", TOO_SHORT), ("x" * 9, TOO_SHORT), ("x" * 257, TOO_LONG)]
IDS = ["three-letters", "nine-letters", "257-letters"]
TARGET = "target@example.org"


@pytest.fixture
def app(make_app, fairhub_cli):
    """An app on the CLI's (already migrated) database."""
    return make_app(create_tables=False)


@pytest.fixture
def api(client):
    return client


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


def login(api, email: str, password: str):
    return api.post("/api/auth/login", json={"email": email, "password": password})


def session(api, email: str, password: str) -> dict:
    response = login(api, email, password)
    assert response.status_code == 200, response.data
    return bearer(response.get_json()["access_token"])


def create_target(fairhub_cli) -> None:
    made = fairhub_cli("users", "create", TARGET, "--approved", input=GOOD + "\n")
    assert made.exit_code == 0, made.output


def refused_by_cli(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0] == f"Error: {message}"


@pytest.mark.parametrize("password, message", WEAK, ids=IDS)
def test_creating_a_user_refuses_a_weak_password_in_the_api_and_the_cli(
        api, admin, fairhub_cli, password, message):
    response = api.post("/api/users", headers=admin,
                        json={"email": TARGET, "password": password})
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == message
    assert error["details"] == {"json": {"password": [message]}}

    refused_by_cli(fairhub_cli("users", "create", TARGET, input=password + "\n"), message)
    assert api.get("/api/users", headers=admin).get_json()["paging"]["total"] == 1  # the admin


@pytest.mark.parametrize("password, message", WEAK, ids=IDS)
def test_setting_a_password_refuses_a_weak_one_in_the_api_and_the_cli(
        api, admin, fairhub_cli, password, message):
    create_target(fairhub_cli)
    uuid = api.get("/api/users?q=target", headers=admin).get_json()["items"][0]["uuid"]
    by_admin = api.patch(f"/api/users/{uuid}", headers=admin, json={"password": password})
    error = assert_error(by_admin, 422, "validation_error")
    assert error["message"] == message
    assert error["details"] == {"json": {"password": [message]}}

    mine = api.post("/api/user/password", headers=session(api, TARGET, GOOD),
                    json={"current_password": GOOD, "new_password": password})
    error = assert_error(mine, 422, "validation_error")
    assert error["message"] == message
    assert error["details"] == {"json": {"new_password": [message]}}

    refused_by_cli(fairhub_cli("users", "set-password", TARGET, input=password + "\n"),
                   message)
    assert login(api, TARGET, GOOD).status_code == 200  # unchanged throughout


def test_a_password_the_policy_takes_is_set_everywhere(api, admin, fairhub_cli):
    create_target(fairhub_cli)
    exactly_ten = "0123456789"
    assert fairhub_cli("users", "set-password", TARGET, input=exactly_ten + "\n").exit_code == 0
    assert login(api, TARGET, exactly_ten).status_code == 200
    mine = api.post("/api/user/password", headers=session(api, TARGET, exactly_ten),
                    json={"current_password": exactly_ten, "new_password": "y" * 256})
    assert mine.status_code == 204, mine.data
    assert login(api, TARGET, "y" * 256).status_code == 200


def test_the_openapi_document_states_the_policy(api):
    schemas = api.get("/api/openapi.json").get_json()["components"]["schemas"]
    for schema, field in (("UserCreate", "password"), ("UserUpdate", "password"),
                          ("PasswordChange", "new_password")):
        documented = schemas[schema]["properties"][field]
        assert (documented["minLength"], documented["maxLength"]) == (10, 256)
