"""A reusable token's uses are counted in the worker and written later, losing none: through
writes that fail and the app's disposal."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from fairhub import db
from fairhub.identity.models import ApiToken
from fairhub.testing import dispose_app

from tokens_support import call_me, grant, person

REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_uses BEFORE UPDATE OF use_count ON api_tokens "
               "BEGIN SELECT RAISE(ABORT, 'use counts refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse_uses() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'use counts refused'; END $$",
                   "CREATE TRIGGER refuse_uses BEFORE UPDATE OF use_count ON api_tokens "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_uses()"],
}
ALLOW = {"sqlite": ["DROP TRIGGER refuse_uses"],
         "postgresql": ["DROP TRIGGER refuse_uses ON api_tokens", "DROP FUNCTION refuse_uses()"]}


@pytest.fixture
def manager(make_user, make_token):
    return person(make_user, make_token, "data-manager")


def run(app, statements: list[str]) -> None:
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()


def stored(app, token_id: int) -> tuple:
    """The use count and last address the database holds for a token."""
    with app.app_context():
        return tuple(db.session.execute(select(ApiToken.use_count, ApiToken.last_used_ip)
                                        .where(ApiToken.id == token_id)).one())


def test_uses_wait_while_they_cannot_be_written(app, client, manager, fairhub_backend,
                                                caplog, empty_database_url):
    """Every use writes at once here; a write that fails keeps its counts for the next, and
    the token is accepted all the same. (It adds a trigger: its tables are its own.)"""
    token = grant(app, manager)
    assert call_me(client, token.secret, ip="192.0.2.1").status_code == 200
    run(app, REFUSE[fairhub_backend])  # every write of a use count now fails for real
    assert call_me(client, token.secret, ip="192.0.2.2").status_code == 200
    assert call_me(client, token.secret, ip="192.0.2.3").status_code == 200
    assert "Could not write 1 tokens' use counts to the api_tokens table" in caplog.text
    run(app, ALLOW[fairhub_backend])
    assert stored(app, token.id) == (1, "192.0.2.1")
    assert call_me(client, token.secret, ip="192.0.2.4").status_code == 200
    assert stored(app, token.id) == (4, "192.0.2.4")
    assert "lost" not in caplog.text and "dropped" not in caplog.text


def test_disposing_of_the_app_writes_the_uses_it_kept(make_app, manager, caplog):
    app = make_app({"TOKENS_USAGE_FLUSH_SECONDS": 3600})  # the next write is an hour away
    token = grant(app, manager)
    client = app.test_client()
    for ip in ("192.0.2.1", "192.0.2.2"):
        assert call_me(client, token.secret, ip=ip).status_code == 200
    assert stored(app, token.id) == (0, None)
    dispose_app(app)
    assert stored(app, token.id) == (2, "192.0.2.2")
    assert "use counts" not in caplog.text


def test_disposing_of_an_app_that_cannot_write_them_says_what_is_lost(make_app, manager,
                                                                     fairhub_backend, caplog):
    app = make_app({"TOKENS_USAGE_FLUSH_SECONDS": 3600})
    token = grant(app, manager)
    assert call_me(app.test_client(), token.secret).status_code == 200
    run(app, REFUSE[fairhub_backend])
    dispose_app(app)
    assert "1 tokens' use counts are lost: the api_tokens table could not be written" in \
        caplog.text
    run(app, ALLOW[fairhub_backend])
    dispose_app(app)  # what was lost is not written later
    assert stored(app, token.id) == (0, None)
