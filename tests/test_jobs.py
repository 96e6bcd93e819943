"""Background jobs: run on threads of the web process, by `fairhub worker` in a process of its
own, on a Redis queue shared by apps, after a fork and under gunicorn; failures are logged,
not fatal; periodic jobs are queued when due, once however many consumers look.

This module is also the plugin of these tests' apps (and of the processes they start): it
declares the jobs and adds a route that queues one.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests
from flask import current_app, request
from huey.consumer import Scheduler
from sqlalchemy import text

from fairhub import Blueprint, Job, db, enqueue, hookimpl
from fairhub.jobs import queue_of, stop_jobs
from fairhub.plugins import PluginError

FAIRHUB_PLUGIN_NAME = "jobs_test"
PLUGIN = __name__  # how a child process imports this module
WAIT_SECONDS = 30

# The plugin


@hookimpl
def fairhub_jobs():
    return [Job(record), Job(fail), Job(hold), Job(tick, schedule=in_2030)]


blp = Blueprint("jobs_test", __name__, url_prefix="/api/jobs-test", description="Test jobs.")


@blp.route("/record", methods=["POST"])
@blp.public
def record_route():
    """Queue a `record` job writing to the path given in the body."""
    enqueue(record, request.get_json()["path"], at_once=True)
    return {"pid": os.getpid()}


@hookimpl
def fairhub_blueprints():
    return [blp]


# The jobs


def record(path: str) -> None:
    """Write to ``path`` where the job ran: process, thread, app; it reads the database too."""
    db.session.execute(text("SELECT 1"))
    done = {"pid": os.getpid(), "thread": threading.current_thread().name,
            "instance": current_app.instance_path}
    Path(path + ".tmp").write_text(json.dumps(done))
    os.replace(path + ".tmp", path)


def fail(message: str) -> None:
    """Raise."""
    raise RuntimeError(message)


RELEASE = threading.Event()


def hold() -> None:
    """Keep a job thread busy until RELEASE is set."""
    RELEASE.wait(WAIT_SECONDS)


TICKS: list[str] = []  # the periodic job's runs in this process, by instance


def tick() -> None:
    """A periodic job: note the app it ran for."""
    TICKS.append(current_app.instance_path)


def in_2030(moment: datetime) -> bool:
    """The periodic job's schedule: every minute of 2030 (never while the tests run)."""
    return moment.year == 2030


def wait_for(path: Path, process: subprocess.Popen | None = None) -> dict:
    """What ``record`` wrote to ``path``, once it is there."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited: {process.stderr.read()}")
        assert time.monotonic() < deadline, f"no job wrote {path}"
        time.sleep(0.05)
    return json.loads(path.read_text())


@pytest.fixture
def fairhub_plugins():
    return [PLUGIN]


@pytest.fixture
def jobs_app(make_app):
    """``jobs_app(**settings)``: an app with jobs, whose job threads stop with the test."""
    apps = []

    def factory(tables: bool = False, **settings):
        app = make_app({"JOBS_POLL_SECONDS": 0.1, **settings}, create_tables=tables)
        apps.append(app)
        return app

    yield factory
    RELEASE.set()
    for app in apps:
        stop_jobs(app)
    RELEASE.clear()


@pytest.fixture
def marker(tmp_path):
    """``marker(name)``: a path for a job to write to."""
    return lambda name: tmp_path / f"{name}.json"


# In the web process


def test_a_job_runs_on_threads_started_by_the_first_enqueue(jobs_app, marker):
    app = jobs_app()
    assert queue_of(app)._consumer is None  # nothing runs before there is work
    with app.app_context():
        enqueue(record, str(marker("first")), at_once=True)
    done = wait_for(marker("first"))
    assert done["pid"] == os.getpid() and done["thread"].startswith("Worker")
    assert done["instance"] == app.instance_path
    threads = [thread for _w, thread in queue_of(app)._consumer.worker_threads]
    stop_jobs(app)
    assert not any(thread.is_alive() for thread in threads)
    with app.app_context():  # a later job starts them again
        enqueue(Job(record), str(marker("again")), at_once=True)
    assert wait_for(marker("again"))["pid"] == os.getpid()


def test_a_job_that_raises_is_logged_and_the_threads_go_on(jobs_app, marker, caplog):
    app = jobs_app(JOBS_WORKERS=1)
    with app.app_context():
        enqueue(fail, "boom at row 3", at_once=True)
        enqueue(record, str(marker("after")), at_once=True)
    wait_for(marker("after"))
    failed = [r for r in caplog.records if r.name == "fairhub.jobs"]
    assert len(failed) == 1 and failed[0].levelname == "ERROR"
    assert f"{Job(fail).name}('boom at row 3',) failed" in failed[0].getMessage()
    assert str(failed[0].exc_info[1]) == "boom at row 3"


def test_the_first_request_starts_the_threads_when_jobs_wait(jobs_app, marker, tmp_path):
    producer = jobs_app(JOBS_IN_PROCESS=False)
    with producer.app_context():
        enqueue(record, str(marker("waiting")), at_once=True)
    time.sleep(0.3)
    assert not marker("waiting").exists() and queue_of(producer)._consumer is None
    idle = jobs_app(INSTANCE_PATH=str(tmp_path / "another-instance"))  # an empty queue
    assert idle.test_client().get("/api/health").status_code == 200
    assert queue_of(idle)._consumer is None
    consumer = jobs_app()  # another web process of the same instance, say after a restart
    consumer.test_client().get("/api/health")
    assert queue_of(consumer)._consumer is not None
    assert wait_for(marker("waiting"))["pid"] == os.getpid()


def test_jobs_wait_for_the_commit_and_drop_with_a_rollback(jobs_app, marker):
    app = jobs_app(JOBS_IN_PROCESS=False)  # jobs stay in the queue, to be looked at
    queue = queue_of(app)

    def queued() -> list[str]:
        return [Path(task.args[1][0]).stem for task in queue.huey.pending()]

    with app.app_context():
        db.session.execute(text("SELECT 1"))
        enqueue(record, str(marker("rolled_back")))
        db.session.rollback()
        enqueue(record, str(marker("kept")))
        with db.session.begin_nested() as savepoint:
            enqueue(record, str(marker("in_savepoint_rolled_back")))
            savepoint.rollback()
        with db.session.begin_nested():
            enqueue(record, str(marker("in_savepoint_released")))
        assert queued() == []  # nothing before the commit
        db.session.commit()
        assert queued() == ["kept", "in_savepoint_released"]
        enqueue(record, str(marker("closed")))
        db.session.close()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    assert queued() == ["kept", "in_savepoint_released"]


def test_jobs_are_declared_functions_with_json_arguments(jobs_app):
    app = jobs_app(JOBS_IN_PROCESS=False)
    with app.app_context():
        with pytest.raises(ValueError, match="is not a job of this app"):
            enqueue(lambda: None)
        with pytest.raises(ValueError, match="is not a job of this app"):
            enqueue(wait_for, "a function no plugin declares")
        with pytest.raises(TypeError, match="JSON values"):
            enqueue(record, object())


class Twin:
    """A plugin declaring a job that the tests' plugin declares too."""

    FAIRHUB_PLUGIN_NAME = "jobs_twin"

    @hookimpl
    def fairhub_jobs(self):
        return [Job(record)]


def test_a_job_declared_twice_stops_start_up(make_app):
    with pytest.raises(PluginError, match=re.escape(
            f"Job {Job(record).name!r} of plugin 'jobs_test' is already declared by plugin "
            "'jobs_twin'")):
        make_app(plugins=[Twin(), PLUGIN], create_tables=False)


def test_a_queue_url_that_is_not_sqlite_or_redis_stops_start_up(jobs_app):
    with pytest.raises(ValueError, match="JOBS_URL"):
        jobs_app(JOBS_URL="postgresql://localhost/jobs")


# Periodic jobs


def look_at_schedules(app, moment: datetime) -> None:
    """What huey's scheduler does once a minute, on the app's queue, as at ``moment``."""
    Scheduler(queue_of(app).huey, threading.Event(), 1, True).enqueue_periodic_tasks(moment)


def test_a_periodic_job_is_queued_and_runs_when_due(jobs_app):
    app = jobs_app(tables=True, JOBS_PERIODIC=True, JOBS_IN_PROCESS=False)
    huey = queue_of(app).huey
    look_at_schedules(app, datetime(2029, 12, 31, 23, 59, 30))
    assert huey.pending_count() == 0  # not due
    look_at_schedules(app, datetime(2030, 1, 1, 3, 0, 12))
    (task,) = huey.pending()
    assert task.name == f"fairhub_periodic:{Job(tick).name}"
    TICKS.clear()
    huey.execute(huey.dequeue())
    assert TICKS == [app.instance_path]


def test_a_due_run_is_queued_by_one_consumer_however_many_look(jobs_app, tmp_path):
    """Two hosts (two queues) on one database: each due minute is queued once, by the first
    consumer that claims it; asking again within the minute queues nothing more."""
    hosts = [jobs_app(tables=(n == 0), JOBS_PERIODIC=True, JOBS_IN_PROCESS=False,
                      INSTANCE_PATH=str(tmp_path / f"host-{n}")) for n in range(2)]

    def queued() -> list[int]:
        return [queue_of(host).huey.pending_count() for host in hosts]

    for second in (1, 2, 40):
        for host in hosts:
            look_at_schedules(host, datetime(2030, 1, 1, 3, 0, second))
        assert queued() == [1, 0]  # the first to look
    for host in reversed(hosts):
        look_at_schedules(host, datetime(2030, 1, 1, 3, 1, 0))
    assert queued() == [1, 1]
    look_at_schedules(hosts[0], datetime(2030, 1, 1, 3, 0, 59))  # a minute already past
    assert queued() == [1, 1]


def test_consumers_racing_for_a_due_run_claim_it_once(jobs_app):
    app = jobs_app(tables=True, JOBS_PERIODIC=True, JOBS_IN_PROCESS=False)
    queue = queue_of(app)
    for minute in range(3):  # the first claim inserts the job's row, later ones update it
        start, won = threading.Barrier(4), []

        def claim(moment=datetime(2030, 1, 1, 3, minute, 5)):
            start.wait()
            won.append(queue.claim(Job(tick).name, moment))

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_SECONDS)
        assert sorted(won) == [False, False, False, True]


def test_the_first_request_starts_the_threads_that_look_at_schedules(jobs_app, tmp_path):
    quiet = jobs_app()  # the test kit's apps queue no periodic jobs
    quiet.test_client().get("/api/health")
    assert queue_of(quiet)._consumer is None
    app = jobs_app(JOBS_PERIODIC=True, INSTANCE_PATH=str(tmp_path / "periodic"))
    assert queue_of(app)._consumer is None
    app.test_client().get("/api/health")
    assert queue_of(app)._consumer.periodic


# In other processes


def test_the_worker_command_runs_jobs_when_web_processes_do_not(jobs_app, marker, fairhub_env):
    app = jobs_app(JOBS_IN_PROCESS=False)
    with app.app_context():
        enqueue(fail, "a broken job", at_once=True)
        enqueue(record, str(marker("by_worker")), at_once=True)
    time.sleep(0.3)
    assert not marker("by_worker").exists()  # the web process does not run jobs
    process = subprocess.Popen(
        [sys.executable, "-m", "fairhub", "worker", "--threads", "1"],
        env={**fairhub_env, "FAIRHUB_JOBS_IN_PROCESS": "false",
             "FAIRHUB_JOBS_POLL_SECONDS": "0.1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        done = wait_for(marker("by_worker"), process)
        assert done["pid"] == process.pid and done["instance"] == app.instance_path
        process.send_signal(signal.SIGINT)  # stops once running jobs end
        out, err = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Running jobs from the SQLite queue" in out and "without periodic jobs" in out
    assert f"Job {Job(fail).name}('a broken job',) failed." in err
    assert "RuntimeError: a broken job" in err


@pytest.fixture
def redis_settings():
    """Settings of a Redis queue of this test's own; skipped without Redis, but not on CI."""
    import redis

    url = os.environ.get("FAIRHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {url} is unreachable: {exc}"
        client.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the Redis tests must run)", pytrace=False)
        pytest.skip(f"{message}; start Redis or set FAIRHUB_TEST_REDIS_URL")
    name = f"fairhub_test_{uuid.uuid4().hex[:12]}"
    yield {"JOBS_URL": url, "JOBS_QUEUE": name}
    keys = list(client.scan_iter(f"huey.*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_redis_queue_is_shared_by_the_apps_of_several_hosts(jobs_app, marker, tmp_path,
                                                              redis_settings):
    web = jobs_app(JOBS_IN_PROCESS=False, **redis_settings)
    other_host = jobs_app(INSTANCE_PATH=str(tmp_path / "other-host"), **redis_settings)
    with web.app_context():
        enqueue(fail, "broken on redis", at_once=True)
        enqueue(record, str(marker("on_redis")), at_once=True)
    time.sleep(0.3)
    assert not marker("on_redis").exists()
    queue_of(other_host).start()
    done = wait_for(marker("on_redis"))
    assert done["instance"] == other_host.instance_path != web.instance_path
    assert queue_of(web).describe().startswith("Redis queue 'fairhub_test_")


def test_a_forked_child_runs_jobs_on_threads_of_its_own(jobs_app, marker):
    app = jobs_app(JOBS_WORKERS=2)
    with app.app_context():  # both threads of the parent stay busy
        enqueue(hold, at_once=True)
        enqueue(hold, at_once=True)
    deadline = time.monotonic() + WAIT_SECONDS
    while queue_of(app).huey.pending_count():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = os.fork()
    if child == 0:  # the child: its job can only run on threads the child starts
        code = 1
        try:
            with app.app_context():
                enqueue(record, str(marker("child")), at_once=True)
            code = 0 if wait_for(marker("child"))["pid"] == os.getpid() else 3
            stop_jobs(app)
        finally:
            os._exit(code)
    _pid, status = os.waitpid(child, 0)
    RELEASE.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert wait_for(marker("child"))["pid"] == child


def test_under_gunicorn_a_worker_runs_the_jobs_it_queues(live_server, marker):
    base = live_server(workers=2)
    answer = requests.post(f"{base}/api/jobs-test/record", json={"path": str(marker("live"))},
                           timeout=10)
    assert answer.status_code == 200, answer.text
    assert wait_for(marker("live"))["pid"] == answer.json()["pid"]
