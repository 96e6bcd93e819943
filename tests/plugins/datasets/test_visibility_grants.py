"""Who sees and does what to a dataset: roles, visibility, dataset-level grants, approvers."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fairhub.testing import assert_error, signed_in

from plugins.datasets.test_datasets_api import catalogue, create, dictionary, ok

VISIBILITIES = ("private", "internal", "public")
LEVELS = ("owner", "manager", "reviewer", "editor", "viewer")
EVERYONE_SIGNED_IN = {"internal", "public"}


def person(app, role: str = "standard") -> SimpleNamespace:
    """A user of ``role`` with a signed-in client, uuid and email."""
    client = signed_in(app, role)
    me = ok(client.get("/api/user"))
    return SimpleNamespace(client=client, uuid=me["uuid"], email=me["email"], role=role)


def make_world(client) -> None:
    """One dataset per visibility, named after it, each with one dictionary."""
    for visibility in VISIBILITIES:
        create(client, code=visibility, visibility=visibility,
               catalogue=catalogue(f"The {visibility} one"),
               dictionaries=[dictionary(f"{visibility}_table")])


def assert_sees(client, expected: set[str]) -> None:
    """``client`` lists exactly ``expected`` (datasets and their dictionaries, with matching
    totals, on a page of them or past the last), reads them, and gets 404 for the others."""
    listing = ok(client.get("/api/datasets", query_string={"page_size": 1}))
    assert listing["paging"]["total"] == len(expected)
    full = ok(client.get("/api/datasets"))
    assert {d["code"] for d in full["items"]} == expected
    assert full["paging"]["total"] == len(expected)
    past_the_end = ok(client.get("/api/datasets", query_string={"page": 9}))
    assert past_the_end["items"] == [] and past_the_end["paging"]["total"] == len(expected)
    tables = ok(client.get("/api/dictionaries"))
    assert {t["code"] for t in tables["items"]} == {f"{code}_table" for code in expected}
    assert tables["paging"]["total"] == len(expected)
    for visibility in VISIBILITIES:
        count = ok(client.get("/api/datasets", query_string={"visibility": visibility}))
        assert count["paging"]["total"] == (visibility in expected)
        for url in (f"/api/datasets/{visibility}", f"/api/dictionaries/{visibility}_table"):
            response = client.get(url)
            if visibility in expected:
                assert response.status_code == 200, (url, response.get_data(as_text=True))
            else:
                assert_error(response, 404, "not_found")


def grant(client, code: str, status: int = 201, **body):
    return ok(client.post(f"/api/datasets/{code}/grants", json=body), status)


def grants_of(client, code: str) -> list[dict]:
    return ok(client.get(f"/api/datasets/{code}/grants"))


def make_group(steward, code: str, *members) -> None:
    ok(steward.post("/api/groups", json={"code": code, "name": code.title(),
                                         "members": [{"uuid": m.uuid} for m in members]}), 201)


def give(steward, dataset: str, level: str, who, via: str) -> None:
    """Grant ``level`` on ``dataset`` to ``who``, directly or through a new group."""
    if via == "user":
        grant(steward, dataset, user=who.uuid, level=level)
    else:
        make_group(steward, f"group_{who.uuid[:8]}", who)
        grant(steward, dataset, group=f"group_{who.uuid[:8]}", level=level)


@pytest.fixture
def steward(app):
    return person(app, "data-steward")


@pytest.fixture
def world(steward):
    make_world(steward.client)
    return steward


# Roles and visibility


@pytest.mark.parametrize("role, expected", [
    ("observer", EVERYONE_SIGNED_IN),
    ("standard", EVERYONE_SIGNED_IN),
    ("data-manager", EVERYONE_SIGNED_IN),
    ("data-steward", set(VISIBILITIES)),  # datasets/administer: no grant needed
])
def test_what_each_role_sees(app, world, role, expected):
    assert_sees(signed_in(app, role), expected)


@pytest.mark.parametrize("role", ["admin", "archived"])
def test_roles_without_datasets_read_are_403(app, world, role):
    client = signed_in(app, role)
    for url in ("/api/datasets", "/api/datasets/public", "/api/dictionaries",
                "/api/dictionaries/public_table"):
        assert_error(client.get(url), 403, "forbidden")


@pytest.mark.parametrize("public_mode", [True, False])
def test_guests_see_public_datasets_only_in_public_mode(make_app, public_mode):
    app = make_app({"PUBLIC_MODE": public_mode})
    make_world(signed_in(app, "data-steward"))
    anonymous = app.test_client()
    if public_mode:
        assert_sees(anonymous, {"public"})
        assert_error(anonymous.delete("/api/datasets/public"), 401, "unauthorized")
    else:
        for url in ("/api/datasets", "/api/datasets/public", "/api/dictionaries"):
            assert_error(anonymous.get(url), 401, "unauthorized")


def test_a_creator_sees_their_private_dataset_and_others_do_not(app):
    owner, other = person(app, "data-manager"), person(app, "data-manager")
    create(owner.client, code="mine", dictionaries=[dictionary("mine_table")])
    assert ok(owner.client.get("/api/datasets"))["paging"]["total"] == 1
    assert ok(other.client.get("/api/datasets"))["paging"]["total"] == 0
    assert_error(other.client.get("/api/datasets/mine"), 404, "not_found")


@pytest.mark.parametrize("via", ["user", "group"])
@pytest.mark.parametrize("level", LEVELS)
def test_every_level_shows_a_private_dataset(app, world, level, via):
    observer = person(app, "observer")
    give(world.client, "private", level, observer, via)
    assert_sees(observer.client, set(VISIBILITIES))


# What each level may do


@pytest.mark.parametrize("via", ["user", "group"])
@pytest.mark.parametrize("level", LEVELS)
def test_what_each_level_lets_a_data_manager_do(app, world, level, via):
    dm = person(app, "data-manager")
    give(world.client, "private", level, dm, via)
    may_edit, may_manage = level in ("owner", "manager", "editor"), level in ("owner", "manager")
    url = "/api/datasets/private"

    def expect(response, allowed: bool, status: int = 200):
        if allowed:
            assert response.status_code == status, response.get_data(as_text=True)
        else:
            assert_error(response, 403, "forbidden")

    expect(dm.client.patch(url, json={"catalogue": {"creator": "Me"},
                                      "dictionaries": [{"code": "private_table", "name": "N"}]}),
           may_edit)
    expect(dm.client.patch("/api/dictionaries/private_table", json={"description": "D"}),
           may_edit)
    expect(dm.client.patch(url, json={"workflow_key": "basic_access_request"}), may_manage)
    expect(dm.client.patch(url, json={"visibility": "private", "name": "Same visibility"}),
           may_edit)  # an unchanged visibility needs no more than edit
    expect(dm.client.patch(url, json={"visibility": "internal"}), may_manage)
    expect(dm.client.get(f"{url}/grants"), may_manage)
    expect(dm.client.post(f"{url}/grants", json={"user": person(app).uuid, "level": "viewer"}),
           may_manage, 201)
    expect(dm.client.delete(url), may_manage, 204)
    steward_view = world.client.get(url)
    assert steward_view.status_code == (404 if may_manage else 200)
    if not may_manage:
        unchanged = steward_view.get_json()
        assert unchanged["visibility"] == "private" and unchanged["workflow_key"] is None
        assert (unchanged["catalogue"]["creator"] == "Me") == may_edit


@pytest.mark.parametrize("via", ["user", "group"])
@pytest.mark.parametrize("role", ["observer", "standard"])
def test_an_owner_grant_does_not_lift_a_user_above_their_role(app, world, role, via):
    user = person(app, role)
    give(world.client, "private", "owner", user, via)
    assert user.client.get("/api/datasets/private").status_code == 200
    assert_error(user.client.patch("/api/datasets/private", json={"name": "x"}), 403, "forbidden")
    assert_error(user.client.delete("/api/datasets/private"), 403, "forbidden")
    assert_error(user.client.get("/api/datasets/private/grants"), 403, "forbidden")
    assert_error(user.client.post("/api/datasets", json={"catalogue": catalogue()}), 403,
                 "forbidden")


def test_without_a_grant_private_is_404_and_internal_403(app, world):
    dm = person(app, "data-manager").client
    for code, status in (("private", 404), ("internal", 403)):
        url = f"/api/datasets/{code}"
        assert_error(dm.patch(url, json={"name": "x"}), status)
        assert_error(dm.delete(url), status)
        assert_error(dm.get(f"{url}/grants"), status)
        assert_error(dm.post(f"{url}/grants", json={"user": world.uuid, "level": "viewer"}),
                     status)
        assert_error(dm.patch(f"/api/dictionaries/{code}_table", json={"name": "x"}), status)
    assert ok(world.client.get("/api/datasets/internal"))["name"] == "The internal one"


# The grants endpoints


@pytest.fixture
def owned(app):
    """A private dataset ``owned`` created by a data manager, its first owner."""
    owner = person(app, "data-manager")
    create(owner.client, code="owned")
    return owner


def test_the_creator_is_the_first_owner(owned):
    (only,) = grants_of(owned.client, "owned")
    assert only["level"] == "owner" and only["group"] is None
    assert only["user"] == {"uuid": owned.uuid, "email": owned.email, "name": None}
    assert set(only) == {"id", "level", "user", "group", "created_at"}


def test_grant_create_change_list_and_remove(app, owned, steward):
    reader = person(app, "standard")
    made = grant(owned.client, "owned", user=reader.uuid, level="viewer")
    assert made["level"] == "viewer" and made["user"]["uuid"] == reader.uuid
    changed = grant(owned.client, "owned", 200, user=reader.email.upper(), level="editor")
    assert (changed["id"], changed["level"]) == (made["id"], "editor")
    make_group(steward.client, "lab", reader)
    lab = grant(owned.client, "owned", group="lab", level="viewer")
    assert lab["group"] == {"code": "lab", "name": "Lab"} and lab["user"] is None
    listed = grants_of(owned.client, "owned")
    assert [(g["user"] or {}).get("email") for g in listed[:2]] == sorted([owned.email,
                                                                           reader.email])
    assert [g["group"] for g in listed[2:]] == [lab["group"]]
    assert {g["level"] for g in listed} == {"owner", "editor", "viewer"}
    response = owned.client.delete(f"/api/datasets/owned/grants/{made['id']}")
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(owned.client.delete(f"/api/datasets/owned/grants/{made['id']}"), 404,
                 "not_found")
    assert len(grants_of(owned.client, "owned")) == 2
    assert reader.client.get("/api/datasets/owned").status_code == 200  # still via the group
    owned.client.delete(f"/api/datasets/owned/grants/{lab['id']}")
    assert_error(reader.client.get("/api/datasets/owned"), 404, "not_found")


def test_a_grant_change_gives_the_dataset_a_new_etag(app, owned):
    before = owned.client.get("/api/datasets/owned").headers["ETag"]
    grant(owned.client, "owned", user=person(app).uuid, level="viewer")
    assert owned.client.get("/api/datasets/owned").headers["ETag"] != before


@pytest.mark.parametrize("body, key", [
    ({"user": "nobody@example.org", "level": "viewer"}, "user"),
    ({"user": "00000000-0000-0000-0000-000000000000", "level": "viewer"}, "user"),
    ({"group": "nogroup", "level": "viewer"}, "group"),
    ({"level": "viewer"}, "user"),
    ({"user": "x@example.org", "group": "lab", "level": "viewer"}, "user"),
    ({"user": "x@example.org", "level": "admin"}, "level"),
    ({"user": "x@example.org"}, "level"),
])
def test_bad_grants_are_422(owned, body, key):
    error = assert_error(owned.client.post("/api/datasets/owned/grants", json=body), 422,
                         "validation_error")
    assert key in error["details"]["json"]
    assert len(grants_of(owned.client, "owned")) == 1


def test_a_grant_of_another_dataset_cannot_be_removed_through_this_one(app, owned):
    create(owned.client, code="second")
    (theirs,) = grants_of(owned.client, "second")
    assert_error(owned.client.delete(f"/api/datasets/owned/grants/{theirs['id']}"), 404,
                 "not_found")
    assert len(grants_of(owned.client, "second")) == 1


def test_a_manager_cannot_hand_out_or_take_away_approving_levels(app, owned):
    manager, reviewer, other = (person(app, "data-manager") for _ in range(3))
    grant(owned.client, "owned", user=manager.uuid, level="manager")
    grant(owned.client, "owned", user=reviewer.uuid, level="reviewer")
    (owner_grant,) = [g for g in grants_of(owned.client, "owned") if g["level"] == "owner"]
    (reviewer_grant,) = [g for g in grants_of(owned.client, "owned") if g["level"] == "reviewer"]
    for level in ("owner", "reviewer"):
        assert_error(manager.client.post("/api/datasets/owned/grants",
                                         json={"user": other.uuid, "level": level}), 403)
    for who in (reviewer, owned):
        assert_error(manager.client.post("/api/datasets/owned/grants",
                                         json={"user": who.uuid, "level": "viewer"}), 403)
    for kept in (owner_grant, reviewer_grant):
        assert_error(manager.client.delete(f"/api/datasets/owned/grants/{kept['id']}"), 403)
    made = grant(manager.client, "owned", user=other.uuid, level="editor")
    grant(manager.client, "owned", 200, user=other.uuid, level="manager")
    assert manager.client.delete(f"/api/datasets/owned/grants/{made['id']}").status_code == 204
    levels = sorted(g["level"] for g in grants_of(owned.client, "owned"))
    assert levels == ["manager", "owner", "reviewer"]


def test_the_last_owner_cannot_be_removed_or_demoted(app, owned, steward):
    (mine,) = grants_of(owned.client, "owned")
    for client in (owned.client, steward.client):
        assert_error(client.post("/api/datasets/owned/grants",
                                 json={"user": owned.uuid, "level": "manager"}), 409, "conflict")
        assert_error(client.delete(f"/api/datasets/owned/grants/{mine['id']}"), 409, "conflict")
    successor = person(app, "data-manager")
    theirs = grant(owned.client, "owned", user=successor.uuid, level="owner")
    grant(owned.client, "owned", 200, user=owned.uuid, level="manager")
    assert_error(steward.client.delete(f"/api/datasets/owned/grants/{theirs['id']}"), 409,
                 "conflict")
    levels = {g["user"]["email"]: g["level"] for g in grants_of(successor.client, "owned")}
    assert levels == {owned.email: "manager", successor.email: "owner"}


# Approvers


def approver_emails(client, code: str) -> set[str]:
    return {a["email"] for a in ok(client.get(f"/api/datasets/{code}"))["approvers"]}


def test_approvers_are_owners_and_reviewers_including_group_members(app, owned, steward):
    reviewer, member, leaver, manager, editor = (person(app) for _ in range(5))
    grant(owned.client, "owned", user=reviewer.uuid, level="reviewer")
    make_group(steward.client, "reviewers", member, leaver)
    make_group(steward.client, "editors", editor)
    grant(owned.client, "owned", group="reviewers", level="reviewer")
    grant(owned.client, "owned", group="editors", level="editor")
    grant(owned.client, "owned", user=manager.uuid, level="manager")
    expected = {owned.email, reviewer.email, member.email, leaver.email}
    assert approver_emails(owned.client, "owned") == expected
    listed = ok(owned.client.get("/api/datasets"))["items"][0]["approvers"]
    assert {a["email"] for a in listed} == expected
    ok(steward.client.post(f"/api/users/{leaver.uuid}/archive", json={"reason": "left"}))
    assert approver_emails(owned.client, "owned") == expected - {leaver.email}


def test_approvers_come_once_each_by_email_and_each_dataset_has_its_own(app, owned, steward):
    both, other = person(app), person(app)
    grant(owned.client, "owned", user=both.uuid, level="reviewer")
    make_group(steward.client, "reviewers", both, other)
    grant(owned.client, "owned", group="reviewers", level="reviewer")
    create(owned.client, code="second", visibility="private", catalogue=catalogue("Second"))
    expected = sorted([owned.email, both.email, other.email])
    read = ok(owned.client.get("/api/datasets/owned"))["approvers"]
    assert [a["email"] for a in read] == expected
    listed = {d["code"]: [a["email"] for a in d["approvers"]]
              for d in ok(owned.client.get("/api/datasets"))["items"]}
    assert listed == {"owned": expected, "second": [owned.email]}
    patched = ok(owned.client.patch("/api/datasets/owned", json={"name": "Renamed"}))
    assert [a["email"] for a in patched["approvers"]] == expected
