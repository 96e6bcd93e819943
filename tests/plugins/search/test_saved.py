"""Saved searches (``/api/search/saved``) and the log of searches performed."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from fairhub import db
from fairhub.testing import assert_error, signed_in

SAVED = "/api/search/saved"


@pytest.fixture
def client(app):
    """Signed in as a standard user, who holds every search permission."""
    return signed_in(app)


def save(client, **body):
    """Save a search, asserting it was created; the answer."""
    response = client.post(SAVED, json={"name": "dementia", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def audited(app, action):
    """The targets of the audit log's ``saved_search`` events with ``action``."""
    from fairhub.identity.models import AuditEvent

    with app.app_context():
        return [e.target_code for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.type == "saved_search",
                                     AuditEvent.action == action).order_by(AuditEvent.id))]


def test_create_read_update_list_delete(app, client):
    created = save(client, name="  Dementia in Wales ", query='alz* "big data"',
                   filters={"keyword": "dementia", "visibility": "public"})
    assert created["name"] == "Dementia in Wales"
    assert created["query"] == 'alz* "big data"'
    assert created["filters"] == {"keyword": "dementia", "visibility": "public"}
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"].endswith("Z")
    url = f"{SAVED}/{created['id']}"
    assert client.get(url).get_json() == created

    changed = client.patch(url, json={"query": "beta", "filters": {"publisher": "NHS"}})
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["name"], body["query"], body["filters"]) == (
        "Dementia in Wales", "beta", {"publisher": "NHS"})
    assert body["updated_at"] >= created["updated_at"]

    listed = client.get(SAVED).get_json()
    assert listed["items"] == [body]
    assert listed["paging"] == {"total": 1, "page": 1, "page_size": 25}

    assert client.delete(url).status_code == 204
    assert_error(client.get(url), 404, "not_found")
    assert client.get(SAVED).get_json()["paging"]["total"] == 0
    code = str(created["id"])
    assert [audited(app, a) for a in ("create", "update", "delete")] == [[code]] * 3


def test_list_is_paged_oldest_first(client):
    for i in range(5):
        save(client, name=f"s{i}")
    body = client.get(f"{SAVED}?page=2&page_size=2").get_json()
    assert [s["name"] for s in body["items"]] == ["s2", "s3"]
    assert body["paging"] == {"total": 5, "page": 2, "page_size": 2}


def test_url_runs_the_search_properly_encoded(client):
    created = save(client, query='a&b=c "x y" 100%',
                   filters={"visibility": "public", "keyword": "é/?#"})
    path, query = created["url"].split("?")
    assert path == "/api/search/search"
    assert query == ("index=fair-index&query=a%26b%3Dc%20%22x%20y%22%20100%25"
                     "&keyword=%C3%A9%2F%3F%23&visibility=public")
    assert parse_qsl(urlsplit(created["url"]).query) == [
        ("index", "fair-index"), ("query", 'a&b=c "x y" 100%'), ("keyword", "é/?#"),
        ("visibility", "public")]
    assert client.get(created["url"]).status_code == 200
    bare = save(client, name="all")
    assert bare["url"] == "/api/search/search?index=fair-index&query="
    assert bare["query"] == "" and bare["filters"] == {}


def test_a_patch_that_changes_nothing_is_not_audited(app, client):
    created = save(client)
    same = client.patch(f"{SAVED}/{created['id']}", json={"name": "dementia ", "filters": {}})
    assert same.get_json() == created
    assert audited(app, "update") == []


def test_users_see_and_change_only_their_own(app, client):
    mine = save(client)
    other = signed_in(app)
    assert other.get(SAVED).get_json()["paging"]["total"] == 0
    url = f"{SAVED}/{mine['id']}"
    for response in (other.get(url), other.patch(url, json={"name": "taken over"}),
                     other.delete(url)):
        error = assert_error(response, 404, "not_found")
        assert error["message"] == f"Saved search {mine['id']} does not exist."
    # Names are unique per user only.
    assert other.post(SAVED, json={"name": "dementia"}).status_code == 201
    assert client.get(url).get_json() == mine


@pytest.mark.parametrize("path", ["/999999", "/2147483648", "/0", "/abc"])
def test_missing_ids_are_404(client, path):
    assert_error(client.get(SAVED + path), 404, "not_found")


def test_observer_may_read_nothing_and_save_nothing(app):
    observer = signed_in(app, "observer")
    assert_error(observer.post(SAVED, json={"name": "x"}), 403, "forbidden")
    assert_error(observer.get(SAVED), 403, "forbidden")


@pytest.mark.parametrize("method, path", [
    ("get", SAVED), ("post", SAVED), ("get", f"{SAVED}/1"), ("patch", f"{SAVED}/1"),
    ("delete", f"{SAVED}/1"),
])
def test_anonymous_callers_are_401(app, method, path):
    response = getattr(app.test_client(), method)(path, json={"name": "x"})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   \t\n"}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x", "query": "q" * 10_001}, "query"),
    ({"name": "x", "query": None}, "query"),
    ({"name": "x", "filters": {"colour": "red"}}, "filters"),
    ({"name": "x", "filters": {"keyword": 3}}, "filters"),
    ({"name": "x", "filters": {"keyword": None}}, "filters"),
    ({"name": "x", "filters": {"keyword": ["a"]}}, "filters"),
    ({"name": "x", "filters": {"visibility": "secret"}}, "filters"),
    ({"name": "x", "filters": ["keyword"]}, "filters"),
    ({"name": "x", "owner": 1}, "owner"),
])
def test_invalid_saved_searches_are_422(client, body, field):
    error = assert_error(client.post(SAVED, json=body), 422, "validation_error")
    assert field in error["details"]["json"]
    assert client.get(SAVED).get_json()["paging"]["total"] == 0


def test_longest_name_and_query_are_kept(client):
    created = save(client, name="n" * 200, query="q" * 10_000)
    assert (len(created["name"]), len(created["query"])) == (200, 10_000)


def test_blank_name_says_why(client):
    error = assert_error(client.post(SAVED, json={"name": "  "}), 422, "validation_error")
    assert error["details"] == {"json": {"name": ["A saved search's name cannot be blank."]}}


@pytest.mark.parametrize("body, field", [
    ({"name": " "}, "name"),
    ({"query": "q" * 10_001}, "query"),
    ({"filters": {"colour": "red"}}, "filters"),
    ({"filters": {"license": 1}}, "filters"),
])
def test_invalid_changes_are_422_and_change_nothing(client, body, field):
    created = save(client)
    error = assert_error(client.patch(f"{SAVED}/{created['id']}", json=body), 422)
    assert field in error["details"]["json"]
    assert client.get(f"{SAVED}/{created['id']}").get_json() == created


def test_duplicate_names_are_409(app, client):
    first = save(client, name="dementia")
    error = assert_error(client.post(SAVED, json={"name": " dementia "}), 409, "conflict")
    assert error["message"] == "You already have a saved search called 'dementia'."
    second = save(client, name="other")
    assert_error(client.patch(f"{SAVED}/{second['id']}", json={"name": "dementia"}), 409,
                 "conflict")
    # Keeping its own name is no conflict.
    assert client.patch(f"{SAVED}/{first['id']}", json={"name": "dementia"}).status_code == 200
    assert client.get(SAVED).get_json()["paging"]["total"] == 2
    assert audited(app, "create") == [str(first["id"]), str(second["id"])]


def test_the_service_checks_filters_itself(app, make_user):
    from fairhub_search import saved

    from fairhub import Actor, ValidationError
    from fairhub.identity.service import users

    uuid = make_user()
    with app.test_request_context():
        actor = Actor.of(users.get_user(uuid))
        for filters in ({"colour": "red"}, {"keyword": 3}):
            with pytest.raises(ValidationError) as raised:
                saved.create(actor, {"name": "x", "filters": filters})
            assert list(raised.value.details["json"]) == ["filters"]


def test_a_search_is_written_to_the_search_log(make_app):
    from fairhub_search.models import SearchLog

    app = make_app({"SEARCH_LOG_FLUSH_SECONDS": 0})  # written at once, not after 5 seconds
    client = signed_in(app)
    response = client.get("/api/search/search?index=fair-index&query=alzheimer")
    assert response.status_code == 200
    user_id = _user_id(app, client)
    with app.app_context():
        rows = db.session.execute(select(SearchLog.user_id, SearchLog.query,
                                         SearchLog.results)).all()
    assert [tuple(row) for row in rows] == [(user_id, "alzheimer", 0)]


def _user_id(app, client) -> int:
    """The database id of the user ``client`` is signed in as."""
    from fairhub import User

    uuid = client.get("/api/user").get_json()["uuid"]
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.uuid == uuid))


def test_a_custom_role_stored_before_the_rename_still_deletes_saved_searches(fairhub_cli,
                                                                             make_app):
    """The permission was `search/destroy` until revision search_0003, which renames it in
    every stored role."""
    from sqlalchemy import text

    result = fairhub_cli("db", "downgrade", "search_0002")
    assert result.exit_code == 0, result.output
    app = make_app(create_tables=False)
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO roles (code, name, based_on, permissions, created_at, updated_at) "
            "VALUES ('curator', 'Curator', 'observer', :permissions, :now, :now)"),
            {"permissions": '["datasets/read", "search/create", "search/destroy", '
                            '"search/read"]', "now": "2026-01-01 00:00:00+00:00"})
        db.session.commit()
    result = fairhub_cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    curator = signed_in(app, "curator")
    created = save(curator)
    assert curator.delete(f"{SAVED}/{created['id']}").status_code == 204
    admin = signed_in(app, "admin")
    assert admin.get("/api/roles/curator").get_json()["permissions"] == [
        "datasets/read", "search/create", "search/delete", "search/read"]
