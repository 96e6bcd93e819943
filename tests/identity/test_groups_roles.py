"""Spec section 2: groups, roles, permissions and their audit."""
from __future__ import annotations

import json
import re

from fairhub.testing import assert_error

from identity_support import (  # noqa: F401  (admin, person and steward are fixtures)
    DATA_MANAGER_PERMISSIONS, MANAGED, TIME, admin, all_permissions, audit, create_group,
    create_role, create_user, login, member_emails, person, role_detail, session_headers,
    steward)


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
