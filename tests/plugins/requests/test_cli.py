"""The requests plugin's commands: purging archived requests, the mail outbox."""
from __future__ import annotations

import re

import pytest

from fairhub.testing import assert_error

from .test_lifecycle import action
from .test_notifications import smtp  # noqa: F401  (the test's SMTP server)


@pytest.fixture
def fairhub_env(fairhub_env, smtp):  # noqa: F811
    """The commands send mail to the test's SMTP server; the app keeps it in the outbox."""
    return {**fairhub_env, "FAIRHUB_REQUESTS_SMTP_URL": smtp.url}


@pytest.fixture
def app(make_app, fairhub_cli):
    """An app on the commands' (migrated) database."""
    return make_app(create_tables=False)


def test_withdraw_archive_and_purge(client, cast, ask, fairhub_cli):
    researcher, owner, reviewer = cast["researcher"], cast["owner"], cast["reviewer"]
    code = ask(researcher, cast["dataset"]).get_json()["code"]
    assert_error(action(client, reviewer, code, "withdraw"), 403)
    withdrawn = action(client, researcher, code, "withdraw")
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert_error(action(client, researcher, code, "withdraw"), 409)
    # Only an owner archives; a reviewer is refused.
    assert_error(action(client, reviewer, code, "archive"), 403)
    archived = action(client, owner, code, "archive", reason="Closed.")
    assert archived.get_json()["status"] == "archived" and archived.get_json()["archived_at"]
    kept = fairhub_cli("requests", "purge")
    assert kept.exit_code == 0 and "Purged 0" in kept.output
    purged = fairhub_cli("requests", "purge", "--days", "0")
    assert purged.exit_code == 0 and "Purged 1" in purged.output, purged.output
    assert_error(client.get(f"/api/requests/{code}", headers=researcher.headers), 404)


def test_the_outbox_lists_unsent_mail_and_sends_it(client, cast, ask, fairhub_cli, smtp):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    listed = fairhub_cli("outbox")
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert re.split(r" {2,}", header) == ["ID", "KIND", "REQUEST", "TO", "SUBJECT", "STATE"]
    starts = [header.index(name) for name in ("REQUEST", "TO", "STATE")]
    assert [row[start:].split("  ")[0] for start in starts[::2]] == [code, "unsent, 0 attempts"]
    assert cast["owner"].email in row[starts[1]:].split("  ")[0] and "submitted" in row
    sent = fairhub_cli("outbox", "send")
    assert sent.exit_code == 0 and "Sent 1 messages; 0 failed." in sent.output, sent.output
    (to, message), = smtp.wait_for(1)
    assert cast["reviewer"].email in to and code in message["Subject"]
    empty = fairhub_cli("outbox")
    assert empty.stdout == "" and empty.stderr == "No unsent mail.\n"
    everything = fairhub_cli("outbox", "--all").stdout.splitlines()
    assert len(everything) == 2 and everything[1][starts[2]:].startswith("sent ")
