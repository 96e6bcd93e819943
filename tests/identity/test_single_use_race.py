"""A single-use API token raced by many concurrent requests across several gunicorn workers.

The user and the token are made with the ``fairhub`` CLI on the database the live server
migrated, so every piece runs as in production: separate processes, one database. The audit
log and the token's row are then read straight from that database.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date, timedelta

import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from fairhub.identity.models import ApiToken, AuditEvent
from sample_plugin import SAMPLE

RACERS = 40
USED_UP = "The single-use API token has already been used."
RACER = "racer@example.org"


def cli_env(database_url: str, tmp_path) -> dict:
    """The environment the live_server fixture gives gunicorn, for the CLI."""
    return {
        **os.environ,
        "FAIRHUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "FAIRHUB_DATABASE_URL": database_url,
        "FAIRHUB_PLUGINS": SAMPLE,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


def fairhub(env: dict, *args: str, stdin: str = "") -> str:
    """Run ``python -m fairhub ARGS`` and return its stdout; fail the test on a non-zero exit."""
    done = subprocess.run([sys.executable, "-m", "fairhub", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def single_use_token(env: dict, email: str) -> str:
    valid_to = (date.today() + timedelta(days=30)).isoformat()
    return fairhub(env, "tokens", "create", email, "--name", "race", "--role", "data-manager",
                   "--valid-to", valid_to, "--single-use", "--reason", "race").strip()


def race(url: str, secret: str, count: int) -> list[requests.Response]:
    """Fire ``count`` requests with one token at once: every thread waits at a barrier first."""
    barrier = threading.Barrier(count)
    responses: list = [None] * count

    def fire(index: int) -> None:
        barrier.wait()
        try:
            responses[index] = requests.get(url, headers={"Authorization": f"Bearer {secret}"},
                                            timeout=60)
        except requests.RequestException as exc:  # reported by the test, not lost in a thread
            responses[index] = exc

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def audit_rejections(database_url: str, token_id: int) -> tuple[list, ApiToken]:
    """The token's ``token``/``reject`` audit events and the token, read straight from SQL."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            events = session.scalars(select(AuditEvent).where(
                AuditEvent.type == "token", AuditEvent.action == "reject",
                AuditEvent.token_id == token_id)).all()
            token = session.get(ApiToken, token_id)
            session.expunge_all()
            return events, token
    finally:
        engine.dispose()


def test_single_use_token_succeeds_exactly_once_across_workers(live_server, database_url,
                                                              tmp_path):
    base = live_server(workers=4)
    env = cli_env(database_url, tmp_path)
    fairhub(env, "users", "create", RACER, "--role", "data-manager", "--approved",
            stdin="racer-password\n")
    secret = single_use_token(env, RACER)

    responses = race(f"{base}/api/user", secret, RACERS)
    assert all(isinstance(r, requests.Response) for r in responses), responses

    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    assert winners[0].json()["email"] == RACER
    token_id = winners[0].json()["token_id"]
    for response in responses:
        if response is not winners[0]:
            assert response.status_code == 401, response.text
            assert response.json()["error"]["message"] == USED_UP
    late = requests.get(f"{base}/api/tokens", headers={"Authorization": f"Bearer {secret}"},
                        timeout=30)
    assert late.status_code == 401 and late.json()["error"]["message"] == USED_UP

    events, token = audit_rejections(database_url, token_id)
    assert len(events) == RACERS  # the race's losers and the late caller
    assert {event.details["reason"] for event in events} == {USED_UP}
    assert {(event.target_type, event.target_code) for event in events} == {
        ("token", str(token_id))}
    assert {event.actor_email for event in events} == {RACER}
    assert token.single_use and token.used_at is not None
    assert token.use_count == 1
