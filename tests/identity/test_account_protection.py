"""Protecting accounts: who may change whom, passwords, throttling, and races on unique values."""
from __future__ import annotations

import hashlib
import threading
import time

import pytest
from sqlalchemy import event, select

from fairhub import db
from fairhub.identity.models import LoginThrottle
from fairhub.identity.service import passwords, roles, sessions, tokens, users
from fairhub.testing import assert_error, bearer

from identity_support import login, session_headers

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"



def email_of(app, uuid: str) -> str:
    with app.app_context():
        return users.get_user(uuid).email


@pytest.fixture
def member(app, make_user):
    """``member(role="standard")``: a user with PASSWORD; returns (uuid, email)."""

    def factory(role: str = "standard") -> tuple[str, str]:
        uuid = make_user(role, password=PASSWORD)
        return uuid, email_of(app, uuid)

    return factory


def create_role(client, headers, code: str, based_on: str, **body):
    return client.post("/api/roles", json={"code": code, "name": code.title(),
                                           "based_on": based_on, **body}, headers=headers)


# Codes


def test_codes_with_a_trailing_newline_are_422(client, auth_headers):
    admin = auth_headers("admin")
    for path, body, field in (("/api/groups", {"code": "lab\n", "name": "Lab"}, "code"),
                              ("/api/roles", {"code": "helper\n", "name": "Helper",
                                              "based_on": "observer"}, "code"),
                              ("/api/roles", {"code": "helper", "name": "Helper",
                                              "based_on": "observer\n"}, "based_on")):
        error = assert_error(client.post(path, json=body, headers=admin), 422)
        assert field in error["details"]["json"], (path, body)
    assert client.get("/api/groups", headers=admin).get_json()["paging"]["total"] == 0


# Emails


def test_an_email_too_long_once_lower_cased_is_422(client, auth_headers, make_user):
    admin = auth_headers("admin")
    long_email = "İ" * 125 + "@example.org"  # 137 characters; 262 in lower case
    assert len(long_email) <= 254 < len(long_email.lower())
    error = assert_error(client.post("/api/users", json={"email": long_email, "role": "observer"},
                                     headers=admin), 422, "validation_error")
    assert "email" in error["details"]["json"]
    uuid = make_user("observer")
    error = assert_error(client.patch(f"/api/users/{uuid}", json={"email": long_email},
                                      headers=admin), 422, "validation_error")
    assert "email" in error["details"]["json"]


def test_the_login_throttle_keeps_no_email(app, client, member):
    _uuid, email = member()
    assert_error(login(client, email.upper(), "wrong password"), 401)
    with app.app_context():
        keys = db.session.scalars(select(LoginThrottle.key)).all()
    assert f"email:{hashlib.sha256(email.encode()).hexdigest()}" in keys
    assert not any(email in key or email.split("@")[0] in key for key in keys)


def test_the_unknown_email_hash_is_made_at_the_first_login_not_with_the_app(app, client):
    hasher = app.extensions[passwords.EXTENSION]
    assert "dummy" not in vars(hasher)  # building an app (a command, a worker) hashes nothing
    assert_error(login(client, "nobody@example.org", "wrong password"), 401)
    dummy = vars(hasher)["dummy"]
    assert hasher.hasher.verify(dummy, "not a real password")
    assert_error(login(client, "nobody@example.org", "wrong password"), 401)
    assert vars(hasher)["dummy"] == dummy  # made once


# Changing other users


def test_another_users_password_or_email_needs_what_changing_their_role_needs(
        client, auth_headers, make_user, member):
    steward, admin = auth_headers("data-steward"), auth_headers("admin")
    assert create_role(client, steward, "helpdesk", "data-manager", permissions=[
        "groups/read", "notes/create", "tokens/create", "users/read",
        "users/update"]).status_code == 201
    helpdesk = auth_headers("helpdesk")
    for role in ("data-manager", "data-steward", "admin"):
        uuid, email = member(role)
        for body in ({"password": NEW_PASSWORD}, {"email": "taken-over@example.org"}):
            assert_error(client.patch(f"/api/users/{uuid}", json=body, headers=helpdesk),
                         403, "forbidden")
        assert login(client, email).status_code == 200
    manager = make_user("data-manager")
    renamed = client.patch(f"/api/users/{manager}", json={"first_name": "Dee"},
                           headers=helpdesk)
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    reset = client.patch(f"/api/users/{manager}", json={"password": NEW_PASSWORD},
                         headers=admin)
    assert reset.status_code == 200, reset.get_data(as_text=True)


# My password


def test_changing_my_password_needs_a_session_not_an_api_token(client, member, make_token):
    uuid, email = member("admin")
    response = client.post("/api/user/password", headers=bearer(make_token(uuid)),
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(response, 403, "forbidden", "session")
    for headers in (bearer(make_token(uuid)), session_headers(client, email)):
        response = client.patch(f"/api/users/{uuid}", json={"password": NEW_PASSWORD},
                                headers=headers)
        assert_error(response, 403, "forbidden", "/api/user/password")
    assert login(client, email).status_code == 200


def test_wrong_current_passwords_are_throttled_like_logins(make_app):
    app = make_app({"AUTH_LOGIN_MAX_FAILURES": 2, "AUTH_LOGIN_LOCKOUT_SECONDS": 60})
    client = app.test_client()
    with app.app_context():
        users.create_user({"email": "guess@example.org", "role": "standard",
                                  "approved": True, "password": PASSWORD}, None)
        db.session.commit()
    headers = session_headers(client, "guess@example.org")
    body = {"current_password": "a wrong guess", "new_password": NEW_PASSWORD}
    for _ in range(2):
        assert_error(client.post("/api/user/password", headers=headers, json=body), 422)
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    locked = client.post("/api/user/password", headers=headers, json=right)
    assert_error(locked, 429, "too_many_requests")
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert_error(login(client, "guess@example.org"), 429, "too_many_requests")


# Sessions end with a password change


def test_changing_my_password_ends_my_other_sessions_only(client, member):
    _uuid, email = member()
    mine, other = session_headers(client, email), session_headers(client, email)
    response = client.post("/api/user/password", headers=mine,
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert client.get("/api/user", headers=mine).status_code == 200
    assert_error(client.get("/api/user", headers=other), 401, "unauthorized", "logged out")


def test_a_password_reset_by_an_admin_ends_every_session_of_the_user(client, member,
                                                                     auth_headers):
    uuid, email = member("observer")
    first, second = session_headers(client, email), session_headers(client, email)
    reset = client.patch(f"/api/users/{uuid}", json={"password": NEW_PASSWORD},
                         headers=auth_headers("admin"))
    assert reset.status_code == 200, reset.get_data(as_text=True)
    for headers in (first, second):
        assert_error(client.get("/api/user", headers=headers), 401, "unauthorized")
    assert client.get("/api/user", headers=session_headers(client, email, NEW_PASSWORD)
                      ).status_code == 200


# The throttle under concurrency


def test_concurrent_wrong_passwords_cannot_outrun_the_limit(make_app, monkeypatch):
    app = make_app({"AUTH_LOGIN_MAX_FAILURES": 3, "AUTH_LOGIN_LOCKOUT_SECONDS": 60})
    with app.app_context():
        users.create_user({"email": "target@example.org", "role": "standard",
                           "approved": True, "password": PASSWORD}, None)
        db.session.commit()
    verify = sessions.verify_password

    def slow_verify(*args):
        time.sleep(0.3)  # every attempt is in flight before the first one fails
        return verify(*args)

    monkeypatch.setattr(sessions, "verify_password", slow_verify)
    attempts = 8
    barrier, statuses = threading.Barrier(attempts), []

    def guess(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(login(client, "target@example.org", f"guess {n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 3 + [429] * (attempts - 3)


# API tokens narrower than their owner


def test_a_narrower_token_cannot_manage_its_owners_broader_tokens_or_profile(
        client, make_user, make_token):
    owner = make_user("data-steward")
    full, narrow = make_token(owner, name="full"), make_token(owner, role="data-manager",
                                                               name="narrow")
    listed = client.get("/api/tokens", headers=bearer(narrow)).get_json()["items"]
    assert [token["name"] for token in listed] == ["narrow"]
    everything = client.get("/api/tokens", headers=bearer(full)).get_json()["items"]
    full_id = next(token["id"] for token in everything if token["name"] == "full")
    assert_error(client.get(f"/api/tokens/{full_id}", headers=bearer(narrow)), 404)
    assert_error(client.delete(f"/api/tokens/{full_id}", headers=bearer(narrow)), 404)
    assert client.get("/api/user", headers=bearer(full)).status_code == 200
    assert_error(client.patch("/api/user", json={"first_name": "Mallory"},
                              headers=bearer(narrow)), 403, "forbidden")
    renamed = client.patch("/api/user", json={"first_name": "Stew"}, headers=bearer(full))
    assert renamed.status_code == 200 and renamed.get_json()["first_name"] == "Stew"


# Custom roles and restoring users


def test_custom_roles_beyond_the_caller_cannot_be_edited_or_deleted(client, auth_headers):
    steward, admin = auth_headers("data-steward"), auth_headers("admin")
    assert create_role(client, steward, "note-taker", "standard").status_code == 201
    for method, body in (("PATCH", {"permissions": []}), ("PATCH", {"name": "Renamed"}),
                         ("DELETE", None)):
        error = assert_error(client.open("/api/roles/note-taker", method=method, json=body,
                                         headers=admin), 403, "forbidden", "note-taker")
        assert "notes/create" in error["details"]["permissions"]
    role = client.get("/api/roles/note-taker", headers=admin).get_json()
    assert role["name"] == "Note-Taker" and "notes/create" in role["permissions"]
    assert client.delete("/api/roles/note-taker", headers=steward).status_code == 204


def test_restoring_a_user_needs_the_right_to_grant_their_role(client, auth_headers, make_user):
    steward, admin = auth_headers("data-steward"), auth_headers("admin")
    other = make_user("data-steward")
    archived = client.post(f"/api/users/{other}/archive", json={"reason": "left"},
                           headers=steward)
    assert archived.status_code == 200, archived.get_data(as_text=True)
    assert_error(client.post(f"/api/users/{other}/restore", headers=admin), 403, "forbidden")
    restored = client.post(f"/api/users/{other}/restore", headers=steward)
    assert restored.status_code == 200 and restored.get_json()["archived"] is False


# Single-use tokens


def test_a_refused_request_does_not_use_up_a_single_use_token(client, make_user, make_token):
    secret = make_token(make_user("standard"), single_use=True)
    assert_error(client.get("/api/audit", headers=bearer(secret)), 403, "forbidden")
    assert client.get("/api/user", headers=bearer(secret)).status_code == 200
    assert_error(client.get("/api/user", headers=bearer(secret)), 401, "unauthorized",
                 "already been used")


# Races on unique values


def test_a_user_created_twice_at_once_is_409(client, auth_headers, make_user, monkeypatch):
    admin = auth_headers("admin")
    make_user("observer", email="twice@example.org")
    monkeypatch.setattr(users, "find_by_email", lambda email: None)  # both checks passed
    response = client.post("/api/users", json={"email": "twice@example.org", "role": "observer"},
                           headers=admin)
    assert_error(response, 409, "conflict", "twice@example.org")


def test_a_group_created_twice_is_409(client, auth_headers):
    admin = auth_headers("admin")
    body = {"code": "lab", "name": "Lab"}
    assert client.post("/api/groups", json=body, headers=admin).status_code == 201
    assert_error(client.post("/api/groups", json=body, headers=admin), 409, "conflict", "lab")
    assert client.get("/api/groups", headers=admin).get_json()["paging"]["total"] == 1


def test_a_role_created_twice_at_once_is_409(client, auth_headers, monkeypatch):
    admin = auth_headers("admin")
    assert create_role(client, admin, "helpers", "observer").status_code == 201
    monkeypatch.setattr(roles, "role_exists", lambda code: code in roles.MANAGED_ROLES)
    assert_error(create_role(client, admin, "helpers", "observer"), 409, "conflict", "helpers")


def test_two_tokens_given_one_key_at_once_is_409(client, make_user, make_token, monkeypatch):
    owner = make_user("data-manager")
    headers = bearer(make_token(owner))
    monkeypatch.setattr(tokens.secrets, "token_hex", lambda n: "ab" * n)
    body = {"name": "n", "role": "data-manager", "valid_to": "2099-01-01", "reason": "r"}
    assert client.post("/api/tokens", json=body, headers=headers).status_code == 201
    assert_error(client.post("/api/tokens", json=body, headers=headers), 409, "conflict")


def test_a_token_whose_key_is_not_hex_is_refused_without_a_lookup(app, client):
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get("/api/user", headers=bearer("fh_" + "zz%_" * 4 + "x" * 40))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert_error(response, 401, "unauthorized", "not valid")
    assert not [s for s in statements if "api_tokens" in s]


def test_an_ipv6_zone_is_dropped_from_the_client_address(app, make_user, make_token):
    secret = make_token(make_user("standard"), allowed_ips=["fe80::/64"])
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "fe80::1%eth0"
    assert client.get("/api/user", headers=bearer(secret)).status_code == 200
    listed = client.get("/api/tokens", headers=bearer(secret)).get_json()["items"]
    assert listed[0]["last_used_ip"] == "fe80::1"
