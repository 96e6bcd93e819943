"""What the identity tests of API tokens share: token bodies, people with tokens and calls
made with them."""
from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from fairhub import db
from fairhub.identity.models import Role
from fairhub.identity.service import tokens, users
from fairhub.testing import bearer

MISSING = object()
BAD_IDS = ["abc", "0", "-1", "1.5", "2147483648", "99999999999999999999", "2000000000"]


def from_now(**delta) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def token_body(**overrides) -> dict:
    body = {"name": "nightly upload", "role": "data-manager",
            "valid_to": from_now(days=30).isoformat(), "reason": "CI uploads"}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not MISSING}


def post_token(client, caller, /, **overrides):
    """POST /api/tokens as ``caller`` with a valid body changed by ``overrides``."""
    return client.post("/api/tokens", json=token_body(**overrides), headers=caller.headers)


def my_tokens(client, owner) -> list[dict]:
    response = client.get("/api/tokens", query_string={"page_size": 200}, headers=owner.headers)
    assert response.status_code == 200, response.data
    return response.get_json()["items"]


def created(client, owner, /, **overrides) -> dict:
    """POST a token as ``owner``, then read back what was stored from their list by name."""
    name = overrides.setdefault("name", f"token-{uuid.uuid4().hex[:8]}")
    assert post_token(client, owner, **overrides).status_code == 201
    matches = [item for item in my_tokens(client, owner) if item["name"] == name]
    assert len(matches) == 1, matches
    return matches[0]


def grant(app, owner, **options) -> SimpleNamespace:
    """Issue a token for ``owner`` as the ``make_token`` fixture does, keeping its id."""
    with app.app_context():
        user = users.get_user(owner.uuid)
        options.setdefault("valid_to", from_now(days=30))
        options.setdefault("name", "granted")
        options.setdefault("reason", "testing")
        token, secret = tokens.issue_token(user, role=options.pop("role", user.role), **options)
        db.session.commit()
        return SimpleNamespace(id=token.id, secret=secret)


def call_me(client, secret: str, ip: str | None = None, headers: dict | None = None):
    """GET /api/user with ``secret``, from the socket peer ``ip`` when given."""
    environ = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return client.get("/api/user", headers={**bearer(secret), **(headers or {})}, **environ)


def admin_view(client, admin, token_id: int) -> dict:
    response = client.get(f"/api/admin/tokens/{token_id}", headers=admin.headers)
    assert response.status_code == 200, response.data
    return response.get_json()


def update_row(app, model, where: dict, **values) -> None:
    """Change a row the API cannot (a past valid_to, a role behind the API's back)."""
    with app.app_context():
        row = db.session.query(model).filter_by(**where).one()
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def add_role(app, code: str, permissions: list[str]) -> None:
    with app.app_context():
        db.session.add(Role(code=code, name=code.title(), based_on="observer",
                            permissions=permissions))
        db.session.commit()


def person(make_user, make_token, role: str) -> SimpleNamespace:
    """A new user of ``role`` with a token of that role in ``headers``."""
    user_uuid = make_user(role)
    return SimpleNamespace(uuid=user_uuid, headers=bearer(make_token(user_uuid)))


def shown(peer: str) -> str:
    """How the server names a peer address: IPv4-mapped IPv6 as plain IPv4."""
    address = ipaddress.ip_address(peer)
    return str(getattr(address, "ipv4_mapped", None) or address)


@pytest.fixture
def manager(make_user, make_token):
    """A data manager (may create tokens) with a token of their own role."""
    return person(make_user, make_token, "data-manager")


@pytest.fixture
def admin(make_user, make_token):
    """An administrator (tokens/manage, audit/read, users/*)."""
    return person(make_user, make_token, "admin")
