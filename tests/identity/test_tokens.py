"""Long-life API tokens (API.md section 3): issue, use, limits and statuses."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from fairhub import db
from fairhub.identity.models import ApiToken, User
from fairhub.testing import assert_error, bearer

from tokens_support import (  # noqa: F401  (admin and manager are fixtures)
    add_role, admin, admin_view, call_me, created, from_now, grant, manager, my_tokens,
    parse_time, person, post_token, shown, token_body, update_row)


# Issuing and secrecy


def test_create_answers_201_with_the_secret_once(make_app, make_user, make_token):
    client = make_app({"TOKENS_MAX_LIFETIME_DAYS": 10}).test_client()
    owner = person(make_user, make_token, "data-manager")
    response = post_token(client, owner, valid_to=from_now(days=100).isoformat())
    assert response.status_code == 201, response.data
    body = response.get_json()
    assert body["secret"].startswith("fh_") and len(body["secret"]) >= 40
    assert body["status"] == "active" and body["use_count"] == 0
    assert body["last_used_at"] is None and body["last_used_ip"] is None
    assert abs(parse_time(body["valid_to"]) - from_now(days=10)) < timedelta(minutes=1)
    assert call_me(client, body["secret"]).get_json()["token_id"] == body["id"]
    assert body["secret"][3:] not in json.dumps(my_tokens(client, owner))


def test_create_stores_the_token_asked_for(client, manager):
    stored = created(client, manager, role="observer", single_use=True, reason="a script",
                     allowed_ips=["10.1.2.3/8", " 192.0.2.7 ", "2001:DB8::1"])
    assert stored["role"] == "observer" and stored["single_use"] is True
    assert stored["reason"] == "a script" and stored["status"] == "active"
    assert stored["owner"]["uuid"] == manager.uuid and stored["use_count"] == 0
    assert stored["allowed_ips"] == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128"]


def test_secret_is_never_shown_by_the_read_routes(app, client, manager, admin,
                                                  make_user, make_token):
    token = grant(app, manager)
    theirs = grant(app, person(make_user, make_token, "data-manager"))
    for path, headers in [("/api/tokens", manager.headers),
                          (f"/api/tokens/{token.id}", manager.headers),
                          ("/api/admin/tokens", admin.headers),
                          (f"/api/admin/tokens/{token.id}", admin.headers)]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert token.secret[3:] not in response.get_data(as_text=True), path
        body = response.get_json()
        for item in body.get("items", [body]):
            assert "secret" not in item and item["name"], path
    mine = {item["id"] for item in my_tokens(client, manager)}
    assert token.id in mine and theirs.id not in mine and len(mine) == 2  # with the fixture's


def test_only_a_hash_of_the_secret_is_stored(app, manager):
    token = grant(app, manager)
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM api_tokens WHERE id = :id"),
                                 {"id": token.id}).mappings().one()
    stored = json.dumps({key: str(value) for key, value in row.items()})
    # No column may hold the secret, nor any 24-character stretch of it.
    chunks = {token.secret[i:i + 24] for i in range(len(token.secret) - 23)}
    assert not [chunk for chunk in chunks if chunk in stored], sorted(row.keys())


def test_use_updates_last_used_and_count(app, client, manager, admin):
    token = grant(app, manager)
    assert admin_view(client, admin, token.id)["last_used_at"] is None
    assert call_me(client, token.secret, ip="192.0.2.10").status_code == 200
    assert call_me(client, token.secret, ip="192.0.2.11").status_code == 200
    view = admin_view(client, admin, token.id)
    assert view["use_count"] == 2 and view["last_used_ip"] == "192.0.2.11"
    assert abs(parse_time(view["last_used_at"]) - from_now()) < timedelta(minutes=1)
    assert [t["use_count"] for t in my_tokens(client, manager) if t["id"] == token.id] == [2]


# valid_to


def test_valid_to_forms_are_read_in_utc(client, manager):
    day = from_now(days=10).date().isoformat()
    today = datetime.now(timezone.utc).date().isoformat()
    for asked, stored in [(day, f"{day}T23:59:59.999Z"),
                          (today, f"{today}T23:59:59.999Z"),
                          (f"{day}T12:00:00+02:00", f"{day}T10:00:00.000Z")]:
        assert created(client, manager, valid_to=asked)["valid_to"] == stored, asked


def test_past_valid_to_is_422_saying_so(client, manager):
    yesterday = from_now(days=-1).date().isoformat()
    for past in [from_now(minutes=-1).isoformat(), "2000-01-01", yesterday]:
        error = assert_error(post_token(client, manager, valid_to=past), 422,
                             "validation_error", "future")
        assert "valid_to" in error["details"]["json"], past


@pytest.mark.parametrize("config, capped_days", [({}, 365),
                                                 ({"TOKENS_MAX_LIFETIME_DAYS": 10}, 10)])
def test_valid_to_beyond_the_maximum_lifetime_is_capped(make_app, make_user, make_token,
                                                        config, capped_days):
    client = make_app(config).test_client()
    owner = person(make_user, make_token, "data-manager")
    for asked in [from_now(days=capped_days + 100).isoformat(), "9999-12-31"]:
        stored = created(client, owner, valid_to=asked)
        assert abs(parse_time(stored["valid_to"]) - from_now(days=capped_days)) \
            < timedelta(minutes=1), asked


# Roles


def test_role_above_the_owner_is_refused_naming_permissions(client, manager):
    for role, needed in [("admin", "users/create"), ("data-steward", "tokens/manage")]:
        error = assert_error(post_token(client, manager, role=role), 403, "forbidden", role)
        assert needed in error["details"]["permissions"]
        assert "users/read" not in error["details"]["permissions"]  # the owner holds it
    assert len(my_tokens(client, manager)) == 1


def test_users_without_tokens_create_cannot_create_tokens(client, make_user, make_token):
    for role in ("standard", "observer"):
        caller = person(make_user, make_token, role)
        error = assert_error(post_token(client, caller, role=role), 403, "forbidden",
                             "tokens/create")
        assert error["details"]["missing_permissions"] == ["tokens/create"]


def test_token_with_a_narrower_role_has_only_that_role(app, client, manager):
    token = grant(app, manager, role="observer")
    assert client.get("/api/users", headers=manager.headers).status_code == 200
    assert_error(client.get("/api/users", headers=bearer(token.secret)), 403, "forbidden",
                 "users/read")
    assert call_me(client, token.secret).get_json()["permissions"] == []
    update_row(app, User, {"uuid": manager.uuid}, role="data-steward")
    assert call_me(client, token.secret).get_json()["permissions"] == []


def test_token_of_a_custom_role_gets_its_permissions(app, client, manager):
    add_role(app, "reader", ["users/read"])
    token = grant(app, manager, role="reader")
    assert call_me(client, token.secret).get_json()["permissions"] == ["users/read"]
    assert client.get("/api/users", headers=bearer(token.secret)).status_code == 200
    assert_error(client.post("/api/tokens", json=token_body(), headers=bearer(token.secret)),
                 403, "forbidden", "tokens/create")


def test_a_restricted_token_cannot_mint_a_broader_one(app, client, manager):
    add_role(app, "minter", ["tokens/create"])
    minter = grant(app, manager, role="minter")
    assert_error(client.get("/api/users", headers=bearer(minter.secret)), 403)
    response = client.post("/api/tokens", json=token_body(role="data-manager", name="minted"),
                           headers=bearer(minter.secret))
    assert [t for t in my_tokens(client, manager) if t["name"] == "minted"] == []
    error = assert_error(response, 403, "forbidden")
    assert "users/read" in error["details"]["permissions"]


# The owner's current rights


def test_demoting_the_owner_through_the_api_cuts_the_token_at_once(app, client, manager, admin):
    token = grant(app, manager)
    assert client.get("/api/users", headers=bearer(token.secret)).status_code == 200
    demoted = client.patch(f"/api/users/{manager.uuid}", json={"role": "observer"},
                           headers=admin.headers)
    assert demoted.status_code == 200, demoted.data
    assert_error(client.get("/api/users", headers=bearer(token.secret)), 403, "forbidden",
                 "users/read")
    assert call_me(client, token.secret).get_json()["permissions"] == []


def test_demoting_the_owner_in_the_database_cuts_the_token_at_once(app, client, manager):
    token = grant(app, manager)
    assert "tokens/create" in call_me(client, token.secret).get_json()["permissions"]
    update_row(app, User, {"uuid": manager.uuid}, role="standard")
    response = client.post("/api/tokens", json=token_body(role="standard"),
                           headers=bearer(token.secret))
    assert_error(response, 403, "forbidden", "tokens/create")
    assert_error(client.get("/api/users", headers=bearer(token.secret)), 403)


def test_archiving_the_owner_stops_the_token_at_once(app, client, manager, admin):
    token = grant(app, manager)
    archived = client.post(f"/api/users/{manager.uuid}/archive",
                           json={"reason": "left the lab"}, headers=admin.headers)
    assert archived.status_code == 200, archived.data
    assert_error(call_me(client, token.secret), 401, "unauthorized", "archived")
    assert admin_view(client, admin, token.id)["status"] == "active"  # tokens kept, refused


def test_archiving_with_expire_tokens_expires_them(app, client, manager, admin):
    token = grant(app, manager)
    archived = client.post(f"/api/users/{manager.uuid}/archive",
                           json={"reason": "left", "expire_tokens": True}, headers=admin.headers)
    assert archived.status_code == 200, archived.data
    assert admin_view(client, admin, token.id)["status"] == "expired"
    assert_error(call_me(client, token.secret), 401, "unauthorized", "expired")


def test_unapproving_the_owner_stops_the_token_until_approved(app, client, manager, admin):
    token = grant(app, manager)
    response = client.post(f"/api/users/{manager.uuid}/unapprove", headers=admin.headers)
    assert response.status_code == 200, response.data
    assert_error(call_me(client, token.secret), 401, "unauthorized", "not approved")
    client.post(f"/api/users/{manager.uuid}/approve", headers=admin.headers)
    assert call_me(client, token.secret).status_code == 200


# Statuses


def test_expired_token_is_401_expired(app, client, manager, admin):
    token = grant(app, manager)
    update_row(app, ApiToken, {"id": token.id}, valid_to=from_now(seconds=-1))
    response = call_me(client, token.secret)
    assert_error(response, 401, "unauthorized", "expired")
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert admin_view(client, admin, token.id)["status"] == "expired"


def test_deactivated_token_is_401_until_reactivated(app, client, manager, admin):
    token = grant(app, manager)
    response = client.post(f"/api/admin/tokens/{token.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "inactive"
    assert_error(call_me(client, token.secret), 401, "unauthorized", "deactivated")
    mine = client.get(f"/api/tokens/{token.id}", headers=manager.headers).get_json()
    assert mine["status"] == "inactive"
    response = client.post(f"/api/admin/tokens/{token.id}/reactivate", headers=admin.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    assert call_me(client, token.secret).status_code == 200


def test_expired_by_an_admin_is_401_and_final(app, client, manager, admin):
    token = grant(app, manager)
    response = client.post(f"/api/admin/tokens/{token.id}/expire", headers=admin.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "expired"
    assert_error(call_me(client, token.secret), 401, "unauthorized", "expired")
    for action in ("reactivate", "deactivate", "expire"):
        response = client.post(f"/api/admin/tokens/{token.id}/{action}", headers=admin.headers)
        assert_error(response, 409, "conflict", "expired")
    assert_error(call_me(client, token.secret), 401, "unauthorized", "expired")


def test_revoked_by_the_owner_is_401_revoked(app, client, manager, admin):
    token, itself = grant(app, manager), grant(app, manager)
    response = client.delete(f"/api/tokens/{token.id}", headers=manager.headers)
    assert response.status_code == 204 and response.data == b""
    assert_error(call_me(client, token.secret), 401, "unauthorized", "revoked")
    assert admin_view(client, admin, token.id)["status"] == "revoked"
    assert_error(client.delete(f"/api/tokens/{token.id}", headers=manager.headers), 409)
    reactivated = client.post(f"/api/admin/tokens/{token.id}/reactivate", headers=admin.headers)
    assert_error(reactivated, 409, "conflict", "revoked")
    assert client.delete(f"/api/tokens/{itself.id}", headers=bearer(itself.secret)).status_code \
        == 204
    assert_error(call_me(client, itself.secret), 401, "unauthorized", "revoked")


def test_someone_elses_token_is_404_to_me(app, client, manager, make_user, make_token):
    theirs = grant(app, person(make_user, make_token, "data-manager"))
    assert_error(client.delete(f"/api/tokens/{theirs.id}", headers=manager.headers), 404,
                 "not_found", str(theirs.id))
    assert_error(client.get(f"/api/tokens/{theirs.id}", headers=manager.headers), 404)
    assert call_me(client, theirs.secret).status_code == 200


def test_unknown_and_tampered_tokens_are_401(app, client, manager):
    token = grant(app, manager)
    tampered = token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")
    for credentials in [tampered, "fh_" + "0" * 16 + "x" * 43, "fh_", "fh_short",
                        "fh_" + "é" * 20, "fh_" + "a" * 5000]:
        error = assert_error(call_me(client, credentials), 401, "unauthorized", "not valid")
        assert credentials not in error["message"]
    assert call_me(client, token.secret).status_code == 200


def test_missing_or_non_bearer_credentials_are_401(app, client, manager):
    token = grant(app, manager)
    for headers in [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer   "}, {"Authorization": f"Token {token.secret}"},
                    {"Authorization": token.secret}]:
        response = client.get("/api/tokens", headers=headers)
        assert_error(response, 401, "unauthorized", "Bearer")
        assert "Bearer" in response.headers["WWW-Authenticate"], headers


# Single use


def test_single_use_token_works_once(app, client, manager, admin):
    token = grant(app, manager, single_use=True)
    assert call_me(client, token.secret).status_code == 200
    assert_error(call_me(client, token.secret), 401, "unauthorized", "already been used")
    view = admin_view(client, admin, token.id)
    assert view["status"] == "used" and view["use_count"] == 1
    used = client.get("/api/admin/tokens", query_string={"status": "used"}, headers=admin.headers)
    assert [t["id"] for t in used.get_json()["items"]] == [token.id]


def test_single_use_token_is_consumed_once_under_concurrent_uses(app, manager):
    token = grant(app, manager, single_use=True)
    barrier, statuses = threading.Barrier(6), []

    def use() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(call_me(client, token.secret).status_code)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]


# Allowed addresses


@pytest.mark.parametrize("allowed, inside, outside", [
    ("192.0.2.7", ["192.0.2.7", "::ffff:192.0.2.7"], ["192.0.2.8", "::ffff:192.0.2.8"]),
    ("10.0.0.0/8", ["10.20.30.40", "::ffff:10.0.0.1"], ["11.0.0.1", "::1"]),
    ("2001:db8::1", ["2001:db8::1"], ["2001:db8::2", "192.0.2.1"]),
    ("2001:db8::/32", ["2001:db8:abcd::5"], ["2001:db9::1", "10.0.0.1"]),
])
def test_allowed_ips_admit_only_their_range(app, client, manager, allowed, inside, outside):
    token = grant(app, manager, allowed_ips=[allowed])
    for peer in inside:
        assert call_me(client, token.secret, ip=peer).status_code == 200, peer
    for peer in outside:
        error = assert_error(call_me(client, token.secret, ip=peer), 401, "unauthorized")
        assert shown(peer) in error["message"], peer


def test_invalid_allowed_ips_are_422_naming_each_index(client, manager):
    asked = ["10.0.0.1", "10.0.0.0/33", "2001:db8::/48", "300.1.1.1", "2001:db8::/129",
             "nonsense", "", "10.0.0.1/abc", "10.0.0.0/8/8"]
    error = assert_error(post_token(client, manager, allowed_ips=asked), 422,
                         "validation_error")
    assert sorted(error["details"]["json"]["allowed_ips"], key=int) == \
        ["1", "3", "4", "5", "6", "7", "8"]
    assert "10.0.0.0/33" in json.dumps(error["details"])


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(app, client, manager):
    token = grant(app, manager, allowed_ips=["10.0.0.0/8"])
    response = call_me(client, token.secret, ip="192.0.2.1",
                       headers={"X-Forwarded-For": "10.0.0.1"})
    assert "192.0.2.1" in assert_error(response, 401, "unauthorized")["message"]


def test_trusted_proxy_forwarded_for_is_the_client_address(app, make_app, manager, admin):
    client = make_app({"TRUSTED_PROXIES": 1}).test_client()
    token = grant(app, manager, allowed_ips=["10.0.0.0/8"])
    through_proxy = call_me(client, token.secret, ip="127.0.0.1",
                            headers={"X-Forwarded-For": "10.0.0.7"})
    assert through_proxy.status_code == 200, through_proxy.data
    assert admin_view(client, admin, token.id)["last_used_ip"] == "10.0.0.7"
    forged = call_me(client, token.secret, ip="127.0.0.1",
                     headers={"X-Forwarded-For": "10.0.0.1, 192.0.2.1"})
    assert "192.0.2.1" in assert_error(forged, 401, "unauthorized")["message"]
    # Without the header the socket peer (the proxy itself) is the client.
    assert_error(call_me(client, token.secret, ip="127.0.0.1"), 401, "unauthorized", "127.0.0.1")
