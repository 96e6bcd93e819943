"""Fixtures of the requests plugin's tests: people with roles, requestable datasets."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from fairhub.testing import bearer

from .support import ANSWERS, dataset_body


@pytest.fixture
def fairhub_plugins():
    return ["datasets", "requests"]


@dataclass
class Person:
    uuid: str
    email: str
    headers: dict


@pytest.fixture
def person(make_user, make_token):
    """``person("standard")``: a new approved user with a token, as a :class:`Person`."""

    def make(role: str = "standard", **fields) -> Person:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        user = make_user(role, email=email, **fields)
        return Person(user, email, bearer(make_token(user)))

    return make


@pytest.fixture
def make_dataset(client):
    """Create a dataset owned by ``owner`` (a Person); its code."""

    def make(owner: Person, **options) -> str:
        code = f"ds_{uuid.uuid4().hex[:8]}"
        created = client.post("/api/datasets", json=dataset_body(code, **options),
                              headers=owner.headers)
        assert created.status_code == 201, created.get_json()
        return code

    return make


@pytest.fixture
def share(client):
    """Give ``who`` (a Person) ``level`` on dataset ``code`` as ``owner``."""

    def give(owner: Person, code: str, who: Person, level: str) -> None:
        answer = client.post(f"/api/datasets/{code}/grants", json={"user": who.email,
                                                                    "level": level},
                             headers=owner.headers)
        assert answer.status_code in (200, 201), answer.get_json()

    return give


@pytest.fixture
def ask(client):
    """POST a request for dataset ``code`` as ``who``; the response."""

    def send(who: Person, code: str, **body):
        body = {"dataset": code, "answers": ANSWERS, **body}
        return client.post("/api/requests", json=body, headers=who.headers)

    return send


@pytest.fixture
def cast(person, make_dataset, share):
    """An owner, a reviewer, a researcher and a bystander around one requestable dataset."""
    owner, reviewer = person("data-manager"), person("data-manager")
    researcher, other = person("standard"), person("standard")
    code = make_dataset(owner)
    share(owner, code, reviewer, "reviewer")
    return {"owner": owner, "reviewer": reviewer, "researcher": researcher, "other": other,
            "dataset": code}
