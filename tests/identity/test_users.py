"""Spec section 2: users and the caller (/api/user)."""
from __future__ import annotations

import uuid as uuid_module

import pytest
from fairhub.testing import assert_error, bearer

from identity_support import (  # noqa: F401  (admin, person and steward are fixtures)
    DATA_MANAGER_PERMISSIONS, NEW_PASSWORD, PASSWORD, TIME, USER_KEYS, admin, create_group,
    create_role, create_user, emails, login, member_emails, password_hash, person, seed_user,
    session_headers, steward, token_status)


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
