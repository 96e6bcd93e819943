"""A worker remembers a passed check of a reusable API token for TOKENS_CACHE_SECONDS: changes
made elsewhere count once its copy is that old, changes made through it at once, and what
depends on the request (the secret, the time, the client's address) is checked every time."""
from __future__ import annotations

import time

import pytest

from fairhub import utcnow
from fairhub.identity.models import ApiToken
from fairhub.identity.service import tokens
from fairhub.testing import assert_error

from tokens_support import call_me, grant, person, update_row


@pytest.fixture
def app(make_app):
    return make_app({"TOKENS_CACHE_SECONDS": 60})


@pytest.fixture
def manager(make_user, make_token):
    return person(make_user, make_token, "data-manager")


def test_a_change_made_elsewhere_counts_once_the_check_is_old(app, client, manager,
                                                              monkeypatch):
    token = grant(app, manager)
    assert call_me(client, token.secret).status_code == 200
    update_row(app, ApiToken, {"id": token.id}, revoked_at=utcnow())  # as another worker would
    assert call_me(client, token.secret).status_code == 200  # remembered
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert_error(call_me(client, token.secret), 401, message="revoked")


@pytest.mark.parametrize("change", ["revoke the token", "archive its owner"])
def test_a_change_made_through_this_worker_counts_at_once(app, client, manager, make_user,
                                                         make_token, change):
    token = grant(app, manager)
    assert call_me(client, token.secret).status_code == 200
    if change == "revoke the token":
        response = client.delete(f"/api/tokens/{token.id}", headers=manager.headers)
    else:
        admin = person(make_user, make_token, "admin")
        response = client.post(f"/api/users/{manager.uuid}/archive", headers=admin.headers,
                               json={"reason": "left"})
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    assert call_me(client, token.secret).status_code == 401


def test_the_secret_and_the_clients_address_are_checked_every_time(app, client, manager):
    token = grant(app, manager, allowed_ips=["10.0.0.0/8"])
    assert call_me(client, token.secret, ip="10.1.2.3").status_code == 200
    assert call_me(client, token.secret, ip="10.1.2.3").status_code == 200  # remembered
    assert_error(call_me(client, token.secret, ip="192.0.2.1"), 401)
    forged = token.secret[:-4] + ("aaaa" if not token.secret.endswith("aaaa") else "bbbb")
    assert_error(call_me(client, forged), 401, message="not valid")


def test_failed_checks_and_single_use_tokens_are_never_remembered(app, client, manager):
    checks = app.extensions[tokens.CHECKS_EXTENSION]
    single = grant(app, manager, single_use=True)
    assert call_me(client, single.secret).status_code == 200
    assert_error(call_me(client, single.secret), 401, message="already been used")
    revoked = grant(app, manager)
    update_row(app, ApiToken, {"id": revoked.id}, revoked_at=utcnow())
    assert_error(call_me(client, revoked.secret), 401, message="revoked")
    assert checks == {}
    reusable = grant(app, manager)
    assert call_me(client, reusable.secret).status_code == 200
    assert len(checks) == 1  # what the assertion above would see of a remembered token
