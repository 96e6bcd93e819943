"""Background jobs (CSV loads, purges) on huey: a SQLite queue by default, Redis for many hosts.

A job is a function registered with :func:`job`; it runs in an app context of the app that
consumes the queue, with JSON-able arguments (ids, not objects)::

    @job
    def load_table(file_id: int) -> None: ...

    enqueue(load_table, upload.id)               # at once
    enqueue_after_commit(load_table, upload.id)  # when db.session's transaction commits

By default the queue is the SQLite file ``<instance>/jobs.db`` and each web process runs its
jobs on ``FILES_JOBS_WORKERS`` threads, started at its first enqueue (or at its first request
when jobs are waiting): ``make run`` needs nothing else. Threads start in the process that
enqueues, so under gunicorn each worker starts its own after the fork, never the master.
With ``FILES_JOBS_URL=redis://...`` every host shares one queue; with
``FILES_JOBS_IN_PROCESS=false`` web processes only enqueue and ``fairhub files worker`` runs
the jobs. :func:`stop_jobs` stops an app's threads (tests; the process's exit does it too).

A job runs once: one that raises is logged and not retried, and one cut off by a killed
process is lost, so a job should leave its work in a state that a later run can redo. huey
pickles the queue's messages: the Redis server must be as private as the database.
"""
from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import threading
import time
import weakref
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer
from fairhub import Setting, after_commit

log = logging.getLogger("fairhub.files.jobs")

JOB_SETTINGS = [
    Setting("FILES_JOBS_URL", None,
            "Where the job queue lives: default a SQLite file `jobs.db` in the instance "
            "folder; `redis://host:6379/0` for one queue shared by several hosts."),
    Setting("FILES_JOBS_QUEUE", "fairhub",
            "Name of the job queue; instances sharing one Redis server need different names."),
    Setting("FILES_JOBS_IN_PROCESS", True,
            "Run jobs on threads of each web process; turn off where `fairhub files worker` "
            "runs them."),
    Setting("FILES_JOBS_WORKERS", 2,
            "Threads that run jobs, in each web process or in `fairhub files worker`."),
    Setting("FILES_JOBS_POLL_SECONDS", 1.0,
            "Longest wait between two looks at an idle SQLite queue (Redis wakes at once)."),
]
STOP_SECONDS = 10.0  # how long stopping waits for running jobs
_TASK = "fairhub_job"  # the one huey task: it runs the job its arguments name
_JOBS: dict[str, Callable[..., Any]] = {}
_QUEUES: weakref.WeakSet[JobQueue] = weakref.WeakSet()
_FORKED: list[Any] = []  # a parent's queue connections: a forked child must not close them


def job(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn`` as a job named ``module:qualname``; return it unchanged."""
    register(f"{fn.__module__}:{fn.__qualname__}", fn)
    return fn


def register(name: str, fn: Callable[..., Any]) -> None:
    """Register ``fn`` as the job ``name`` (a module's reload may register it again)."""
    known = _JOBS.get(name)
    if known is not None and known is not fn and (
            known.__module__, known.__qualname__) != (fn.__module__, fn.__qualname__):
        raise ValueError(f"The job name {name!r} is taken by {known.__qualname__}.")
    _JOBS[name] = fn
    fn.job_name = name  # type: ignore[attr-defined]


def _find(name: str) -> Callable[..., Any] | None:
    """The job ``name``, importing the module it names when that is not done yet."""
    if name not in _JOBS and ":" in name:
        try:
            importlib.import_module(name.partition(":")[0])
        except ImportError:
            return None
    return _JOBS.get(name)


def _name_of(fn_or_name: Callable[..., Any] | str) -> str:
    name = fn_or_name if isinstance(fn_or_name, str) else getattr(fn_or_name, "job_name", None)
    if name is None or _find(name) is None:
        raise ValueError(f"{fn_or_name!r} is not a registered job; decorate it with @job.")
    return name


def _json_args(name: str, args: tuple) -> list:
    try:
        return json.loads(json.dumps(list(args)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The arguments of job {name!r} must be JSON values (ids, not "
                        f"objects): {exc}.") from None


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) \
        else bool(value)


class _ThreadConsumer(Consumer):
    """huey's consumer on threads of this process, without its signal handlers (the web
    server owns the signals)."""

    def _set_signal_handlers(self) -> None:
        pass

    def stop_within(self, timeout: float) -> bool:
        """Ask every thread to stop after its current job; True if all did within timeout."""
        self.stop_flag.set()
        deadline = time.monotonic() + timeout
        threads = [thread for _worker, thread in self.worker_threads] + [self.scheduler]
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in threads)


class JobQueue:
    """The job queue of one app, and the threads running it in this process."""

    EXTENSION = "fairhub_files.jobs"

    def __init__(self, app: Flask) -> None:
        setting = {s.name: app.config.get(s.name, s.default) for s in JOB_SETTINGS}
        self.app = app
        self.url = setting["FILES_JOBS_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.db'}"
        if not self.url.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
            raise ValueError(f"FILES_JOBS_URL is {self.url!r}: give a sqlite:///path or a "
                             "redis:// URL.")
        self.name = str(setting["FILES_JOBS_QUEUE"])
        self.in_process = _flag(setting["FILES_JOBS_IN_PROCESS"])
        self.workers = max(int(setting["FILES_JOBS_WORKERS"]), 1)
        self.poll = float(setting["FILES_JOBS_POLL_SECONDS"])
        self.foreground = False  # set by `worker`: the process runs jobs in the foreground
        self._after_fork()
        _QUEUES.add(self)

    def _after_fork(self) -> None:
        """Start afresh: no queue connection, no threads (also a forked child's first step)."""
        self._lock = threading.Lock()
        self._huey = None
        self._task = None
        self._consumer: _ThreadConsumer | None = None
        self._request_seen = False

    def describe(self) -> str:
        """The queue in words, without credentials."""
        if self.url.startswith("sqlite:///"):
            return f"SQLite queue {self.url[len('sqlite:///'):]}"
        parts = urlsplit(self.url)
        return (f"Redis queue {self.name!r} at "
                f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}")

    @property
    def huey(self):
        """The huey instance of this queue (made at first use)."""
        with self._lock:
            if self._huey is None:
                self._huey = self._make_huey()
            return self._huey

    def _make_huey(self):
        if self.url.startswith("sqlite:///"):
            path = Path(self.url[len("sqlite:///"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            huey = SqliteHuey(self.name, filename=str(path), results=False)
        else:
            huey = RedisHuey(self.name, url=self.url, results=False)
        self._task = huey.task(name=_TASK)(self._run)
        return huey

    def put(self, name: str, args: list) -> str:
        """Queue job ``name`` with ``args``; start this process's threads if they run jobs."""
        huey = self.huey
        task = self._task.s(name, args)
        huey.enqueue(task)
        if self.in_process:
            self.start()
        return task.id

    def _run(self, name: str, args: list) -> None:
        """Run job ``name`` in an app context; log what it raises (huey runs this)."""
        fn = _find(name)
        if fn is None:
            log.error("Job %s is unknown here (is the plugin that defines it enabled?); "
                      "dropped.", name)
            return
        with self.app.app_context():
            try:
                fn(*args)
            except Exception:
                log.exception("Job %s%s failed.", name, tuple(args))

    def start(self) -> None:
        """Start this process's job threads, unless they run already or the process is the
        `worker` command's."""
        if self._consumer is not None or self.foreground:
            return
        huey = self.huey
        with self._lock:
            if self._consumer is None:
                consumer = _ThreadConsumer(huey, workers=self.workers, periodic=False,
                                           max_delay=self.poll, worker_type="thread")
                consumer.start()
                self._consumer = consumer

    def on_request(self) -> None:
        """At a process's first request, start the threads if jobs are waiting."""
        if self._request_seen:
            return
        self._request_seen = True
        if self.in_process and not self.foreground:
            try:
                if self.huey.pending_count():
                    self.start()
            except Exception:
                log.exception("The job queue (%s) cannot be read.", self.describe())

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop this process's job threads (waiting for running jobs) and close the queue."""
        with self._lock:
            consumer, huey = self._consumer, self._huey
            self._consumer, self._huey = None, None
        if consumer is not None and not consumer.stop_within(timeout):
            log.warning("Jobs still running after %.0f s are left to finish on their own.",
                        timeout)
        if huey is not None:
            huey.storage.close()
            pool = getattr(huey.storage, "pool", None)
            if pool is not None:
                pool.disconnect()


def init_jobs(app: Flask) -> JobQueue:
    """Set up the app's job queue (the plugin's ``fairhub_init_app`` calls this)."""
    queue = JobQueue(app)
    app.extensions[JobQueue.EXTENSION] = queue
    app.before_request(queue.on_request)
    return queue


def queue_of(app: Flask) -> JobQueue:
    """The app's job queue."""
    queue = app.extensions.get(JobQueue.EXTENSION)
    if queue is None:
        raise RuntimeError("This app has no job queue: init_jobs(app) was not called "
                           "(is the files plugin enabled?).")
    return queue


def stop_jobs(app: Flask, timeout: float = STOP_SECONDS) -> None:
    """Stop the app's job threads in this process; a later enqueue starts them again."""
    queue = app.extensions.get(JobQueue.EXTENSION)
    if queue is not None:
        queue.stop(timeout)


def enqueue(fn_or_name: Callable[..., Any] | str, *args: Any) -> str:
    """Queue a job of the current app now; return its id. Call it once what the job reads
    is committed, or use :func:`enqueue_after_commit`."""
    name = _name_of(fn_or_name)
    return queue_of(current_app).put(name, _json_args(name, args))


def enqueue_after_commit(fn_or_name: Callable[..., Any] | str, *args: Any) -> None:
    """Queue a job when ``db.session``'s outermost transaction commits; a rollback (of it,
    or of the savepoint this was called in) drops the job (see :mod:`fairhub.transactions`)."""
    name = _name_of(fn_or_name)
    after_commit(partial(queue_of(current_app).put, name, _json_args(name, args)))


def _forget_parent_state() -> None:
    for queue in list(_QUEUES):
        if queue._huey is not None:
            _FORKED.append(queue._huey)
        queue._after_fork()


def _stop_all() -> None:
    for queue in list(_QUEUES):
        queue.stop()


os.register_at_fork(after_in_child=_forget_parent_state)
atexit.register(_stop_all)


@click.command("worker")
@click.option("--threads", type=int, default=None,
              help="Threads that run jobs (default FILES_JOBS_WORKERS).")
@with_appcontext
def worker(threads: int | None) -> None:
    """Run the queued jobs in the foreground; Ctrl-C waits for running jobs, then stops."""
    queue = queue_of(current_app)
    queue.foreground = True
    count = threads or queue.workers
    consumer = queue.huey.create_consumer(workers=count, periodic=False, max_delay=queue.poll,
                                          worker_type="thread")
    click.echo(f"Running jobs from the {queue.describe()} on {count} threads.")
    consumer.run()
