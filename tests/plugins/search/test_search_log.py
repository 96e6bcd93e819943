"""The search log keeps every search answered: through writes that fail, the app's disposal
and the end of the process serving it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from sqlalchemy import select, text

from fairhub import db
from fairhub.testing import dispose_app, free_port, signed_in

URL = "/api/search/search"


def logged(app, who: bool = False) -> list:
    """The queries in the search log (with their user ids if ``who``), oldest first."""
    from fairhub_search.models import SearchLog

    columns = (SearchLog.query, SearchLog.user_id) if who else (SearchLog.query,)
    with app.app_context():
        rows = db.session.execute(select(*columns).order_by(SearchLog.created_at,
                                                            SearchLog.id)).all()
    return [tuple(row) if who else row[0] for row in rows]


def searched(client, *queries: str) -> None:
    for query in queries:
        response = client.get(URL, query_string={"index": "fair-index", "query": query})
        assert response.status_code == 200, response.get_data(as_text=True)


def rename(app, table: str, to: str) -> None:
    with app.app_context():
        db.session.execute(text(f"ALTER TABLE {table} RENAME TO {to}"))
        db.session.commit()


def test_searches_wait_while_their_log_cannot_be_written(make_app, caplog, empty_database_url):
    """A write that fails keeps its searches for the next one; searches are answered all the
    same. (It renames a table: its tables are its own.)"""
    app = make_app({"SEARCH_LOG_FLUSH_SECONDS": 0})  # every search writes the log at once
    client = signed_in(app)
    searched(client, "asthma")
    rename(app, "search_log", "search_log_away")  # every write of the log now fails for real
    searched(client, "eczema", "dementia")
    assert "Could not write 1 searches to the search log" in caplog.text
    assert "Could not write 2 searches to the search log" in caplog.text
    rename(app, "search_log_away", "search_log")
    assert logged(app) == ["asthma"]
    searched(client, "genetics")
    assert logged(app) == ["asthma", "eczema", "dementia", "genetics"]
    assert "lost" not in caplog.text and "dropped" not in caplog.text


def test_a_worker_keeps_at_most_its_limit_and_says_how_many_it_dropped(make_app, caplog):
    app = make_app({"SEARCH_LOG_FLUSH_SECONDS": 0, "SEARCH_LOG_MAX_PENDING": 2})
    client = signed_in(app)
    rename(app, "search_log", "search_log_away")
    searched(client, "one", "two", "three", "four")
    assert caplog.text.count("its limit (FAIRHUB_SEARCH_LOG_MAX_PENDING)") == 1
    rename(app, "search_log_away", "search_log")
    searched(client, "five")  # dropped too: the two waiting fill the limit until written
    assert logged(app) == ["one", "two"]
    assert "The search log lacks 3 searches, dropped while it could not be written" in \
        caplog.text
    searched(client, "six")
    assert logged(app) == ["one", "two", "six"]


def test_disposing_of_the_app_writes_what_it_kept(make_app, caplog):
    app = make_app()  # the next write is 5 seconds away
    client = signed_in(app)
    searched(client, "asthma", "eczema")
    reader = make_app(create_tables=False)
    assert logged(reader) == []
    dispose_app(app)
    assert logged(reader) == ["asthma", "eczema"]
    assert "search log" not in caplog.text


def test_disposing_of_an_app_that_cannot_write_its_log_says_what_is_lost(make_app, caplog):
    app = make_app()
    searched(signed_in(app), "asthma", "eczema")
    rename(app, "search_log", "search_log_away")
    dispose_app(app)
    assert "2 searches are lost: the search log could not be written" in caplog.text
    rename(app, "search_log_away", "search_log")
    dispose_app(app)  # what was lost is not written later, nor said lost twice
    assert logged(app) == []
    assert caplog.text.count("are lost") == 1


def test_a_search_by_a_user_deleted_since_is_logged_without_them(make_app):
    from fairhub import User

    app = make_app()
    stays, goes = signed_in(app), signed_in(app)
    searched(stays, "asthma")
    searched(goes, "eczema")
    with app.app_context():  # the API archives users and never deletes one: done by hand
        first, last = db.session.scalars(select(User.id).order_by(User.id)).all()
        db.session.execute(text("DELETE FROM api_tokens WHERE owner_id = :id"), {"id": last})
        db.session.execute(text("DELETE FROM users WHERE id = :id"), {"id": last})
        db.session.commit()
    dispose_app(app)
    assert logged(make_app(create_tables=False), who=True) == [("asthma", first),
                                                               ("eczema", None)]


# The process ends


def _search(base: str, secret: str, queries: list[str]) -> None:
    for query in queries:  # a connection each: each worker gets some
        answer = requests.get(f"{base}{URL}", params={"index": "fair-index", "query": query},
                              headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        assert answer.status_code == 200, answer.text


def _ended(pid: int, timeout: float = 30) -> bool:
    """Whether the child process ``pid`` has ended (left for the test kit to reap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as file:
                if file.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def test_gunicorn_workers_stopped_gracefully_write_what_they_kept(live_server, live_token,
                                                                  make_app):
    base = live_server(workers=2, env={"FAIRHUB_SEARCH_LOG_FLUSH_SECONDS": "3600"})
    queries = [f"query{n}" for n in range(20)]
    _search(base, live_token(), queries)
    reader = make_app(create_tables=False)
    assert logged(reader) == []  # kept by the workers: their next write is an hour away
    master = live_server.master(base)
    os.kill(master, signal.SIGTERM)  # what a service manager sends
    assert _ended(master)
    assert sorted(logged(reader)) == sorted(queries)


def test_a_gunicorn_worker_recycled_after_its_max_requests_writes_what_it_kept(
        live_server, live_token, make_app):
    base = live_server(workers=1, env={"FAIRHUB_SEARCH_LOG_FLUSH_SECONDS": "3600",
                                       "GUNICORN_CMD_ARGS": "--max-requests 4"})
    _search(base, live_token(), ["one", "two", "three", "four", "five"])
    reader = make_app(create_tables=False)
    deadline = time.monotonic() + 30
    while len(logged(reader)) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker ends after its fourth answer, then writes
    assert logged(reader) == ["one", "two", "three", "four"]


def test_the_development_server_stopped_with_sigterm_writes_what_it_kept(
        fairhub_env, fairhub_command, live_token, make_app):
    """`fairhub serve` (`make run`) ends as on Ctrl-C when a service manager stops it."""
    fairhub_command("db", "upgrade")
    secret = live_token()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fairhub", "serve", "--port", str(port)],
        env={**fairhub_env, "FAIRHUB_SEARCH_LOG_FLUSH_SECONDS": "3600"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        _search(base, secret, ["asthma", "eczema"])
        reader = make_app(create_tables=False)
        assert logged(reader) == []
        server.terminate()
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait()
    assert logged(reader) == ["asthma", "eczema"]
