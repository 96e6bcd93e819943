"""The audit log (API spec section 4): GET /api/audit, and events written in their
action's transaction."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from fairhub.testing import assert_error, bearer
from sample_plugin import SAMPLE

from sessions_support import (  # noqa: F401  (admin is a fixture)
    ProbePlugin, admin, audit, iso, login)


# GET /api/audit


def test_audit_needs_a_token_and_the_audit_read_permission(client, auth_headers, admin):
    assert_error(client.get("/api/audit"), 401, "unauthorized")
    error = assert_error(client.get("/api/audit", headers=auth_headers("data-manager")), 403,
                         "forbidden")
    assert "audit/read" in error["message"]
    assert client.get("/api/audit", headers=admin).status_code == 200


@pytest.fixture
def audit_story(client, make_user, make_token):
    """An admin (with a known token) creates and approves carol; someone fails a login."""
    admin_uuid = make_user("admin", email="root@example.org")
    headers = bearer(make_token(admin_uuid))
    token_id = client.get("/api/user", headers=headers).get_json()["token_id"]
    created = client.post("/api/users", headers=headers,
                          json={"email": "carol@example.org", "role": "observer"})
    assert created.status_code == 201, created.data
    carol = created.get_json()["uuid"]
    assert client.post(f"/api/users/{carol}/approve", headers=headers).status_code == 200
    assert_error(login(client, "nobody@example.org"), 401)
    return {"headers": headers, "admin": admin_uuid, "token_id": token_id, "carol": carol}


def test_audit_filters_by_type_action_and_target(client, audit_story):
    headers, carol = audit_story["headers"], audit_story["carol"]
    users = audit(client, headers, type="user")
    assert users and {e["type"] for e in users} == {"user"}
    approvals = audit(client, headers, action="approve")
    assert [(e["type"], e["target"]["code"]) for e in approvals] == [("user", carol)]
    about_carol = audit(client, headers, target_type="user", target_code=carol)
    assert [e["action"] for e in about_carol] == ["approve", "create"]
    assert [e["action"] for e in audit(client, headers, type="auth")] == ["login_failed"]
    assert audit(client, headers, target_type="group") == []


def test_audit_filters_by_actor_uuid_or_email_and_by_token(client, audit_story):
    headers, carol = audit_story["headers"], audit_story["carol"]
    by_uuid = audit(client, headers, actor=audit_story["admin"])
    assert [(e["action"], e["target"]["code"]) for e in by_uuid] == [("approve", carol),
                                                                     ("create", carol)]
    assert all(e["actor"] == {"uuid": audit_story["admin"], "email": "root@example.org"}
               for e in by_uuid)
    assert audit(client, headers, actor="Root@Example.org") == by_uuid
    by_token = audit(client, headers, token_id=audit_story["token_id"])
    assert [e["id"] for e in by_token] == [e["id"] for e in by_uuid]
    assert all(e["token_id"] == audit_story["token_id"] for e in by_token)
    assert audit(client, headers, actor="nobody@example.org") == []


def test_audit_is_newest_first_and_paged(client, audit_story):
    headers = audit_story["headers"]
    everything = audit(client, headers)
    ids = [e["id"] for e in everything]
    assert len(ids) >= 5 and ids == sorted(ids, reverse=True)
    times = [e["created_at"] for e in everything]
    assert times == sorted(times, reverse=True)
    pages = [client.get("/api/audit", headers=headers,
                        query_string={"page": page, "page_size": 2}).get_json()
             for page in (1, 2, 3)]
    assert all(p["paging"]["total"] == len(ids) and p["paging"]["page_size"] == 2 for p in pages)
    assert [e["id"] for p in pages for e in p["items"]] == ids[:6]


def test_audit_filters_by_time_range(client, admin):
    login(client, "before@example.org")
    time.sleep(0.05)
    boundary = datetime.now(timezone.utc)
    time.sleep(0.05)
    login(client, "after@example.org")

    def emails(**query):
        return [e["target"]["code"] for e in audit(client, admin, type="auth", **query)]

    assert emails() == ["after@example.org", "before@example.org"]
    assert emails(since=iso(boundary)) == ["after@example.org"]
    assert emails(until=iso(boundary)) == ["before@example.org"]
    in_paris = boundary.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert emails(since=in_paris) == ["after@example.org"]
    assert emails(since=iso(boundary - timedelta(hours=1)), until=iso(boundary)) == [
        "before@example.org"]
    assert emails(since=iso(boundary + timedelta(hours=1))) == []


@pytest.mark.parametrize("query, field", [
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-45T00:00:00Z"}, "until"),
    ({"token_id": "abc"}, "token_id"),
    ({"page": "0"}, "page"),
    ({"actor_email": "x@example.org"}, "actor_email"),
])
def test_invalid_audit_query_is_422(client, admin, query, field):
    error = assert_error(client.get("/api/audit", headers=admin, query_string=query), 422,
                         "validation_error")
    assert field in error["details"]["query"]


# Audit in the action's transaction


def test_failed_user_creation_leaves_no_audit_row(client, admin):
    body = {"email": "dave@example.org", "role": "observer"}
    assert client.post("/api/users", json=body, headers=admin).status_code == 201
    duplicate = client.post("/api/users", json={**body, "email": "DAVE@example.org"},
                            headers=admin)
    assert_error(duplicate, 409, "conflict")
    creations = [e for e in audit(client, admin, type="user", action="create")
                 if e["details"].get("email") == "dave@example.org"]
    assert len(creations) == 1


def test_event_of_an_action_that_fails_is_rolled_back_with_it(make_app, admin):
    client = make_app(plugins=[SAMPLE, ProbePlugin()]).test_client()
    assert client.post("/api/probe/ok", headers=admin).status_code == 204
    assert_error(client.post("/api/probe/fail", headers=admin), 409, "conflict")
    assert [e["action"] for e in audit(client, admin, type="probe")] == ["ok"]
