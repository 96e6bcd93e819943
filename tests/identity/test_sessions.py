"""Session access tokens (API spec section 3): login, expiry, refresh and logout, throttling
and the audit of logins, /api/auth/about and public mode."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from fairhub import __version__, db
from fairhub.identity.models import AuthSession, LoginThrottle
from fairhub.testing import assert_error, bearer
from sample_plugin import SAMPLE

from sessions_support import (  # noqa: F401  (admin, alice and make_member are fixtures)
    ALICE, PASSWORD, ProbePlugin, admin, alice, audit, client_at, login, make_member,
    session_token)


# Login


def test_login_with_any_case_email_returns_a_working_session_token(client, alice):
    response = login(client, "  Alice@EXAMPLE.org ")
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert not body["access_token"].startswith("fh_")
    me = client.get("/api/user", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.data
    assert me.get_json()["uuid"] == alice
    assert me.get_json()["authenticated_via"] == "session"
    assert me.get_json()["token_id"] is None


def test_unknown_email_and_wrong_password_fail_identically(client, alice):
    wrong = login(client, ALICE, "not the password")
    unknown = login(client, "nobody@example.org", PASSWORD)
    wrong_error = assert_error(wrong, 401, "unauthorized")
    assert assert_error(unknown, 401, "unauthorized") == wrong_error
    assert "access_token" not in wrong.get_data(as_text=True)


def test_user_without_password_cannot_log_in(client, make_user):
    make_user("standard", email="nopass@example.org")
    wrong = assert_error(login(client, ALICE, "whatever it is"), 401)
    assert assert_error(login(client, "nopass@example.org", "whatever it is"), 401) == wrong


def test_unapproved_user_cannot_log_in(client, make_member):
    make_member("new@example.org", approved=False)
    error = assert_error(login(client, "new@example.org"), 401, "unauthorized")
    assert "approv" in error["message"]


def test_archived_user_cannot_log_in_and_their_session_stops(client, alice, admin):
    token = session_token(client)
    archived = client.post(f"/api/users/{alice}/archive", json={"reason": "left"}, headers=admin)
    assert archived.status_code == 200, archived.data
    assert "archived" in assert_error(login(client), 401, "unauthorized")["message"]
    assert_error(client.get("/api/user", headers=bearer(token)), 401)
    refused = audit(client, admin, type="auth", action="login_refused")
    assert [(e["target"]["code"], e["details"]["reason"]) for e in refused] == [
        (alice, "archived")]


# Expiry and signatures


def test_session_lifetime_follows_config(make_app, alice):
    client = make_app({"AUTH_SESSION_MINUTES": 5}).test_client()
    body = login(client).get_json()
    assert body["expires_in"] == 300
    assert client.get("/api/user", headers=bearer(body["access_token"])).status_code == 200


def test_session_of_zero_minutes_is_already_expired(make_app, alice):
    client = make_app({"AUTH_SESSION_MINUTES": 0}).test_client()
    token = session_token(client)
    error = assert_error(client.get("/api/user", headers=bearer(token)), 401, "unauthorized")
    assert "expired" in error["message"]


def test_session_expired_in_the_database_is_refused(app, client, alice):
    token = session_token(client)
    with app.app_context():
        db.session.execute(update(AuthSession).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.session.commit()
    response = client.get("/api/user", headers=bearer(token))
    assert "expired" in assert_error(response, 401, "unauthorized")["message"]
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_token_signed_with_another_secret_key_is_refused(make_app, alice):
    here, elsewhere = make_app().test_client(), make_app().test_client()
    token = session_token(here)
    assert here.get("/api/user", headers=bearer(token)).status_code == 200
    error = assert_error(elsewhere.get("/api/user", headers=bearer(token)), 401, "unauthorized")
    assert "not valid" in error["message"]


@pytest.mark.parametrize("tamper", [
    lambda t: ("J" if t[0] != "J" else "K") + t[1:],
    lambda t: t[:-6],
    lambda t: t + "AAAA",
    lambda t: t.rsplit(".", 1)[0],
    lambda _t: "not-a-session-token",
], ids=["payload-changed", "signature-cut", "signature-extended", "signature-dropped",
        "garbage"])
def test_tampered_session_token_is_refused(client, alice, tamper):
    token = session_token(client)
    error = assert_error(client.get("/api/user", headers=bearer(tamper(token))), 401,
                         "unauthorized")
    assert "not valid" in error["message"]


# Refresh and logout


def test_refresh_gives_a_new_token_and_ends_the_old_one(client, alice):
    old = session_token(client)
    response = client.post("/api/auth/refresh", headers=bearer(old))
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"] != old
    me = client.get("/api/user", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["uuid"] == alice
    assert_error(client.get("/api/user", headers=bearer(old)), 401, "unauthorized")
    assert_error(client.post("/api/auth/refresh", headers=bearer(old)), 401, "unauthorized")


def test_logout_revokes_the_session(client, alice):
    token = session_token(client)
    response = client.post("/api/auth/logout", headers=bearer(token))
    assert response.status_code == 204 and response.data == b""
    error = assert_error(client.get("/api/user", headers=bearer(token)), 401, "unauthorized")
    assert "logged out" in error["message"]
    assert_error(client.post("/api/auth/logout", headers=bearer(token)), 401)


def test_logout_ends_only_that_session(client, alice):
    first, second = session_token(client), session_token(client)
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 204
    assert client.get("/api/user", headers=bearer(second)).status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
def test_refresh_and_logout_with_an_api_token_are_400(client, auth_headers, path):
    error = assert_error(client.post(path, headers=auth_headers("standard")), 400, "bad_request")
    assert "API token" in error["message"]
    assert_error(client.post(path), 401, "unauthorized")


# Throttling


def assert_throttled(response, lockout_seconds: int) -> int:
    """Check a 429 with a sane Retry-After; return the seconds."""
    error = assert_error(response, 429, "too_many_requests")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= lockout_seconds
    assert retry_after in error["message"]
    return int(retry_after)


THROTTLE = {"AUTH_LOGIN_MAX_FAILURES": 3, "AUTH_LOGIN_LOCKOUT_SECONDS": 120}


def test_failed_logins_lock_the_email_in_any_case(make_app, make_member, alice):
    make_member("bob@example.org")
    client = make_app(THROTTLE).test_client()
    for email in (ALICE, "ALICE@example.org", "Alice@Example.Org"):
        assert_error(login(client, email, "wrong password"), 401)
    assert_throttled(login(client), 120)
    assert_throttled(login(client, "alice@EXAMPLE.org", "wrong password"), 120)
    assert login(client, "bob@example.org").status_code == 200


def test_a_locked_email_opens_again_when_the_lock_ends(make_app, alice):
    app = make_app(THROTTLE)
    client = app.test_client()
    for _ in range(3):
        login(client, ALICE, "wrong password")
    assert_throttled(login(client), 120)
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(
            locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.session.commit()
    assert login(client).status_code == 200


def test_a_successful_login_resets_the_email_counter(make_app, alice):
    client = make_app(THROTTLE).test_client()
    statuses = [login(client, password=p).status_code
                for p in ("wrong 1", "wrong 2", PASSWORD, "wrong 3", "wrong 4", PASSWORD)]
    assert statuses == [401, 401, 200, 401, 401, 200]


def test_an_address_trying_many_emails_is_locked(make_app, alice):
    app = make_app({"AUTH_LOGIN_MAX_FAILURES": 10, "AUTH_LOGIN_MAX_FAILURES_PER_IP": 3,
                    "AUTH_LOGIN_LOCKOUT_SECONDS": 60})
    attacker = client_at(app, "198.51.100.7")
    for n in range(3):
        assert_error(login(attacker, f"guess{n}@example.org"), 401)
    assert_throttled(login(attacker), 60)
    assert login(client_at(app, "198.51.100.8")).status_code == 200


def test_failures_are_counted_across_apps_on_one_database(make_app, alice):
    first, second = make_app(THROTTLE).test_client(), make_app(THROTTLE).test_client()
    assert_error(login(first, password="wrong 1"), 401)
    assert_error(login(second, password="wrong 2"), 401)
    assert_error(login(first, password="wrong 3"), 401)
    assert_throttled(login(second), 120)
    assert_throttled(login(first), 120)


# Audit of logins


def test_login_failures_are_audited_with_the_email_and_address(app, alice, admin):
    client = client_at(app, "203.0.113.9")
    login(client, "Alice@Example.org", "wrong password")
    login(client, "nobody@example.org")
    events = audit(client, admin, type="auth", action="login_failed")
    assert [e["target"]["code"].lower() for e in events] == ["nobody@example.org", ALICE]
    for event in events:
        assert event["type"] == "auth" and event["target"]["type"] == "user"
        assert event["ip"] == "203.0.113.9"


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(make_app, admin):
    app = make_app({"AUTH_LOGIN_MAX_FAILURES_PER_IP": 3, "AUTH_LOGIN_LOCKOUT_SECONDS": 60})
    client = app.test_client()
    for n in range(3):
        forged = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert_error(login(client, f"guess{n}@example.org", headers=forged), 401)
    assert_throttled(login(client, "guess9@example.org",
                           headers={"X-Forwarded-For": "192.0.2.9"}), 60)
    assert {e["ip"] for e in audit(client, admin, action="login_failed")} == {"127.0.0.1"}


def test_the_address_a_trusted_proxy_gives_is_audited(make_app, admin):
    client = make_app({"TRUSTED_PROXIES": 1}).test_client()
    login(client, "nobody@example.org", headers={"X-Forwarded-For": "192.0.2.44"})
    assert [e["ip"] for e in audit(client, admin, action="login_failed")] == ["192.0.2.44"]


def test_a_forwarded_value_that_is_not_an_address_is_not_audited_as_one(make_app, admin):
    client = make_app({"TRUSTED_PROXIES": 1}).test_client()
    bogus = "not-an-address-" + "x" * 40
    assert_error(login(client, "nobody@example.org", headers={"X-Forwarded-For": bogus}), 401)
    events = audit(client, admin, action="login_failed")
    assert len(events) == 1 and events[0]["ip"] != bogus


def test_login_with_a_long_unknown_email_is_a_plain_401(client, admin):
    email = "a" * 240 + "@example.org"
    assert len(email) <= 254
    assert_error(login(client, email), 401, "unauthorized")
    assert [e["target"]["code"] for e in audit(client, admin, action="login_failed")] == [email]


def test_logins_and_logouts_are_audited(client, alice, admin):
    token = session_token(client)
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    events = audit(client, admin, type="auth")
    assert [e["action"] for e in events] == ["logout", "login"]
    for event in events:
        assert event["actor"] == {"uuid": alice, "email": ALICE}
        assert event["target"] == {"type": "user", "code": alice}
        assert event["ip"] == "127.0.0.1"


def test_no_password_appears_in_the_audit_log(client, alice, admin):
    secrets = ["Wrong-Guess-0001", PASSWORD, "Created-Secret-01", "Patched-Secret-02",
               "Changed-Secret-03"]
    login(client, ALICE, secrets[0])
    token = session_token(client)
    created = client.post("/api/users", headers=admin,
                          json={"email": "carol@example.org", "role": "observer",
                                "password": secrets[2]})
    assert created.status_code == 201, created.data
    patched = client.patch(f"/api/users/{created.get_json()['uuid']}", headers=admin,
                           json={"password": secrets[3]})
    assert patched.status_code == 200, patched.data
    changed = client.post("/api/user/password", headers=bearer(token),
                          json={"current_password": PASSWORD, "new_password": secrets[4]})
    assert changed.status_code == 204, changed.data
    response = client.get("/api/audit", headers=admin, query_string={"page_size": 200})
    actions = {(e["type"], e["action"]) for e in response.get_json()["items"]}
    assert {("auth", "login_failed"), ("auth", "login"), ("user", "create"), ("user", "update"),
            ("user", "password_change")} <= actions
    text = response.get_data(as_text=True)
    assert [s for s in secrets if s in text] == []


# GET /api/auth/about


def test_about_works_anonymously(client):
    response = client.get("/api/auth/about")
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["authenticated_via"] == "anonymous"
    assert body["user"] is None and body["token_id"] is None and body["session_id"] is None
    assert body["version"] == __version__
    assert body["docs_url"].endswith("/api/docs/")
    assert body["api_url"].endswith("/api")


def test_about_shows_the_user_and_token(client, make_user, make_token):
    uuid = make_user("standard", email="erin@example.org")
    valid_to = (datetime.now(timezone.utc) + timedelta(days=10)).replace(microsecond=0)
    headers = bearer(make_token(uuid, valid_to=valid_to))
    token_id = client.get("/api/user", headers=headers).get_json()["token_id"]
    body = client.get("/api/auth/about", headers=headers).get_json()
    assert body["authenticated_via"] == "token" and body["token_id"] == token_id
    assert isinstance(token_id, int)
    assert body["user"]["uuid"] == uuid and body["user"]["email"] == "erin@example.org"
    assert _time(body["expires_at"]) == valid_to


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_about_shows_a_session_and_when_its_token_expires(make_app, alice):
    client = make_app({"AUTH_SESSION_MINUTES": 30}).test_client()
    before = datetime.now(timezone.utc)
    token = session_token(client)
    body = client.get("/api/auth/about", headers=bearer(token)).get_json()
    assert body["authenticated_via"] == "session"
    assert body["user"]["uuid"] == alice
    assert isinstance(body["session_id"], int) and body["token_id"] is None
    expires = _time(body["expires_at"])
    assert before + timedelta(minutes=30) - timedelta(seconds=1) <= expires
    assert expires <= datetime.now(timezone.utc) + timedelta(minutes=30)
    time.sleep(0.01)
    fresh = client.post("/api/auth/refresh", headers=bearer(token)).get_json()["access_token"]
    later = client.get("/api/auth/about", headers=bearer(fresh)).get_json()["expires_at"]
    assert _time(later) > expires


def test_about_anonymously_has_no_expiry(client):
    assert client.get("/api/auth/about").get_json()["expires_at"] is None


def test_about_with_a_bad_token_is_401(client):
    assert_error(client.get("/api/auth/about", headers=bearer("bogus")), 401, "unauthorized")


# Public mode


def test_without_public_mode_anonymous_callers_are_401(make_app):
    client = make_app(plugins=[SAMPLE, ProbePlugin()]).test_client()
    assert_error(client.get("/api/users"), 401, "unauthorized")
    assert_error(client.get("/api/probe"), 401, "unauthorized")


def test_public_mode_gives_anonymous_callers_the_guest_permissions(make_app):
    client = make_app({"PUBLIC_MODE": True}, plugins=[SAMPLE, ProbePlugin()]).test_client()
    response = client.get("/api/probe")
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert_error(client.get("/api/users"), 401, "unauthorized")
    assert_error(client.get("/api/user"), 401, "unauthorized")
    assert_error(client.get("/api/probe", headers=bearer("bogus")), 401, "unauthorized")
    about = client.get("/api/auth/about").get_json()
    assert about["authenticated_via"] == "anonymous" and about["user"] is None


# Bad login input


@pytest.mark.parametrize("body, field", [
    ({"password": PASSWORD}, "email"),
    ({"email": ALICE}, "password"),
    ({"email": 42, "password": PASSWORD}, "email"),
    ({"email": None, "password": PASSWORD}, "email"),
    ({"email": "", "password": PASSWORD}, "email"),
    ({"email": ALICE, "password": ["a", "list"]}, "password"),
    ({"email": ALICE, "password": 1234567890}, "password"),
    ({"email": ALICE, "password": ""}, "password"),
    ({"email": ALICE, "password": "x" * 10_000}, "password"),
    ({"email": ALICE, "password": PASSWORD, "remember_me": True}, "remember_me"),
], ids=["no-email", "no-password", "email-int", "email-null", "email-empty", "password-list",
        "password-int", "password-empty", "password-10k", "unknown-field"])
def test_invalid_login_body_is_422_per_field(client, body, field):
    response = client.post("/api/auth/login", json=body)
    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]["json"]
    assert PASSWORD not in response.get_data(as_text=True)


@pytest.mark.parametrize("kwargs, status", [
    ({}, 422),
    ({"data": f"email={ALICE}&password=x", "content_type": "application/x-www-form-urlencoded"},
     415),
    ({"data": '{"email": "a@b.org", "password": "x"}', "content_type": "text/plain"}, 415),
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"data": "[]", "content_type": "application/json"}, 422),
], ids=["empty", "form", "text-plain", "malformed", "json-list"])
def test_login_needs_a_json_object_body(client, kwargs, status):
    assert_error(client.post("/api/auth/login", **kwargs), status)


def test_login_failures_are_not_stored_in_the_session_table(app, client, alice):
    """A failed login opens no session; a successful one opens exactly one."""
    login(client, ALICE, "wrong password")
    with app.app_context():
        assert db.session.scalars(select(AuthSession)).all() == []
    session_token(client)
    with app.app_context():
        assert len(db.session.scalars(select(AuthSession)).all()) == 1
