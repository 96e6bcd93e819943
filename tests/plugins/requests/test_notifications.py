"""Mail about requests, delivered by a background job to a real SMTP server (aiosmtpd)
started by the test."""
from __future__ import annotations

import email
import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from fairhub.testing import free_port

from .test_lifecycle import action


@dataclass
class Inbox:
    """What the test's SMTP server received: (recipients, parsed message) pairs."""

    url: str
    received: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.received.append((sorted(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 OK"

    def wait_for(self, count: int) -> list:
        deadline = time.monotonic() + 5
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def smtp():
    port = free_port()
    inbox = Inbox(f"smtp://127.0.0.1:{port}")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox
    controller.stop()


# The app's job threads look at the queue often, and one thread sends the mail in the order of
# the changes it tells of.
MAIL_JOBS = {"JOBS_POLL_SECONDS": 0.05, "JOBS_WORKERS": 1}


@pytest.fixture
def app(make_app, smtp):
    return make_app({"REQUESTS_SMTP_URL": smtp.url, "REQUESTS_MAIL_FROM": "catalogue@example.org",
                     **MAIL_JOBS})


def test_each_step_mails_the_right_people(client, cast, ask, smtp, app):
    researcher, reviewer, owner = cast["researcher"], cast["reviewer"], cast["owner"]
    code = ask(researcher, cast["dataset"]).get_json()["code"]
    (to, message), = smtp.wait_for(1)
    assert to == sorted([owner.email, reviewer.email])
    assert message["From"] == "catalogue@example.org"
    assert message["Subject"] == f"Access request {code} for Dataset {cast['dataset']}"
    body = message.get_payload(decode=True).decode()
    assert "Asthma phenotypes" in body and "Table 1, Table 2" in body and researcher.email in body
    action(client, reviewer, code, "return", reason="Which cohort years?")
    action(client, researcher, code, "submit")
    action(client, reviewer, code, "approve", reason="Well argued.")
    action(client, owner, code, "archive")
    received = smtp.wait_for(5)
    assert [to for to, _ in received[1:]] == [[researcher.email], sorted(
        [owner.email, reviewer.email]), [researcher.email], [researcher.email]]
    assert "needs changes" in received[1][1]["Subject"]
    assert "Which cohort years?" in received[1][1].get_payload(decode=True).decode()
    assert received[3][1]["Subject"].endswith("is approved")
    assert "Well argued." in received[3][1].get_payload(decode=True).decode()
    assert received[4][1]["Subject"].endswith("is archived")
    sent = [message.sent_at for message in outbox(app, until=lambda m: m.sent_at)]
    assert len(sent) == 5 and all(sent)


def test_a_denial_mails_the_requester(client, cast, ask, smtp):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    action(client, cast["reviewer"], code, "deny", reason="Outside the consent.")
    to, message = smtp.wait_for(2)[1]
    assert to == [cast["researcher"].email] and message["Subject"].endswith("is denied")
    assert "Outside the consent." in message.get_payload(decode=True).decode()


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.__class__.__init__.__globals__ }}",
    "{{ dataset.name.format.__self__.__class__ }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ config }}",
    "{{ unclosed",
])
def test_a_template_reaching_for_python_falls_back_safely(make_app, smtp, template, person,
                                                          make_dataset, share):
    app = make_app({"REQUESTS_SMTP_URL": smtp.url, "REQUESTS_MAIL_TEMPLATES": {
        "submitted": {"subject": "Hostile", "body": template}}, **MAIL_JOBS})
    ask_for_access(app, person, make_dataset)
    (_to, message), = smtp.wait_for(1)
    body = message.get_payload(decode=True).decode()
    assert message["Subject"].startswith("Access request")  # the built-in template
    assert "class" not in body and "globals" not in body and "SECRET" not in body


def test_a_safe_custom_template_is_used(make_app, smtp, person, make_dataset):
    app = make_app({"REQUESTS_SMTP_URL": smtp.url, "REQUESTS_MAIL_TEMPLATES": {"submitted": {
        "subject": "New: {{ request.code }}",
        "body": "{{ requester.email }} wants {{ dictionaries | length }} tables."}}, **MAIL_JOBS})
    _owner, researcher, created = ask_for_access(app, person, make_dataset)
    (_to, message), = smtp.wait_for(1)
    assert message["Subject"] == f"New: {created['code']}"
    assert message.get_payload(decode=True).decode().strip() == \
        f"{researcher.email} wants 2 tables."


@pytest.fixture
def refusing():
    """An SMTP server that refuses every message."""

    class Refusing(Inbox):
        async def handle_DATA(self, server, session, envelope):
            return "554 5.7.1 Refused for the test"

    port = free_port()
    controller = Controller(Refusing(f"smtp://127.0.0.1:{port}"), hostname="127.0.0.1",
                            port=port)
    controller.start()
    yield controller.handler
    controller.stop()


@pytest.mark.parametrize("server", ["unreachable", "refusing"])
def test_a_server_that_fails_keeps_the_mail(make_app, person, make_dataset, request, server):
    url = (f"smtp://127.0.0.1:{free_port()}" if server == "unreachable"
           else request.getfixturevalue("refusing").url)
    app = make_app({"REQUESTS_SMTP_URL": url, "REQUESTS_SMTP_TIMEOUT_SECONDS": 2, **MAIL_JOBS})
    ask_for_access(app, person, make_dataset)
    (message,) = outbox(app, until=lambda m: m.attempts)
    assert message.sent_at is None and message.attempts == 1 and message.last_error
    if server == "refusing":
        assert "554" in message.last_error and "Refused for the test" in message.last_error


def ask_for_access(app, person, make_dataset) -> tuple:
    """A researcher asks for access to a new dataset of an owner: (owner, researcher, the
    request as answered)."""
    owner, researcher = person("data-manager"), person()
    code = make_dataset(owner)
    created = app.test_client().post("/api/requests", json={
        "dataset": code, "answers": {"project": {"project_name": "P"}}},
        headers=researcher.headers)
    assert created.status_code == 201
    return owner, researcher, created.get_json()


def outbox(app, until) -> list:
    """The outbox's mail once ``until`` holds for each (the jobs sending it have tried), or
    as it is after five seconds."""
    from sqlalchemy import select

    from fairhub import db
    from fairhub_requests.models import OutboxMessage

    deadline = time.monotonic() + 5
    while True:
        with app.app_context():
            messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        if all(map(until, messages)) or time.monotonic() > deadline:
            return messages
        time.sleep(0.02)


def test_only_approvers_who_may_decide_are_listed_and_mailed(client, cast, ask, person, share,
                                                             smtp):
    """An owner or reviewer grant is not enough: the holder's role must allow deciding."""
    owner, code = cast["owner"], cast["dataset"]
    steward = person("data-steward")
    no_review = client.post("/api/roles", headers=steward.headers, json={
        "code": "curator", "name": "Curator", "based_on": "data-manager",
        "permissions": ["datasets/read", "datasets/update", "requests/read"]})
    assert no_review.status_code == 201, no_review.get_json()
    standard, curator = person("standard"), person("curator")
    share(owner, code, standard, "reviewer")
    share(owner, code, curator, "owner")
    may_decide = sorted([owner.email, cast["reviewer"].email])

    dataset = client.get(f"/api/datasets/{code}", headers=owner.headers).get_json()
    assert sorted(a["email"] for a in dataset["approvers"]) == may_decide
    request_code = ask(cast["researcher"], code).get_json()["code"]
    (to, _message), = smtp.wait_for(1)
    assert to == may_decide
    read = client.get(f"/api/requests/{request_code}", headers=owner.headers).get_json()
    approvers = read["dictionaries"][0]["dataset"]["approvers"]
    assert sorted(a["email"] for a in approvers) == may_decide
    # What they were left out for: they cannot decide.
    assert action(client, standard, request_code, "approve", reason="x").status_code == 403
    assert action(client, curator, request_code, "approve", reason="x").status_code == 403
