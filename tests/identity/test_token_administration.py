"""Long-life API tokens (API.md section 3): their administration, and bad input."""
from __future__ import annotations

import json

import pytest

from fairhub.identity.service import users
from fairhub.testing import assert_error

from tokens_support import (  # noqa: F401  (admin and manager are fixtures)
    BAD_IDS, MISSING, admin, call_me, grant, manager, my_tokens, person, post_token)


# Administration


def test_admin_search_by_owner_name_and_status(app, client, admin, make_user, make_token):
    one = person(make_user, make_token, "data-manager")
    two = person(make_user, make_token, "data-manager")
    with app.app_context():
        one_email = users.get_user(one.uuid).email
    pct, plain = grant(app, one, name="100% sure"), grant(app, one, name="100 percent")
    under, other = grant(app, two, name="a_b"), grant(app, two, name="axb")

    def ids(**query) -> list[int]:
        response = client.get("/api/admin/tokens", query_string=query, headers=admin.headers)
        assert response.status_code == 200, response.data
        body = response.get_json()
        assert body["paging"]["total"] == len(body["items"])
        return sorted(item["id"] for item in body["items"])

    assert ids(name="100%") == [pct.id]
    assert ids(name="a_b") == [under.id]
    assert ids(name="PERCENT") == [plain.id]
    assert ids(name="no match") == []
    one_ids = ids(owner=one.uuid)
    assert len(one_ids) == 3 and {pct.id, plain.id} < set(one_ids)  # and the fixture's
    assert ids(owner=one_email.upper()) == one_ids
    assert ids(owner=two.uuid, name="x") == [other.id]
    assert ids(owner="nobody@example.org") == []
    client.delete(f"/api/tokens/{other.id}", headers=two.headers)
    assert ids(status="revoked") == [other.id]
    assert other.id not in ids(status="active") and under.id in ids(status="active")


def test_data_managers_cannot_administer_tokens(app, client, manager):
    token = grant(app, manager)
    assert_error(client.get("/api/admin/tokens", headers=manager.headers), 403, "forbidden",
                 "tokens/manage")
    for action in ("deactivate", "reactivate", "expire"):
        response = client.post(f"/api/admin/tokens/{token.id}/{action}", headers=manager.headers)
        assert_error(response, 403, "forbidden", "tokens/manage")
    assert call_me(client, token.secret).status_code == 200


def test_audit_log_records_token_events_without_secrets(app, client, manager, admin):
    kept = grant(app, manager, allowed_ips=["10.0.0.0/8"])
    revoked = grant(app, manager)
    assert call_me(client, kept.secret, ip="192.0.2.1").status_code == 401  # reject
    client.post(f"/api/admin/tokens/{kept.id}/deactivate", headers=admin.headers)
    assert call_me(client, kept.secret, ip="10.0.0.1").status_code == 401  # reject
    client.post(f"/api/admin/tokens/{kept.id}/reactivate", headers=admin.headers)
    client.post(f"/api/admin/tokens/{kept.id}/expire", headers=admin.headers)
    client.delete(f"/api/tokens/{revoked.id}", headers=manager.headers)
    post_token(client, manager, name="through the route")
    response = client.get("/api/audit", query_string={"type": "token", "page_size": 200},
                          headers=admin.headers)
    assert response.status_code == 200, response.data
    by_action: dict[str, list] = {}
    for event in response.get_json()["items"]:
        assert event["type"] == "token"
        by_action.setdefault(event["action"], []).append(event)
    assert {"create", "revoke", "deactivate", "reactivate", "expire", "reject"} <= set(by_action)
    assert {e["target"]["code"] for e in by_action["create"]} >= {str(kept.id), str(revoked.id)}
    assert [e["actor"]["uuid"] for e in by_action["create"]
            if e["details"]["name"] == "through the route"] == [manager.uuid]
    assert [e["target"]["code"] for e in by_action["revoke"]] == [str(revoked.id)]
    assert [e["actor"]["uuid"] for e in by_action["expire"]] == [admin.uuid]
    rejects = by_action["reject"]
    assert {e["target"]["code"] for e in rejects} == {str(kept.id)}
    assert sorted(e["ip"] for e in rejects) == ["10.0.0.1", "192.0.2.1"]
    assert any("192.0.2.1" in json.dumps(e["details"]) for e in rejects)
    assert any("deactivated" in json.dumps(e["details"]) for e in rejects)
    dumped = response.get_data(as_text=True)
    for secret in (kept.secret, revoked.secret):
        assert secret[3:] not in dumped and secret[-20:] not in dumped


# Bad input


@pytest.mark.parametrize("field, bad_overrides", [
    ("name", [{"name": MISSING}, {"name": 12}, {"name": ""}, {"name": None},
              {"name": "x" * 101}]),
    ("reason", [{"reason": MISSING}, {"reason": ""}, {"reason": "x" * 1001},
                {"reason": ["why"]}]),
    ("role", [{"role": MISSING}, {"role": 5}, {"role": None}, {"role": "Admin!"},
              {"role": "no-such-role"}]),
    ("single_use", [{"single_use": "yes"}, {"single_use": 1}, {"single_use": None},
                    {"single_use": "true"}]),
    ("allowed_ips", [{"allowed_ips": "10.0.0.1"}, {"allowed_ips": [1]},
                     {"allowed_ips": None}, {"allowed_ips": {"0": "10.0.0.1"}},
                     {"allowed_ips": [f"10.0.0.{i}" for i in range(51)]},
                     {"allowed_ips": ["1" * 65]}]),
    ("valid_to", [{"valid_to": MISSING}, {"valid_to": "tomorrow"}, {"valid_to": "2030-02-30"},
                  {"valid_to": 1893456000}, {"valid_to": None}, {"valid_to": ["2030-01-01"]}]),
    ("unknown", [{"owner": "someone@example.org"}, {"secret": "fh_mine"},
                 {"status": "active"}, {"id": 5}]),
])
def test_bad_token_bodies_are_422_naming_the_field(client, manager, field, bad_overrides):
    for overrides in bad_overrides:
        error = assert_error(post_token(client, manager, **overrides), 422,
                             "validation_error")
        named = list(overrides) if field == "unknown" else [field]
        assert set(named) <= set(error["details"]["json"]), (overrides, error)
    assert len(my_tokens(client, manager)) == 1  # nothing was created


def test_valid_to_at_the_datetime_limits_is_422(client, manager):
    for valid_to in ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]:
        error = assert_error(post_token(client, manager, valid_to=valid_to), 422,
                             "validation_error")
        assert "valid_to" in error["details"]["json"]


def test_malformed_token_requests_are_4xx(client, manager):
    for kwargs, status in [({"data": "{not json", "content_type": "application/json"}, 400),
                           ({"data": "name=x",
                             "content_type": "application/x-www-form-urlencoded"}, 415),
                           ({}, 422), ({"json": []}, 422), ({"json": "a token please"}, 422)]:
        response = client.post("/api/tokens", headers=manager.headers, **kwargs)
        assert_error(response, status)


@pytest.mark.parametrize("method, template", [
    ("GET", "/api/tokens/{}"),
    ("DELETE", "/api/tokens/{}"),
    ("GET", "/api/admin/tokens/{}"),
    ("POST", "/api/admin/tokens/{}/deactivate"),
    ("POST", "/api/admin/tokens/{}/reactivate"),
    ("POST", "/api/admin/tokens/{}/expire"),
])
def test_bad_or_unknown_token_ids_in_urls_are_404(client, admin, method, template):
    for bad in BAD_IDS:
        path = template.format(bad)
        assert_error(client.open(path, method=method, headers=admin.headers), 404, "not_found")


def test_unsupported_methods_are_405(client, admin):
    for method, path in [("PATCH", "/api/tokens/1"), ("PUT", "/api/tokens"),
                         ("DELETE", "/api/admin/tokens/1"), ("GET", "/api/admin/tokens/1/expire")]:
        response = client.open(path, method=method, headers=admin.headers)
        assert_error(response, 405, "method_not_allowed", method)


@pytest.mark.parametrize("path, bad_queries", [
    ("/api/admin/tokens", [{"status": "bogus"}, {"owner": "x" * 255}, {"name": "x" * 101},
                           {"page": "0"}, {"page_size": "abc"}, {"secret": "fh_x"}]),
    ("/api/tokens", [{"page": "-1"}, {"page_size": "0"}, {"owner": "someone"}]),
])
def test_bad_token_queries_are_422_naming_the_parameter(client, admin, path, bad_queries):
    for query in bad_queries:
        response = client.get(path, query_string=query, headers=admin.headers)
        error = assert_error(response, 422, "validation_error")
        assert set(query) <= set(error["details"]["query"]), (query, error)
