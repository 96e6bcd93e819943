"""Background jobs: run on threads of the web process, by `worker` in a process of its own, on a
Redis queue shared by apps, after a fork and under gunicorn; failures are logged, not fatal.

This module is also the plugin of these tests' apps (and of the processes they start): it sets
the jobs up, adds the `worker` command under `fairhub jobs-test` and a route that queues a job.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import click
import pytest
import requests
from flask import current_app, request
from sqlalchemy import text

from fairhub import Blueprint, db, hookimpl
from fairhub_files.jobs import (
    JOB_SETTINGS,
    enqueue,
    enqueue_after_commit,
    init_jobs,
    job,
    queue_of,
    register,
    stop_jobs,
    worker,
)

FAIRHUB_PLUGIN_NAME = "jobs_test"
PLUGIN = __name__  # how a child process imports this module
WAIT_SECONDS = 30

# The plugin


@hookimpl
def fairhub_config_defaults():
    return {setting.name: setting.default for setting in JOB_SETTINGS}


@hookimpl
def fairhub_init_app(app):
    init_jobs(app)


@hookimpl
def fairhub_commands(cli):
    group = click.Group("jobs-test", help="Jobs of the jobs tests.")
    group.add_command(worker)
    cli.add_command(group)


blp = Blueprint("jobs_test", __name__, url_prefix="/api/jobs-test", description="Test jobs.")


@blp.route("/record", methods=["POST"])
@blp.public
def record_route():
    """Queue a `record` job writing to the path given in the body."""
    enqueue(record, request.get_json()["path"])
    return {"pid": os.getpid()}


@hookimpl
def fairhub_blueprints():
    return [blp]


# The jobs


@job
def record(path: str) -> None:
    """Write to ``path`` where the job ran: process, thread, app; it reads the database too."""
    db.session.execute(text("SELECT 1"))
    done = {"pid": os.getpid(), "thread": threading.current_thread().name,
            "instance": current_app.instance_path}
    Path(path + ".tmp").write_text(json.dumps(done))
    os.replace(path + ".tmp", path)


@job
def fail(message: str) -> None:
    """Raise."""
    raise RuntimeError(message)


RELEASE = threading.Event()


@job
def hold() -> None:
    """Keep a job thread busy until RELEASE is set."""
    RELEASE.wait(WAIT_SECONDS)


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

    def factory(**settings):
        app = make_app({"FILES_JOBS_POLL_SECONDS": 0.1, **settings}, create_tables=False)
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
        enqueue(record, str(marker("first")))
    done = wait_for(marker("first"))
    assert done["pid"] == os.getpid() and done["thread"].startswith("Worker")
    assert done["instance"] == app.instance_path
    threads = [thread for _w, thread in queue_of(app)._consumer.worker_threads]
    stop_jobs(app)
    assert not any(thread.is_alive() for thread in threads)
    with app.app_context():  # a later job starts them again
        enqueue(record.job_name, str(marker("again")))
    assert wait_for(marker("again"))["pid"] == os.getpid()


def test_a_job_that_raises_is_logged_and_the_threads_go_on(jobs_app, marker, caplog):
    app = jobs_app(FILES_JOBS_WORKERS=1)
    with app.app_context():
        enqueue(fail, "boom at row 3")
        enqueue(record, str(marker("after")))
    wait_for(marker("after"))
    failed = [r for r in caplog.records if r.name == "fairhub.files.jobs"]
    assert len(failed) == 1 and failed[0].levelname == "ERROR"
    assert f"{fail.job_name}('boom at row 3',) failed" in failed[0].getMessage()
    assert str(failed[0].exc_info[1]) == "boom at row 3"


def test_the_first_request_starts_the_threads_when_jobs_wait(jobs_app, marker, tmp_path):
    producer = jobs_app(FILES_JOBS_IN_PROCESS=False)
    with producer.app_context():
        enqueue(record, str(marker("waiting")))
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
    app = jobs_app(FILES_JOBS_IN_PROCESS=False)  # jobs stay in the queue, to be looked at
    queue = queue_of(app)

    def queued() -> list[str]:
        return [Path(task.args[1][0]).stem for task in queue.huey.pending()]

    with app.app_context():
        db.session.execute(text("SELECT 1"))
        enqueue_after_commit(record, str(marker("rolled_back")))
        db.session.rollback()
        enqueue_after_commit(record, str(marker("kept")))
        with db.session.begin_nested() as savepoint:
            enqueue_after_commit(record, str(marker("in_savepoint_rolled_back")))
            savepoint.rollback()
        with db.session.begin_nested():
            enqueue_after_commit(record, str(marker("in_savepoint_released")))
        assert queued() == []  # nothing before the commit
        db.session.commit()
        assert queued() == ["kept", "in_savepoint_released"]
        enqueue_after_commit(record, str(marker("closed")))
        db.session.close()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    assert queued() == ["kept", "in_savepoint_released"]


def test_jobs_are_registered_functions_with_json_arguments(jobs_app):
    app = jobs_app(FILES_JOBS_IN_PROCESS=False)
    with app.app_context():
        with pytest.raises(ValueError, match="not a registered job"):
            enqueue(lambda: None)
        with pytest.raises(ValueError, match="not a registered job"):
            enqueue("nowhere:nothing")
        with pytest.raises(TypeError, match="JSON values"):
            enqueue(record, object())
    with pytest.raises(ValueError, match="taken"):
        register(record.job_name, fail)


def test_a_queue_url_that_is_not_sqlite_or_redis_stops_start_up(jobs_app):
    with pytest.raises(ValueError, match="FILES_JOBS_URL"):
        jobs_app(FILES_JOBS_URL="postgresql://localhost/jobs")


# In other processes


def test_the_worker_command_runs_jobs_when_web_processes_do_not(jobs_app, marker, fairhub_env):
    app = jobs_app(FILES_JOBS_IN_PROCESS=False)
    with app.app_context():
        enqueue(fail, "a broken job")
        enqueue(record, str(marker("by_worker")))
    time.sleep(0.3)
    assert not marker("by_worker").exists()  # the web process does not run jobs
    process = subprocess.Popen(
        [sys.executable, "-m", "fairhub", "jobs-test", "worker", "--threads", "1"],
        env={**fairhub_env, "FAIRHUB_FILES_JOBS_IN_PROCESS": "false",
             "FAIRHUB_FILES_JOBS_POLL_SECONDS": "0.1"},
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
    assert "Running jobs from the SQLite queue" in out
    assert f"Job {fail.job_name}('a broken job',) failed." in err
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
    yield {"FILES_JOBS_URL": url, "FILES_JOBS_QUEUE": name}
    keys = list(client.scan_iter(f"huey.*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_redis_queue_is_shared_by_the_apps_of_several_hosts(jobs_app, marker, tmp_path,
                                                              redis_settings):
    web = jobs_app(FILES_JOBS_IN_PROCESS=False, **redis_settings)
    other_host = jobs_app(INSTANCE_PATH=str(tmp_path / "other-host"), **redis_settings)
    with web.app_context():
        enqueue(fail, "broken on redis")
        enqueue(record, str(marker("on_redis")))
    time.sleep(0.3)
    assert not marker("on_redis").exists()
    queue_of(other_host).start()
    done = wait_for(marker("on_redis"))
    assert done["instance"] == other_host.instance_path != web.instance_path
    assert queue_of(web).describe().startswith("Redis queue 'fairhub_test_")


def test_a_forked_child_runs_jobs_on_threads_of_its_own(jobs_app, marker):
    app = jobs_app(FILES_JOBS_WORKERS=2)
    with app.app_context():  # both threads of the parent stay busy
        enqueue(hold)
        enqueue(hold)
    deadline = time.monotonic() + WAIT_SECONDS
    while queue_of(app).huey.pending_count():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = os.fork()
    if child == 0:  # the child: its job can only run on threads the child starts
        code = 1
        try:
            with app.app_context():
                enqueue(record, str(marker("child")))
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
