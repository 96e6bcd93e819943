"""What every request reads: credentials and roles fresh from the database, the request's
connections given back, the answer of /api/user in its schema's shape."""
from __future__ import annotations

import importlib
import uuid

import pytest
from fairhub.db import dispose_engines, engines
from fairhub.testing import assert_error, bearer
from sqlalchemy import create_engine, text

PASSWORD = "correct horse battery"


@pytest.fixture
def worker(make_app):
    """A second app on the same database: another worker or host of the same service."""
    return make_app(create_tables=False).test_client()


def create_role(client, headers, code: str, permissions: list[str]) -> None:
    response = client.post("/api/roles", headers=headers, json={
        "code": code, "name": code.title(), "based_on": "observer", "permissions": permissions})
    assert response.status_code == 201, response.get_data(as_text=True)


def edit_role(client, headers, code: str, permissions: list[str]) -> None:
    response = client.patch(f"/api/roles/{code}", headers=headers,
                            json={"permissions": permissions})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_role_edit_counts_on_the_next_request_of_another_worker(client, worker, make_user,
                                                                  make_token, auth_headers):
    admin = auth_headers("admin")
    create_role(client, admin, "auditor", ["users/read"])
    holder = bearer(make_token(make_user("auditor")))
    assert worker.get("/api/users", headers=holder).status_code == 200
    assert_error(worker.get("/api/audit", headers=holder), 403, "forbidden", "audit/read")

    edit_role(client, admin, "auditor", ["audit/read"])
    assert_error(worker.get("/api/users", headers=holder), 403, "forbidden", "users/read")
    assert worker.get("/api/audit", headers=holder).status_code == 200
    assert worker.get("/api/user", headers=holder).get_json()["permissions"] == ["audit/read"]


def test_a_token_of_a_custom_role_is_capped_by_its_edits_at_once(client, worker, make_user,
                                                                 make_token, auth_headers):
    admin = auth_headers("admin")
    create_role(client, admin, "reader", ["groups/read", "users/read"])
    narrow = bearer(make_token(make_user("data-steward"), role="reader"))
    assert worker.get("/api/users", headers=narrow).status_code == 200

    edit_role(client, admin, "reader", ["groups/read"])
    assert_error(worker.get("/api/users", headers=narrow), 403, "forbidden", "users/read")
    assert worker.get("/api/groups", headers=narrow).status_code == 200


def test_a_session_follows_its_users_role_edits_at_once(client, worker, make_user,
                                                        auth_headers):
    admin = auth_headers("admin")
    create_role(client, admin, "viewer", ["users/read"])
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.org"
    make_user("viewer", email=email, password=PASSWORD)
    login = worker.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    session = bearer(login.get_json()["access_token"])
    assert worker.get("/api/users", headers=session).status_code == 200

    edit_role(client, admin, "viewer", [])
    assert_error(worker.get("/api/users", headers=session), 403, "forbidden", "users/read")


def test_me_answers_exactly_what_its_schema_dumps(app, client, make_user, make_token):
    from fairhub.identity.schemas import MeSchema
    from fairhub.identity.views.users import me_view

    headers = bearer(make_token(make_user("data-manager", first_name="Mia")))
    with app.test_request_context("/api/user", headers=headers):
        from fairhub import current_actor

        expected = MeSchema().dump(me_view(current_actor()))
    assert client.get("/api/user", headers=headers).get_json() == expected


def test_each_request_gives_its_connections_back(app, client, auth_headers):
    headers = auth_headers("data-manager")
    for path in ("/api/health", "/api/user", "/api/tokens"):
        assert client.get(path, headers=headers).status_code == 200
    assert_error(client.get("/api/user", headers=bearer("fh_0123456789abcdef" + "x" * 40)), 401)
    # Only the read connection stays out of the pool: kept for the thread's next request.
    assert sum(engine.pool.checkedout() for engine in engines(app)) == 1
    dispose_engines(app)
    assert all(engine.pool.checkedout() == 0 for engine in engines(app))
    assert all(engine.pool.checkedin() == 0 for engine in engines(app))


def test_a_connection_the_server_dropped_while_idle_is_replaced(make_app, fairhub_backend,
                                                                database_url, monkeypatch):
    if fairhub_backend != "postgresql":
        pytest.skip("SQLite connections are files; only server connections are dropped")
    database_module = importlib.import_module("fairhub.db")  # fairhub.db is also the handle
    name = f"fairhub-test-{uuid.uuid4().hex[:8]}"
    app = make_app({"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"application_name": name}}},
                   create_tables=False)
    client = app.test_client()
    assert client.get("/api/health").status_code == 200
    monkeypatch.setattr(database_module, "KEEP_IDLE_SECONDS", 0)  # the next request finds it idle
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        dropped = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name"), {"name": name}).scalar_one()
    killer.dispose()
    assert dropped >= 1
    assert client.get("/api/health").status_code == 200


def test_me_shows_my_groups_at_once_through_a_token_or_a_session(client, worker, make_user,
                                                                  make_token, auth_headers):
    admin = auth_headers("admin")
    email = f"member-{uuid.uuid4().hex[:8]}@example.org"
    member = make_user("observer", email=email, password=PASSWORD)
    login = worker.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    callers = [bearer(make_token(member)), bearer(login.get_json()["access_token"])]
    for code in ("zoo", "lab"):
        response = client.post("/api/groups", headers=admin, json={
            "code": code, "name": code.title(), "members": [{"uuid": member}]})
        assert response.status_code == 201, response.get_data(as_text=True)
    for headers in callers:
        groups = worker.get("/api/user", headers=headers).get_json()["groups"]
        assert groups == [{"code": "lab", "name": "Lab"}, {"code": "zoo", "name": "Zoo"}]
    assert client.delete("/api/groups/zoo", headers=admin).status_code == 204
    for headers in callers:
        groups = worker.get("/api/user", headers=headers).get_json()["groups"]
        assert groups == [{"code": "lab", "name": "Lab"}]
