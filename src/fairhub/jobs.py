"""Background jobs on huey: a SQLite queue in the instance folder by default, Redis when
several hosts share the work.

A plugin declares its jobs with the ``fairhub_jobs`` hook. A job is a function that runs in an
app context of the app consuming the queue, with JSON values for arguments (ids, not
objects); a periodic job takes none and also runs when its schedule (UTC) is due::

    @hookimpl
    def fairhub_jobs():
        return [Job(load_table), Job(clean, schedule=crontab(minute=15))]

    enqueue(load_table, upload.id)   # once the current transaction commits
    enqueue(clean, at_once=True)     # now (a command, outside a transaction)

By default the queue is the SQLite file ``<instance>/jobs.db`` and each web process runs jobs
on ``JOBS_WORKERS`` threads, started at its first enqueue, or at its first request when jobs
wait or the app has periodic jobs: ``make run`` needs nothing else. Threads start in the
process that needs them, so under gunicorn each worker starts its own after the fork, never
the master. With ``JOBS_URL=redis://...`` every host shares one queue; with
``JOBS_IN_PROCESS=false`` web processes only enqueue and ``fairhub worker`` runs the jobs.

Every consumer (the threads of each web process, each ``fairhub worker``) looks at the
schedules once a minute. A due run is queued by the consumer that first claims its minute in
the database (one conditional UPDATE of ``job_periods``), so it runs once however many
processes and hosts look.

A job runs once: one that raises is logged and not retried, and one cut off by a killed
process is lost, so a job should leave its work in a state that a later run can redo. huey
pickles the queue's messages: the Redis server must be as private as the database.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import String, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fairhub.db import UTCDateTime, at_dispose, db
from fairhub.transactions import after_commit

__all__ = ["crontab", "enqueue", "Job", "queue_of", "stop_jobs"]

log = logging.getLogger("fairhub.jobs")

STOP_SECONDS = 10.0  # how long stopping waits for running jobs
_TASK = "fairhub_job"  # the huey task that runs the job its arguments name
_PERIODIC = "fairhub_periodic:"  # prefix of the huey task of each periodic job
_EXTENSION = "fairhub.jobs"
_QUEUES: weakref.WeakSet[JobQueue] = weakref.WeakSet()
_FORKED: list[Any] = []  # a parent's queue connections: a forked child must not close them


@dataclass(frozen=True)
class Job:
    """A function the background workers run: ``Job(fn)`` when queued with :func:`enqueue`;
    ``Job(fn, schedule=crontab(hour=3, minute=0))`` also when its schedule is due (UTC)."""

    function: Callable[..., Any]
    schedule: Callable[[datetime], bool] | None = None

    @property
    def name(self) -> str:
        """The job's name in the queue: ``module:qualname`` of its function."""
        return f"{self.function.__module__}:{self.function.__qualname__}"


class JobPeriod(db.Model):
    """The last minute each periodic job was claimed for (see :meth:`JobQueue.claim`)."""

    __tablename__ = "job_periods"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    period: Mapped[datetime] = mapped_column(UTCDateTime)


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
    """The job queue of one app, its jobs, and the threads running them in this process."""

    def __init__(self, app: Flask, jobs: dict[str, Job]) -> None:
        config = app.config
        self.app, self.jobs = app, jobs
        self.url = config["JOBS_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.db'}"
        if not self.url.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
            raise ValueError(f"JOBS_URL is {self.url!r}: give a sqlite:///path or a "
                             "redis:// URL.")
        self.name = str(config["JOBS_QUEUE"])
        self.in_process = _flag(config["JOBS_IN_PROCESS"])
        self.workers = max(int(config["JOBS_WORKERS"]), 1)
        self.poll = float(config["JOBS_POLL_SECONDS"])
        self.periodic = _flag(config["JOBS_PERIODIC"]) and any(
            job.schedule is not None for job in jobs.values())
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

    def name_of(self, job: Job | Callable[..., Any]) -> str:
        """The name of ``job`` (a Job or its function), which must be one of the app's."""
        name = (job if isinstance(job, Job) else Job(job)).name
        if name not in self.jobs:
            raise ValueError(f"{name} is not a job of this app: return Job({name.split(':')[-1]}"
                             ") from a plugin's fairhub_jobs hook.")
        return name

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
        for job in self.jobs.values():
            if job.schedule is not None:
                huey.periodic_task(partial(self._due, job), name=_PERIODIC + job.name)(
                    partial(self._run, job.name, []))
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
        job = self.jobs.get(name)
        if job is None:
            log.error("Job %s is unknown here (is the plugin that declares it enabled?); "
                      "dropped.", name)
            return
        with self.app.app_context():
            try:
                job.function(*args)
            except Exception:
                log.exception("Job %s%s failed.", name, tuple(args))

    def _due(self, job: Job, timestamp: datetime) -> bool:
        """Whether this consumer queues ``job`` at ``timestamp`` (huey's scheduler asks once
        a minute): its schedule says so and the minute is claimed here first."""
        return bool(job.schedule(timestamp)) and self.claim(job.name, timestamp)

    def claim(self, name: str, timestamp: datetime) -> bool:
        """Claim the run of the periodic job ``name`` for the minute of ``timestamp`` (UTC);
        False if a consumer claimed it (or a later one) before."""
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=timezone.utc)
        period = timestamp.replace(second=0, microsecond=0)
        table = JobPeriod.__table__
        try:
            with self.app.app_context():
                engine = db.engine
            with engine.begin() as connection:
                if connection.execute(update(table).where(
                        table.c.name == name, table.c.period < period)
                        .values(period=period)).rowcount:
                    return True
            try:
                with engine.begin() as connection:
                    connection.execute(insert(table).values(name=name, period=period))
                return True
            except IntegrityError:
                return False
        except Exception:
            log.exception("The run of %s due at %s could not be claimed; it is skipped.",
                          name, f"{period:%Y-%m-%d %H:%M}")
            return False

    def start(self) -> None:
        """Start this process's job threads, unless they run already or the process is the
        `worker` command's."""
        if self._consumer is not None or self.foreground:
            return
        huey = self.huey
        with self._lock:
            if self._consumer is None:
                consumer = _ThreadConsumer(huey, workers=self.workers, periodic=self.periodic,
                                           max_delay=self.poll, worker_type="thread")
                consumer.start()
                self._consumer = consumer

    def on_request(self) -> None:
        """At a process's first request, start the threads if jobs wait or periodic jobs
        are looked after here."""
        if self._request_seen:
            return
        self._request_seen = True
        if self.in_process and not self.foreground:
            try:
                if self.periodic or self.huey.pending_count():
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


def init_jobs(app: Flask, jobs: dict[str, Job]) -> JobQueue:
    """Set up the app's job queue with the jobs its plugins declare (``create_app`` does)."""
    queue = JobQueue(app, jobs)
    app.extensions[_EXTENSION] = queue
    if jobs:  # an app without jobs never opens the queue
        app.before_request(queue.on_request)
    at_dispose(app, partial(stop_jobs, app))
    return queue


def queue_of(app: Flask) -> JobQueue:
    """The app's job queue."""
    return app.extensions[_EXTENSION]


def stop_jobs(app: Flask, timeout: float = STOP_SECONDS) -> None:
    """Stop the app's job threads in this process; a later enqueue starts them again."""
    queue = app.extensions.get(_EXTENSION)
    if queue is not None:
        queue.stop(timeout)


def enqueue(job: Job | Callable[..., Any], *args: Any, at_once: bool = False) -> None:
    """Queue ``job`` (a Job of the current app, or its function) with ``args``, JSON values.

    It is queued once the current transaction of ``db.session`` commits, and dropped if that
    (or the savepoint this is called in) rolls back; see :mod:`fairhub.transactions`. With
    ``at_once`` it is queued now: where nothing it reads waits for a commit (a command)."""
    queue = queue_of(current_app)
    name = queue.name_of(job)
    values = _json_args(name, args)
    if at_once:
        queue.put(name, values)
    else:
        after_commit(partial(queue.put, name, values))


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
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads that run jobs (default JOBS_WORKERS).")
@with_appcontext
def worker_command(threads: int | None) -> None:
    """Run queued jobs, and periodic ones when due, in the foreground; Ctrl-C waits for
    running jobs, then stops."""
    queue = queue_of(current_app)
    queue.foreground = True
    count = threads or queue.workers
    consumer = queue.huey.create_consumer(workers=count, periodic=queue.periodic,
                                          max_delay=queue.poll, worker_type="thread")
    periodic = "with" if queue.periodic else "without"
    click.echo(f"Running jobs from the {queue.describe()} on {count} threads, {periodic} "
               "periodic jobs.")
    consumer.run()
