"""What the identity tests of sessions and the audit log share: Alice and her password, the
calls they make, and a plugin of their own."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import cache

import pytest
from flask.views import MethodView
from sqlalchemy import update

from fairhub import Blueprint, Conflict, Event, Permission, db, emit, hookimpl
from fairhub.identity.models import User
from fairhub.identity.service.passwords import hash_password

PASSWORD = "correct horse battery"
ALICE = "alice@example.org"


def login(client, email=ALICE, password=PASSWORD, **kwargs):
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def session_token(client, email=ALICE, password=PASSWORD) -> str:
    response = login(client, email, password)
    assert response.status_code == 200, response.data
    return response.get_json()["access_token"]


def audit(client, headers, **query) -> list[dict]:
    """The audit events matching ``query``, newest first (one page of up to 200)."""
    response = client.get("/api/audit", headers=headers, query_string={"page_size": 200, **query})
    assert response.status_code == 200, response.data
    return response.get_json()["items"]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def client_at(app, address: str):
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


class ProbePlugin:
    """A plugin of this file: a permission guests hold, and routes emitting audit events."""

    FAIRHUB_PLUGIN_NAME = "probe"

    @hookimpl
    def fairhub_permissions(self):
        return [Permission("probe/read", "Read the probe.", default_roles=("guest",))]

    @hookimpl
    def fairhub_blueprints(self):
        blp = Blueprint("probe", __name__, url_prefix="/api/probe", description="Test probe.")

        @blp.route("")
        class Probe(MethodView):
            @blp.require_permission("probe/read")
            @blp.response(200)
            def get(self):
                """Answer callers holding probe/read."""
                return {"ok": True}

        @blp.route("/<outcome>")
        class Act(MethodView):
            @blp.require_permission()
            @blp.response(204)
            def post(self, outcome):
                """Emit an audit event, then commit, or fail when ``outcome`` is ``fail``."""
                emit(Event("probe", outcome, target={"type": "probe", "code": outcome}))
                if outcome == "fail":
                    raise Conflict("The probe action failed after its event.")
                db.session.commit()

        return [blp]


@cache
def password_hash() -> str:
    """PASSWORD's Argon2 hash, computed once: hashing is slow on purpose."""
    return hash_password(PASSWORD)


@pytest.fixture
def make_member(app, make_user):
    """``make_member(email, **fields)``: a standard user whose password is PASSWORD."""

    def factory(email: str, **fields) -> str:
        uuid = make_user("standard", email=email, **fields)
        with app.app_context():
            db.session.execute(update(User).where(User.uuid == uuid)
                               .values(password_hash=password_hash()))
            db.session.commit()
        return uuid

    return factory


@pytest.fixture
def alice(make_member) -> str:
    """An approved standard user with a password; returns the uuid."""
    return make_member(ALICE)


@pytest.fixture
def admin(auth_headers) -> dict:
    return auth_headers("admin")
