"""Spec section 2: users, the caller (/api/user), groups, roles, permissions and their audit."""
from __future__ import annotations

import json
import re
import uuid as uuid_module
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fairhub.testing import assert_error, bearer

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
USER_KEYS = {"uuid", "email", "first_name", "last_name", "role", "approved", "archived",
             "archived_reason", "searchable", "groups", "created_at", "updated_at"}
MANAGED = ["guest", "observer", "standard", "data-manager", "data-steward", "admin", "archived"]
# The sample plugin gives notes/create to `standard`, which data managers hold too.
DATA_MANAGER_PERMISSIONS = ["groups/read", "notes/create", "tokens/create", "users/read"]




def login(client, email: str, password: str = PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def session_headers(client, email: str, password: str = PASSWORD) -> dict:
    response = login(client, email, password)
    assert response.status_code == 200, response.get_data(as_text=True)
    return bearer(response.get_json()["access_token"])


def emails(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["email"] for item in response.get_json()["items"]]


def token_status(client, admin, owner_email: str) -> list[str]:
    response = client.get("/api/admin/tokens", query_string={"owner": owner_email},
                          headers=admin.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [token["status"] for token in response.get_json()["items"]]


def audit(client, headers, **filters) -> list[dict]:
    response = client.get("/api/audit", query_string={"page_size": 200, **filters},
                          headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def seed_user(app, role: str, **fields) -> SimpleNamespace:
    """A user with a token of their role, on any app (no actor: no limits).

    Give ``password=PASSWORD`` only to users who log in: hashing is deliberately slow.
    """
    from fairhub import db, utcnow
    from fairhub.identity.service import tokens, users

    email = fields.pop("email", f"{role}-{uuid_module.uuid4().hex[:8]}@example.org")
    with app.app_context():
        user = users.create_user({"email": email, "role": role, "approved": True, **fields},
                                 None)
        db.session.flush()
        _token, secret = tokens.issue_token(user, name="t", role=role, reason="testing",
                                            valid_to=utcnow() + timedelta(days=30))
        db.session.commit()
        return SimpleNamespace(uuid=user.uuid, email=email, headers=bearer(secret))


@pytest.fixture
def person(app):
    """``person(role, **fields)``: a user with a token of their role (see ``seed_user``)."""
    return lambda role="standard", **fields: seed_user(app, role, **fields)


@pytest.fixture
def admin(person):
    return person("admin", email="boss@example.org")


@pytest.fixture
def steward(person):
    return person("data-steward", email="steward@example.org")


def create_user(client, headers, **body):
    body.setdefault("email", f"u-{uuid_module.uuid4().hex[:8]}@example.org")
    body.setdefault("role", "observer")
    return client.post("/api/users", json=body, headers=headers)


def create_role(client, headers, code: str, based_on: str, **body):
    return client.post("/api/roles", json={"code": code, "name": code.title(),
                                           "based_on": based_on, **body}, headers=headers)


def create_group(client, headers, code="lab", **body):
    return client.post("/api/groups", json={"code": code, "name": f"The {code}", **body},
                       headers=headers)


def member_emails(group: dict) -> list[str]:
    return [member["email"] for member in group["members"]]


def role_detail(client, headers, code: str) -> dict:
    response = client.get(f"/api/roles/{code}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def all_permissions(client, headers) -> list[str]:
    response = client.get("/api/permissions", headers=headers)
    assert response.status_code == 200
    return [p["name"] for p in response.get_json()["items"]]


def password_hash(app, uuid: str) -> str | None:
    from fairhub.identity.service import users

    with app.app_context():
        return users.get_user(uuid).password_hash


# Users: creation


def test_create_user_answers_201_with_every_documented_key(client, admin):
    response = create_user(client, admin.headers, email="Ada.Lovelace@Example.ORG",
                           first_name="Ada", last_name="Lovelace", role="observer")
    assert response.status_code == 201, response.get_data(as_text=True)
    user = response.get_json()
    assert set(user) == USER_KEYS
    assert user["email"] == "ada.lovelace@example.org"
    assert (user["first_name"], user["last_name"], user["role"]) == ("Ada", "Lovelace", "observer")
    assert (user["approved"], user["archived"], user["archived_reason"]) == (False, False, None)
    assert user["searchable"] is True and user["groups"] == []
    assert TIME.match(user["created_at"]) and TIME.match(user["updated_at"])
    assert uuid_module.UUID(user["uuid"])
    fetched = client.get(f"/api/users/{user['uuid']}", headers=admin.headers)
    assert fetched.status_code == 200 and fetched.get_json() == user


def test_email_is_unique_ignoring_case(client, admin):
    assert create_user(client, admin.headers, email="dup@example.org").status_code == 201
    error = assert_error(create_user(client, admin.headers, email="DUP@Example.org"), 409,
                         "conflict")
    assert "dup@example.org" in error["message"]
    listed = client.get("/api/users", query_string={"q": "dup@"}, headers=admin.headers)
    assert emails(listed) == ["dup@example.org"]


def test_new_users_are_approved_when_auto_approve_is_on(make_app):
    app = make_app({"USERS_AUTO_APPROVE": True})
    boss = seed_user(app, "admin")
    response = create_user(app.test_client(), boss.headers)
    assert response.status_code == 201
    assert response.get_json()["approved"] is True


def test_new_users_are_unapproved_and_unset_names_null_by_default(client, admin):
    user = create_user(client, admin.headers).get_json()
    assert user["approved"] is False
    assert user["first_name"] is None and user["last_name"] is None


def test_admin_can_create_user_with_the_default_role(client, admin):
    """The everyday managed roles are the admin's to give, data permissions and all."""
    response = client.post("/api/users", json={"email": "plain@example.org"},
                           headers=admin.headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["role"] == "standard"


def test_creating_user_with_role_beyond_the_caller_is_403(client, admin, steward):
    create_role(client, steward.headers, "note-taker", "standard")
    for role in ("data-steward", "note-taker"):
        error = assert_error(create_user(client, admin.headers, role=role), 403, "forbidden",
                             "permissions you do not hold")
        assert "notes/create" in error["details"]["permissions"]
    assert emails(client.get("/api/users", headers=admin.headers)) == [
        "boss@example.org", "steward@example.org"]


def test_creating_an_approved_user_needs_users_approve(client, steward, person):
    assert create_role(client, steward.headers, "registrar", "observer",
                       permissions=["users/create", "users/read"]).status_code == 201
    registrar = person("registrar")
    assert_error(create_user(client, registrar.headers, approved=True), 403, "forbidden",
                 "users/approve")
    assert create_user(client, registrar.headers).status_code == 201


# Users: approval and archiving


def test_unapproved_user_can_neither_log_in_nor_use_a_token(client, person):
    waiting = person("observer", approved=False, password=PASSWORD)
    assert_error(login(client, waiting.email), 401, "unauthorized", "waiting for approval")
    assert_error(client.get("/api/user", headers=waiting.headers), 401, "unauthorized",
                 "not approved")


def test_approve_lets_user_in_and_unapprove_shuts_them_out(client, admin, person):
    user = person("observer", approved=False, password=PASSWORD)
    approved = client.post(f"/api/users/{user.uuid}/approve", headers=admin.headers)
    assert approved.status_code == 200 and approved.get_json()["approved"] is True
    session = session_headers(client, user.email)
    assert client.get("/api/user", headers=session).status_code == 200
    assert client.get("/api/user", headers=user.headers).status_code == 200

    unapproved = client.post(f"/api/users/{user.uuid}/unapprove", headers=admin.headers)
    assert unapproved.status_code == 200 and unapproved.get_json()["approved"] is False
    assert_error(client.get("/api/user", headers=session), 401, message="not approved")
    assert_error(client.get("/api/user", headers=user.headers), 401, message="not approved")
    assert_error(login(client, user.email), 401, message="waiting for approval")


def test_approving_needs_users_approve(client, person):
    manager, user = person("data-manager"), person("observer", approved=False)
    assert_error(client.post(f"/api/users/{user.uuid}/approve", headers=manager.headers), 403,
                 "forbidden", "users/approve")


def test_archive_with_reason_blocks_login_and_tokens(client, admin, person):
    user = person("observer", password=PASSWORD)
    response = client.post(f"/api/users/{user.uuid}/archive", headers=admin.headers,
                           json={"reason": "Left the project"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["archived"] is True and body["archived_reason"] == "Left the project"
    assert_error(login(client, user.email), 401, "unauthorized", "archived")
    assert_error(client.get("/api/user", headers=user.headers), 401, "unauthorized",
                 "owner is archived")
    assert token_status(client, admin, user.email) == ["active"]


def test_archive_with_expire_tokens_expires_them(client, admin, person, make_token):
    user = person("observer")
    make_token(user.uuid, name="second")
    response = client.post(f"/api/users/{user.uuid}/archive", headers=admin.headers,
                           json={"reason": "Compromised laptop", "expire_tokens": True})
    assert response.status_code == 200
    assert token_status(client, admin, user.email) == ["expired", "expired"]
    assert_error(client.get("/api/user", headers=user.headers), 401, message="expired")


def test_archiving_yourself_is_409(client, admin):
    assert_error(client.post(f"/api/users/{admin.uuid}/archive", headers=admin.headers,
                             json={"reason": "bored"}), 409, "conflict", "yourself")
    assert client.get("/api/user", headers=admin.headers).get_json()["archived"] is False


def test_archiving_twice_and_approving_an_archived_user_are_409(client, admin, person):
    user = person("observer")
    path = f"/api/users/{user.uuid}"
    assert client.post(f"{path}/archive", headers=admin.headers,
                       json={"reason": "gone"}).status_code == 200
    assert_error(client.post(f"{path}/archive", headers=admin.headers, json={"reason": "again"}),
                 409, "conflict", "already archived")
    assert_error(client.post(f"{path}/approve", headers=admin.headers), 409, "conflict",
                 "restore them first")


def test_restore_brings_user_back_unapproved(client, admin, person):
    user = person("observer", password=PASSWORD)
    path = f"/api/users/{user.uuid}"
    client.post(f"{path}/archive", headers=admin.headers, json={"reason": "sabbatical"})
    restored = client.post(f"{path}/restore", headers=admin.headers)
    assert restored.status_code == 200
    body = restored.get_json()
    assert (body["archived"], body["archived_reason"], body["approved"]) == (False, None, False)
    assert_error(login(client, user.email), 401, message="waiting for approval")
    assert_error(client.post(f"{path}/restore", headers=admin.headers), 409, "conflict",
                 "not archived")
    client.post(f"{path}/approve", headers=admin.headers)
    assert client.get("/api/user", headers=user.headers).status_code == 200


def test_user_actions_on_unknown_user_are_404(client, admin):
    for action in ("approve", "unapprove", "restore"):
        assert_error(client.post(f"/api/users/nobody/{action}", headers=admin.headers), 404,
                     "not_found", "'nobody'")
    assert_error(client.get("/api/users/nobody", headers=admin.headers), 404, "not_found")
    assert_error(client.patch("/api/users/nobody", json={"first_name": "X"},
                              headers=admin.headers), 404, "not_found")


# Users: search


@pytest.fixture
def crowd(person):
    """Users to search among."""
    return {
        "ada": person("observer", email="ada@example.org", first_name="Ada",
                      last_name="Lovelace"),
        "alan": person("data-manager", email="alan.turing@example.org", first_name="Alan",
                       last_name="Turing"),
        "grace": person("observer", email="grace@navy.example.org", first_name="Grace",
                        last_name="Hopper", approved=False),
        "percent": person("observer", email="percent@example.org", first_name="100%"),
        "thousand": person("observer", email="thousand@example.org", first_name="1000"),
        "under": person("observer", email="a_b@example.org"),
        "axb": person("observer", email="axb@example.org"),
    }


SEARCHES = [
    ("lovelace", ["ada@example.org"]),
    ("TURING", ["alan.turing@example.org"]),
    ("navy", ["grace@navy.example.org"]),
    ("Gra", ["grace@navy.example.org"]),
    ("100%", ["percent@example.org"]),
    ("a_b", ["a_b@example.org"]),
    ("%", ["percent@example.org"]),
    ("_", ["a_b@example.org"]),
    ("nobody-matches", []),
]


def test_search_users_by_name_or_email_with_literal_wildcards(client, admin, crowd):
    for q, expected in SEARCHES:
        response = client.get("/api/users", query_string={"q": q}, headers=admin.headers)
        assert emails(response) == expected, q


def test_filter_users_by_role_approved_and_archived(client, admin, crowd):
    client.post(f"/api/users/{crowd['axb'].uuid}/archive", headers=admin.headers,
                json={"reason": "gone"})
    by_role = client.get("/api/users", query_string={"role": "data-manager"},
                         headers=admin.headers)
    assert emails(by_role) == ["alan.turing@example.org"]
    unapproved = client.get("/api/users", query_string={"approved": "false"},
                            headers=admin.headers)
    assert emails(unapproved) == ["grace@navy.example.org"]
    archived = client.get("/api/users", query_string={"archived": "true"}, headers=admin.headers)
    assert emails(archived) == ["axb@example.org"]
    both = client.get("/api/users", query_string={"role": "observer", "approved": "true",
                                                  "archived": "false", "q": "example.org"},
                      headers=admin.headers)
    assert emails(both) == ["a_b@example.org", "ada@example.org", "percent@example.org",
                            "thousand@example.org"]


def test_list_users_pages(client, admin, crowd):
    everyone = emails(client.get("/api/users", headers=admin.headers))
    assert everyone == sorted(everyone) and len(everyone) == 8
    page = client.get("/api/users", query_string={"page": 2, "page_size": 3},
                      headers=admin.headers)
    assert emails(page) == everyone[3:6]
    assert page.get_json()["paging"] == {"total": 8, "page": 2, "page_size": 3}
    beyond = client.get("/api/users", query_string={"page": 9, "page_size": 3},
                        headers=admin.headers)
    assert emails(beyond) == [] and beyond.get_json()["paging"]["total"] == 8
    capped = client.get("/api/users/", query_string={"page_size": 100_000},
                        headers=admin.headers)
    assert emails(capped) == everyone and capped.get_json()["paging"]["page_size"] == 200


def test_data_manager_sees_only_searchable_unarchived_users(client, admin, person):
    manager = person("data-manager", email="manager@example.org")
    visible = person("observer", email="visible@example.org")
    hidden = person("observer", email="hidden@example.org", searchable=False)
    archived = person("observer", email="archived@example.org")
    client.post(f"/api/users/{archived.uuid}/archive", headers=admin.headers,
                json={"reason": "gone"})

    seen = emails(client.get("/api/users", headers=manager.headers))
    assert "visible@example.org" in seen and "manager@example.org" in seen
    assert "hidden@example.org" not in seen and "archived@example.org" not in seen
    for query in ({"q": "hidden"}, {"archived": "true"}, {"q": "archived"}):
        assert emails(client.get("/api/users", query_string=query,
                                 headers=manager.headers)) == []
    assert client.get(f"/api/users/{visible.uuid}", headers=manager.headers).status_code == 200
    for user in (hidden, archived):
        assert_error(client.get(f"/api/users/{user.uuid}", headers=manager.headers), 404,
                     "not_found")
    admin_seen = emails(client.get("/api/users", headers=admin.headers))
    assert {"hidden@example.org", "archived@example.org"} <= set(admin_seen)


def test_users_need_users_read_and_me_needs_a_token(client, person):
    assert_error(client.get("/api/users", headers=person("observer").headers), 403, "forbidden",
                 "users/read")
    assert_error(client.get("/api/users"), 401, "unauthorized")
    assert_error(client.get("/api/user"), 401, "unauthorized")


def test_data_manager_does_not_see_hidden_users_through_groups(client, admin, person):
    manager = person("data-manager")
    hidden = person("observer", email="hidden@example.org", searchable=False)
    archived = person("observer", email="archived@example.org")
    visible = person("observer", email="visible@example.org")
    create_group(client, admin.headers, "lab", members=[{"uuid": u.uuid}
                                                        for u in (hidden, archived, visible)])
    client.post(f"/api/users/{archived.uuid}/archive", headers=admin.headers,
                json={"reason": "gone"})
    group = client.get("/api/groups/lab", headers=manager.headers).get_json()
    assert member_emails(group) == ["visible@example.org"]


# Users: changes


def test_patch_user_changes_names_searchable_and_password(client, admin, person):
    user = person("observer")
    response = client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                            json={"first_name": "Grace", "last_name": "Hopper",
                                  "searchable": False, "password": NEW_PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert (body["first_name"], body["last_name"], body["searchable"]) == ("Grace", "Hopper",
                                                                          False)
    assert login(client, user.email, NEW_PASSWORD).status_code == 200
    cleared = client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                           json={"first_name": None})
    assert cleared.status_code == 200 and cleared.get_json()["first_name"] is None


def test_patch_user_email_is_lower_cased_and_unique(client, admin, person):
    user, other = person("observer"), person("observer", email="taken@example.org")
    moved = client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                         json={"email": "New.Address@Example.org"})
    assert moved.status_code == 200 and moved.get_json()["email"] == "new.address@example.org"
    assert_error(client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                              json={"email": "TAKEN@example.org"}), 409, "conflict", "taken")
    assert client.get(f"/api/users/{other.uuid}",
                      headers=admin.headers).get_json()["email"] == "taken@example.org"


def test_changing_a_role_needs_roles_assign(client, steward, person):
    permissions = ["users/read", "users/update"]
    assert create_role(client, steward.headers, "helpdesk", "observer",
                       permissions=permissions).status_code == 201
    helpdesk, user = person("helpdesk"), person("observer")
    assert_error(client.patch(f"/api/users/{user.uuid}", headers=helpdesk.headers,
                              json={"role": "data-manager"}), 403, "forbidden", "roles/assign")
    renamed = client.patch(f"/api/users/{user.uuid}", headers=helpdesk.headers,
                           json={"first_name": "Still", "role": "observer"})
    assert renamed.status_code == 200 and renamed.get_json()["role"] == "observer"


def test_cannot_grant_a_role_with_permissions_the_caller_lacks(client, admin, steward, person):
    create_role(client, steward.headers, "note-taker", "standard")
    user = person("observer")
    for role in ("data-steward", "note-taker"):
        error = assert_error(client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                                          json={"role": role}), 403, "forbidden", role)
        assert "notes/create" in error["details"]["permissions"]
    for role in ("standard", "data-manager"):
        given = client.patch(f"/api/users/{user.uuid}", headers=admin.headers,
                             json={"role": role})
        assert given.status_code == 200 and given.get_json()["role"] == role
    by_steward = client.patch(f"/api/users/{user.uuid}", headers=steward.headers,
                              json={"role": "note-taker"})
    assert by_steward.status_code == 200 and by_steward.get_json()["role"] == "note-taker"


def test_nobody_changes_their_own_role(client, admin, steward):
    for me in (admin, steward):
        assert_error(client.patch(f"/api/users/{me.uuid}", headers=me.headers,
                                  json={"role": "observer"}), 403, "forbidden", "your own role")
    assert client.get("/api/user", headers=admin.headers).get_json()["role"] == "admin"


def test_admin_cannot_take_over_or_shut_out_a_more_powerful_account(client, admin, steward):
    path = f"/api/users/{steward.uuid}"
    for method, url, body in (("PATCH", path, {"password": "taken-over-123"}),
                              ("PATCH", path, {"email": "mine@example.org"}),
                              ("POST", f"{path}/unapprove", None),
                              ("POST", f"{path}/archive", {"reason": "coup"})):
        error = assert_error(client.open(url, method=method, json=body, headers=admin.headers),
                             403, "forbidden", "data-steward")
        assert "notes/create" in error["details"]["permissions"], (method, url)
    assert_error(login(client, steward.email, "taken-over-123"), 401)
    me = client.get("/api/user", headers=steward.headers).get_json()
    assert (me["email"], me["approved"], me["archived"]) == ("steward@example.org", True, False)


def test_a_custom_role_with_roles_assign_cannot_mint_admins(client, steward, person):
    create_role(client, steward.headers, "assigner", "observer",
                permissions=["roles/assign", "users/read"])
    assigner, accomplice = person("assigner"), person("observer")
    response = client.patch("/api/roles/admin/assign", headers=assigner.headers,
                            json={"users": [{"uuid": accomplice.uuid}]})
    assert_error(response, 403, "forbidden")
    assert client.get("/api/user", headers=accomplice.headers).get_json()["role"] == "observer"


def test_a_custom_role_with_users_update_cannot_take_over_an_admin(client, admin, steward,
                                                                   person):
    create_role(client, steward.headers, "helpdesk", "observer",
                permissions=["users/read", "users/update"])
    response = client.patch(f"/api/users/{admin.uuid}", headers=person("helpdesk").headers,
                            json={"password": "taken-over-123"})
    assert_error(response, 403, "forbidden")
    assert_error(login(client, admin.email, "taken-over-123"), 401)


# The caller: /api/user


def test_me_shows_role_permissions_and_session(client, person):
    manager = person("data-manager", first_name="Mia", password=PASSWORD)
    response = client.get("/api/user", headers=session_headers(client, manager.email))
    assert response.status_code == 200
    me = response.get_json()
    assert USER_KEYS <= set(me)
    assert (me["uuid"], me["role"], me["first_name"]) == (manager.uuid, "data-manager", "Mia")
    assert me["permissions"] == DATA_MANAGER_PERMISSIONS
    assert me["authenticated_via"] == "session" and me["token_id"] is None


def test_me_permissions_are_capped_by_the_token_role(client, steward, make_token):
    secret = make_token(steward.uuid, role="data-manager")
    me = client.get("/api/user", headers=bearer(secret)).get_json()
    assert me["role"] == "data-steward"
    assert me["permissions"] == DATA_MANAGER_PERMISSIONS
    assert me["authenticated_via"] == "token" and isinstance(me["token_id"], int)
    assert_error(create_user(client, bearer(secret)), 403, "forbidden", "users/create")
    full = client.get("/api/user", headers=steward.headers).get_json()
    assert {"users/create", "roles/assign", "audit/read"} <= set(full["permissions"])


def test_patch_me_changes_my_names_and_searchable(client, person):
    me = person("observer")
    response = client.patch("/api/user", headers=me.headers,
                            json={"first_name": "Marie", "last_name": "Curie",
                                  "searchable": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["first_name"], body["last_name"], body["searchable"]) == ("Marie", "Curie",
                                                                          False)
    assert body["role"] == "observer" and body["authenticated_via"] == "token"


def test_change_my_password(app, client, person):
    me = person("observer", password=PASSWORD)
    headers = session_headers(client, me.email)
    before = password_hash(app, me.uuid)
    wrong = client.post("/api/user/password", headers=headers,
                        json={"current_password": "not my password", "new_password": NEW_PASSWORD})
    assert_error(wrong, 422, "validation_error", "current password is wrong")
    assert password_hash(app, me.uuid) == before
    right = client.post("/api/user/password", headers=headers,
                        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert right.status_code == 204 and right.data == b""
    assert password_hash(app, me.uuid) != before
    assert login(client, me.email, NEW_PASSWORD).status_code == 200


# Groups


def test_create_group_and_read_it_with_members(client, admin, person):
    ada = person("observer", email="ada@example.org", first_name="Ada")
    response = create_group(client, admin.headers, "Lab_1-a", description="Wet lab",
                            members=[{"uuid": ada.uuid}])
    assert response.status_code == 201, response.get_data(as_text=True)
    group = response.get_json()
    assert set(group) == {"id", "code", "name", "description", "members", "created_at",
                          "updated_at"}
    assert (group["code"], group["name"], group["description"]) == ("Lab_1-a", "The Lab_1-a",
                                                                   "Wet lab")
    assert group["members"] == [{"uuid": ada.uuid, "email": "ada@example.org",
                                 "first_name": "Ada", "last_name": None}]
    assert TIME.match(group["created_at"])
    assert client.get("/api/groups/Lab_1-a", headers=admin.headers).get_json() == group
    user = client.get(f"/api/users/{ada.uuid}", headers=admin.headers).get_json()
    assert user["groups"] == [{"code": "Lab_1-a", "name": "The Lab_1-a"}]


def test_duplicate_group_code_is_409(client, admin):
    group = create_group(client, admin.headers, "lab").get_json()
    assert group["description"] is None and group["members"] == []
    assert_error(create_group(client, admin.headers, "lab"), 409, "conflict", "'lab'")


def test_patch_group_name_description_and_members(client, admin, person):
    ada, bob = person("observer", email="ada@example.org"), person("observer",
                                                                   email="bob@example.org")
    create_group(client, admin.headers, "lab", members=[{"uuid": ada.uuid}])
    response = client.patch("/api/groups/lab", headers=admin.headers,
                            json={"name": "Renamed", "description": "New",
                                  "members": [{"uuid": bob.uuid}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    group = response.get_json()
    assert (group["name"], group["description"]) == ("Renamed", "New")
    assert member_emails(group) == ["bob@example.org"]


def test_add_members_is_all_or_none(client, admin, person):
    ada, bob = person("observer", email="ada@example.org"), person("observer",
                                                                   email="bob@example.org")
    create_group(client, admin.headers, "lab")
    error = assert_error(client.post("/api/groups/lab/members", headers=admin.headers,
                                     json={"users": [{"uuid": ada.uuid}, {"uuid": "ghost"}]}),
                         422, "validation_error", "do not exist")
    assert error["details"]["json"]["users"]["missing"] == ["ghost"]
    assert client.get("/api/groups/lab", headers=admin.headers).get_json()["members"] == []
    added = client.post("/api/groups/lab/members", headers=admin.headers,
                        json={"users": [{"uuid": bob.uuid}, {"uuid": ada.uuid},
                                        {"uuid": ada.uuid}]})
    assert added.status_code == 200
    assert member_emails(added.get_json()) == ["ada@example.org", "bob@example.org"]
    again = client.post("/api/groups/lab/members", headers=admin.headers,
                        json={"users": [{"uuid": ada.uuid}]})
    assert member_emails(again.get_json()) == ["ada@example.org", "bob@example.org"]


def test_remove_a_member(client, admin, person):
    ada, bob = person("observer", email="ada@example.org"), person("observer",
                                                                   email="bob@example.org")
    create_group(client, admin.headers, "lab", members=[{"uuid": ada.uuid}])
    removed = client.delete(f"/api/groups/lab/members/{ada.uuid}", headers=admin.headers)
    assert removed.status_code == 204 and removed.data == b""
    assert client.get("/api/groups/lab", headers=admin.headers).get_json()["members"] == []
    assert_error(client.delete(f"/api/groups/lab/members/{bob.uuid}", headers=admin.headers),
                 404, "not_found", "not a member")
    assert_error(client.delete(f"/api/groups/nope/members/{bob.uuid}", headers=admin.headers),
                 404, "not_found", "'nope'")


def test_delete_group(client, admin, person):
    ada = person("observer")
    create_group(client, admin.headers, "lab", members=[{"uuid": ada.uuid}])
    deleted = client.delete("/api/groups/lab", headers=admin.headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert_error(client.get("/api/groups/lab", headers=admin.headers), 404, "not_found", "'lab'")
    assert_error(client.delete("/api/groups/lab", headers=admin.headers), 404, "not_found")
    assert client.get(f"/api/users/{ada.uuid}", headers=admin.headers).get_json()["groups"] == []


def test_list_groups_with_q(client, admin):
    for code, name in (("genomics", "Genome lab"), ("imaging", "Imaging core"),
                       ("pct", "100% Team")):
        create_group(client, admin.headers, code, name=name)

    def codes(**query):
        response = client.get("/api/groups", query_string=query, headers=admin.headers)
        assert response.status_code == 200
        return [group["code"] for group in response.get_json()["items"]]

    assert codes() == ["genomics", "imaging", "pct"]
    assert codes(q="LAB") == ["genomics"]
    assert codes(q="imag") == ["imaging"]
    assert codes(q="%") == ["pct"]
    assert codes(page_size=2, page=2) == ["pct"]


def test_data_manager_may_read_groups_but_not_change_them(client, admin, person):
    manager = person("data-manager")
    create_group(client, admin.headers, "lab")
    assert client.get("/api/groups", headers=manager.headers).status_code == 200
    assert client.get("/api/groups/lab", headers=manager.headers).status_code == 200
    assert_error(create_group(client, manager.headers, "mine"), 403, "forbidden",
                 "groups/create")
    assert_error(client.patch("/api/groups/lab", json={"name": "x"}, headers=manager.headers),
                 403, "forbidden", "groups/update")
    assert_error(client.delete("/api/groups/lab", headers=manager.headers), 403, "forbidden",
                 "groups/delete")
    assert_error(client.get("/api/groups", headers=person("observer").headers), 403,
                 "forbidden", "groups/read")


# Roles and permissions


def test_roles_list_managed_roles_then_custom_ones(client, steward):
    for code in ("zeta", "alpha"):
        assert create_role(client, steward.headers, code, "observer").status_code == 201
    response = client.get("/api/roles", headers=steward.headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [role["code"] for role in items] == MANAGED + ["alpha", "zeta"]
    assert response.get_json()["paging"]["total"] == 9
    assert [role["managed"] for role in items] == [True] * 7 + [False] * 2


def test_role_detail_shows_permissions_and_user_counts(client, admin, person):
    person("data-manager")
    person("data-manager", approved=False)
    person("data-manager", approved=False)
    role = role_detail(client, admin.headers, "data-manager")
    assert role["permissions"] == DATA_MANAGER_PERMISSIONS
    assert (role["user_count"], role["approved_user_count"]) == (3, 1)
    assert (role["managed"], role["based_on"], role["name"]) == (True, None, "Data manager")
    assert role["created_at"] is None and role["updated_at"] is None
    assert_error(client.get("/api/roles/nope", headers=admin.headers), 404, "not_found", "'nope'")


def test_create_custom_role_copies_permissions_of_its_base(client, steward):
    response = create_role(client, steward.headers, "lab-manager", "data-manager",
                           description="Runs a lab")
    assert response.status_code == 201, response.get_data(as_text=True)
    role = response.get_json()
    assert (role["code"], role["based_on"], role["managed"]) == ("lab-manager", "data-manager",
                                                                False)
    assert role["permissions"] == DATA_MANAGER_PERMISSIONS
    assert (role["user_count"], role["approved_user_count"]) == (0, 0)
    assert TIME.match(role["created_at"]) and TIME.match(role["updated_at"])
    assert role_detail(client, steward.headers, "lab-manager") == role


def test_create_custom_role_with_given_permissions(client, admin):
    response = create_role(client, admin.headers, "auditor", "admin",
                           permissions=["audit/read", "users/read", "audit/read"])
    assert response.status_code == 201
    assert response.get_json()["permissions"] == ["audit/read", "users/read"]


def test_custom_role_with_unknown_permissions_is_422(client, admin):
    error = assert_error(create_role(client, admin.headers, "odd", "observer",
                                     permissions=["users/read", "users/fly", "nope"]),
                         422, "validation_error", "do not exist")
    assert error["details"]["json"]["permissions"]["unknown"] == ["nope", "users/fly"]
    assert_error(client.get("/api/roles/odd", headers=admin.headers), 404)


def test_duplicate_or_managed_role_code_is_409(client, admin):
    create_role(client, admin.headers, "auditor", "observer")
    assert_error(create_role(client, admin.headers, "auditor", "observer"), 409, "conflict")
    assert_error(create_role(client, admin.headers, "admin", "observer"), 409, "conflict",
                 "'admin'")


def test_admin_cannot_create_a_role_granting_what_admin_lacks(client, admin):
    for body in ({"based_on": "standard"},
                 {"based_on": "observer", "permissions": ["notes/create"]},
                 {"based_on": "data-steward"}):
        response = create_role(client, admin.headers, "sneaky", **body)
        error = assert_error(response, 403, "forbidden", "permissions you do not hold")
        assert "notes/create" in error["details"]["permissions"], body
        assert_error(client.get("/api/roles/sneaky", headers=admin.headers), 404)


def test_steward_can_create_a_role_with_data_permissions(client, steward):
    response = create_role(client, steward.headers, "note-taker", "standard")
    assert response.status_code == 201
    assert response.get_json()["permissions"] == ["notes/create"]


def test_edit_custom_role_within_the_callers_permissions(client, admin):
    create_role(client, admin.headers, "auditor", "observer", permissions=["audit/read"])
    response = client.patch("/api/roles/auditor", headers=admin.headers,
                            json={"name": "Auditor", "description": "Reads the log",
                                  "permissions": ["audit/read", "users/read"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    role = response.get_json()
    assert (role["name"], role["description"]) == ("Auditor", "Reads the log")
    assert role["permissions"] == ["audit/read", "users/read"]
    error = assert_error(client.patch("/api/roles/auditor", headers=admin.headers,
                                      json={"permissions": ["audit/read", "notes/create"]}),
                         403, "forbidden")
    assert error["details"]["permissions"] == ["notes/create"]
    assert_error(client.patch("/api/roles/auditor", headers=admin.headers,
                              json={"permissions": ["bogus/perm"]}), 422, "validation_error")
    unchanged = role_detail(client, admin.headers, "auditor")
    assert unchanged["permissions"] == ["audit/read", "users/read"]
    assert_error(client.patch("/api/roles/nope", headers=admin.headers, json={"name": "x"}),
                 404, "not_found")


def test_managed_roles_cannot_be_patched_or_deleted(client, steward):
    for code in MANAGED:
        assert_error(client.patch(f"/api/roles/{code}", headers=steward.headers,
                                  json={"name": "Mine now"}), 409, "conflict", "managed")
        assert_error(client.delete(f"/api/roles/{code}", headers=steward.headers), 409,
                     "conflict", "managed")
    assert role_detail(client, steward.headers, "admin")["name"] == "Administrator"


def test_custom_role_held_by_a_user_or_token_cannot_be_deleted(client, admin, make_user,
                                                               make_token):
    for code in ("by-user", "by-token", "unused"):
        create_role(client, admin.headers, code, "observer", permissions=["users/read"])
    make_user("by-user")
    make_token(make_user("data-manager"), role="by-token")
    assert_error(client.delete("/api/roles/by-user", headers=admin.headers), 409, "conflict",
                 "1 users and 0 API tokens")
    assert_error(client.delete("/api/roles/by-token", headers=admin.headers), 409, "conflict",
                 "0 users and 1 API tokens")
    deleted = client.delete("/api/roles/unused", headers=admin.headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert_error(client.get("/api/roles/unused", headers=admin.headers), 404)
    assert_error(client.delete("/api/roles/unused", headers=admin.headers), 404, "not_found")


def test_assign_a_role_to_many_users_at_once(client, admin, person):
    ada, bob = person("observer", email="ada@example.org"), person("observer",
                                                                   email="bob@example.org")
    response = client.patch("/api/roles/data-manager/assign", headers=admin.headers,
                            json={"users": [{"uuid": ada.uuid}, {"uuid": bob.uuid}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(u["email"], u["role"]) for u in response.get_json()] == [
        ("ada@example.org", "data-manager"), ("bob@example.org", "data-manager")]
    assert role_detail(client, admin.headers, "data-manager")["user_count"] == 2
    me = client.get("/api/user", headers=ada.headers).get_json()
    assert me["role"] == "data-manager"
    assert me["permissions"] == [], "a token never gains what its own role (observer) lacks"


def test_assign_is_all_or_none(client, admin, person):
    ada = person("observer")
    error = assert_error(client.patch("/api/roles/data-manager/assign", headers=admin.headers,
                                      json={"users": [{"uuid": ada.uuid}, {"uuid": "ghost"}]}),
                         422, "validation_error")
    assert error["details"]["json"]["users"]["missing"] == ["ghost"]
    assert client.get(f"/api/users/{ada.uuid}", headers=admin.headers).get_json()["role"] == \
        "observer"


def test_assign_cannot_grant_what_the_caller_lacks(client, admin, steward, person):
    create_role(client, steward.headers, "note-taker", "standard")
    ada = person("observer")
    for role in ("note-taker", "data-steward"):
        error = assert_error(client.patch(f"/api/roles/{role}/assign", headers=admin.headers,
                                          json={"users": [{"uuid": ada.uuid}]}), 403,
                             "forbidden")
        assert "notes/create" in error["details"]["permissions"]
    assert_error(client.patch("/api/roles/observer/assign", headers=admin.headers,
                              json={"users": [{"uuid": steward.uuid}]}), 403, "forbidden",
                 "data-steward")
    assert_error(client.patch("/api/roles/admin/assign", headers=person("data-manager").headers,
                              json={"users": [{"uuid": ada.uuid}]}), 403, "forbidden",
                 "roles/assign")
    assert client.get(f"/api/users/{ada.uuid}", headers=admin.headers).get_json()["role"] == \
        "observer"


def test_assign_unknown_role_is_404(client, admin, person):
    assert_error(client.patch("/api/roles/nope/assign", headers=admin.headers,
                              json={"users": [{"uuid": person("observer").uuid}]}), 404,
                 "not_found", "'nope'")


def test_data_steward_holds_every_permission_and_archived_none(client, steward, person):
    every = all_permissions(client, steward.headers)
    assert "notes/create" in every and "users/create" in every
    assert role_detail(client, steward.headers, "data-steward")["permissions"] == every
    assert role_detail(client, steward.headers, "archived")["permissions"] == []
    me = client.get("/api/user", headers=steward.headers).get_json()
    assert me["permissions"] == every
    retired = person("archived")
    assert client.get("/api/user", headers=retired.headers).get_json()["permissions"] == []
    assert_error(client.get("/api/groups", headers=retired.headers), 403, "forbidden")


def test_permissions_list_describes_each_with_plugin_and_default_roles(client, admin):
    response = client.get("/api/permissions", headers=admin.headers)
    assert response.status_code == 200
    items = {p["name"]: p for p in response.get_json()["items"]}
    for permission in items.values():
        assert set(permission) == {"name", "description", "plugin", "default_roles"}
        assert permission["description"] and re.match(r"^[a-z]+/[a-z]+$", permission["name"])
    assert items["notes/create"] == {"name": "notes/create", "description": "Create sample notes.",
                                     "plugin": "notes", "default_roles": ["standard"]}
    assert items["users/read"]["plugin"] == "core"
    assert items["users/read"]["default_roles"] == ["admin", "data-manager"]
    assert {"users/create", "roles/assign", "groups/read", "audit/read",
            "tokens/manage"} <= set(items)
    assert response.get_json()["paging"]["total"] == len(items)


def test_roles_and_permissions_need_roles_read(client, person):
    manager = person("data-manager")
    for path in ("/api/roles", "/api/roles/admin", "/api/permissions"):
        assert_error(client.get(path, headers=manager.headers), 403, "forbidden", "roles/read")


# Audit


def test_user_lifecycle_is_audited_with_actor_and_target(client, admin):
    user = create_user(client, admin.headers).get_json()
    path = f"/api/users/{user['uuid']}"
    client.post(f"{path}/approve", headers=admin.headers)
    client.post(f"{path}/unapprove", headers=admin.headers)
    client.post(f"{path}/archive", headers=admin.headers, json={"reason": "left"})
    client.post(f"{path}/restore", headers=admin.headers)
    events = audit(client, admin.headers, type="user", target_code=user["uuid"])
    assert [e["action"] for e in events] == ["restore", "archive", "unapprove", "approve",
                                             "create"]
    for event in events:
        assert event["actor"] == {"uuid": admin.uuid, "email": admin.email}
        assert event["target"] == {"type": "user", "code": user["uuid"]}
        assert TIME.match(event["created_at"])
    assert events[1]["details"]["reason"] == "left"


def test_role_changes_are_audited_with_actor_and_target(client, admin, person):
    ada = person("observer")
    create_role(client, admin.headers, "auditor", "observer", permissions=["audit/read"])
    client.patch("/api/roles/auditor", headers=admin.headers, json={"name": "Auditors"})
    client.patch("/api/roles/auditor/assign", headers=admin.headers,
                 json={"users": [{"uuid": ada.uuid}]})
    client.patch("/api/roles/observer/assign", headers=admin.headers,
                 json={"users": [{"uuid": ada.uuid}]})
    assert client.delete("/api/roles/auditor", headers=admin.headers).status_code == 204
    events = audit(client, admin.headers, type="role", target_code="auditor")
    assert [e["action"] for e in events] == ["delete", "assign", "update", "create"]
    for event in events:
        assert event["actor"] == {"uuid": admin.uuid, "email": admin.email}
        assert event["target"] == {"type": "role", "code": "auditor"}
    assert events[1]["details"]["users"] == [ada.uuid]
    assert events[3]["details"]["permissions"] == ["audit/read"]


def test_no_password_or_hash_ever_reaches_the_audit_log(app, client, admin):
    from sqlalchemy import select

    from fairhub import db
    from fairhub.identity.models import User

    created = create_user(client, admin.headers, password="first-secret-pass1")
    uuid = created.get_json()["uuid"]
    client.post(f"/api/users/{uuid}/approve", headers=admin.headers)
    client.patch(f"/api/users/{uuid}", headers=admin.headers,
                 json={"password": "second-secret-pass2"})
    login(client, created.get_json()["email"], "wrong-secret-pass3")
    headers = session_headers(client, created.get_json()["email"], "second-secret-pass2")
    client.post("/api/user/password", headers=headers,
                json={"current_password": "wrong-secret-pass4", "new_password": "x" * 12})
    client.post("/api/user/password", headers=headers,
                json={"current_password": "second-secret-pass2",
                      "new_password": "third-secret-pass5"})
    with app.app_context():
        hashes = [h for h in db.session.scalars(select(User.password_hash)) if h]
    assert len(hashes) == 1
    text = json.dumps(audit(client, admin.headers))
    assert '"user"' in text and "password_change" in text
    for secret in ("first-secret-pass1", "second-secret-pass2", "wrong-secret-pass3",
                   "wrong-secret-pass4", "third-secret-pass5", "$argon2", *hashes):
        assert secret not in text


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
