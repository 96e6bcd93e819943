"""What the identity tests of users, groups and roles share: people to call as and the
calls they make."""
from __future__ import annotations

import re
import uuid as uuid_module
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fairhub.testing import bearer

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
