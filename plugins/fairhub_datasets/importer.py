"""Bulk import of datasets: read records, validate them in worker processes, write in batches.

Validation (marshmallow) is most of the work, so worker processes do it while this process
writes; they also encode each record's JSON and run the ``fairhub_dataset_prepare`` hook, so
that what other plugins index of a dataset is worked out off the writing process. Each batch
of new datasets goes in with one statement per table (:func:`service.create_datasets`), in
one transaction; existing codes are patched one by one with ``--update``. A record that fails
is reported with where it came from and the batch goes on.
"""
from __future__ import annotations

import gc
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from types import SimpleNamespace
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Flask, current_app
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from fairhub import Actor, ApiError, call_each, db, parse_json, unstorable

from . import service
from .access import ADMINISTER
from .models import Dataset
from .schemas import DatasetCreateSchema

# Imports act for no user, with a data steward's reach over datasets.
IMPORT_ACTOR = Actor(via="cli", permissions=frozenset({ADMINISTER}))
# Keys of a GET answer that a new dataset cannot take: left out, so answers import too.
READ_ONLY = ("id", "approvers", "created_at", "updated_at")
DICTIONARY_READ_ONLY = ("id", "dataset_id", "created_at", "updated_at")
PATCHABLE = ("name", "visibility", "workflow_key", "catalogue", "dictionaries")
# Records being checked ahead of the writer, and per task of a worker.
WINDOW, CHUNK = 5000, 100
MAX_DEFAULT_JOBS = 4
_SCHEMA = DatasetCreateSchema()  # one instance: building a nested schema costs more than a load


class RecordError(Exception):
    """A record that cannot be imported, with a sentence saying why."""


class JsonText(str):
    """A record still to parse (a line of a JSON-lines file): workers parse it."""


# Reading


def read_records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for every record under ``path``; unreadable ones as RecordError."""
    if path.is_dir():
        for child in sorted(path.glob("*.json")):
            yield from read_records(child)
        return
    if path.suffix in (".jsonl", ".ndjson"):
        yield from _read_lines(path)
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield str(path), RecordError(f"Cannot read the file: {error}.")
        return
    data = _parse(text)
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield f"{path}[{index}]", record
    else:
        yield str(path), data


def _read_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """The records of a JSON-lines file, read a line at a time (a file of any size takes
    little memory); a line that is not UTF-8 is a bad record, not a bad file."""
    try:
        with path.open("rb") as lines:
            for line_number, line in enumerate(lines, start=1):
                where = f"{path}:{line_number}"
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as error:
                    yield where, RecordError(f"Not UTF-8: {error}.")
                    continue
                if text.strip():
                    yield where, JsonText(text)
    except OSError as error:
        yield str(path), RecordError(f"Cannot read the file: {error}.")


def _parse(text: str) -> Any:
    try:
        return parse_json(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return RecordError(f"Not valid JSON: {error}.")


def writable(record: dict) -> dict:
    """``record`` without the keys only answers carry (ids, times, approvers)."""
    record = {key: value for key, value in record.items() if key not in READ_ONLY}
    if isinstance(record.get("dictionaries"), list):
        record["dictionaries"] = [
            {k: v for k, v in item.items() if k not in DICTIONARY_READ_ONLY}
            if isinstance(item, dict) else item for item in record["dictionaries"]]
    return record


# Validating


@dataclass
class Checked:
    """A record after :func:`check`: valid (``data``) or not (``problem``)."""

    where: str
    data: dict | None = None
    given: tuple[str, ...] = ()  # the top-level keys it had, which --update changes
    prepared: dict | None = None  # what plugins prepared of it (fairhub_dataset_prepare)
    problem: str | None = None


def check(item: tuple[str, Any]) -> Checked:
    """Validate one record, and let plugins prepare for its creation. Runs in the worker
    processes: needs an app context, no database."""
    where, record = item
    try:
        text = record if isinstance(record, JsonText) else None
        if text is not None:
            record = _parse(text)
        if isinstance(record, RecordError):
            raise record
        if not isinstance(record, dict):
            raise RecordError("A dataset is a JSON object.")
        problem = unstorable(record, text)
        if problem:
            raise RecordError(f"Contains {problem}.")
        record = writable(record)
        data = _SCHEMA.load(record)
        return Checked(where, data, tuple(k for k in record if k in PATCHABLE), _prepare(data))
    except (ma.ValidationError, RecordError) as error:
        return Checked(where, problem=describe(error))


def _prepare(data: dict) -> dict:
    """What plugins prepare of a new dataset (``fairhub_dataset_prepare``), by key; a plugin
    failing to is logged and left out, and its listener reads the event's subject instead."""
    catalogue = service.clean_catalogue(data["catalogue"])
    dataset = SimpleNamespace(
        code=data.get("code"), name=data.get("name") or catalogue.get("title"),
        visibility=data["visibility"], catalogue=catalogue, dictionaries=[
            SimpleNamespace(name=d.get("name") or d.get("code"),
                            description=d.get("description"), fields=d.get("fields", []))
            for d in data.get("dictionaries", ())])
    return dict(call_each(current_app.extensions["fairhub"].pm.hook.fairhub_dataset_prepare,
                          "Plugin", "a new dataset to prepare", dataset=dataset))


_WORKER_APP: Flask | None = None


def _enter_worker() -> None:
    _WORKER_APP.app_context().push()


def default_jobs() -> int:
    """Worker processes by default: one per CPU up to four, or none on a single CPU (copying
    records between processes would then only add work). A worker needs about as much CPU
    per record as the writer, and workers never get more than a window ahead, so whichever
    side waits, every CPU stays busy (on 2 CPUs two workers beat one by about 5%); beyond a
    few, workers would only wait for the writer."""
    cpus = os.cpu_count() or 1
    return min(cpus, MAX_DEFAULT_JOBS) if cpus > 1 else 0


@contextmanager
def checker(jobs: int | None) -> Iterator[Any]:
    """A function mapping records to :func:`check` results, in order, on ``jobs`` worker
    processes besides this one (0: in this process).

    Start it before the command touches the database: worker processes are forked and must
    not inherit open connections.
    """
    global _WORKER_APP
    jobs = default_jobs() if jobs is None else jobs
    with _rare_collections():
        if jobs == 0 or "fork" not in multiprocessing.get_all_start_methods():
            yield lambda items: map(check, items)
            return
        _WORKER_APP = current_app._get_current_object()
        pool = ProcessPoolExecutor(jobs, multiprocessing.get_context("fork"),
                                   initializer=_enter_worker)
        try:
            pool.submit(int).result()  # forks every worker now, before any connection opens
            yield lambda items: _ahead(pool, iter(items))
        finally:
            pool.shutdown(cancel_futures=True)


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Run Python's cyclic garbage collector rarely (and never over the app's own objects):
    an import allocates millions of short-lived containers, hardly any in cycles, and the
    default thresholds make the collector rescan them over and over (about 15% of the time)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _check_all(items: list[tuple[str, Any]]) -> list[Checked]:
    return [check(item) for item in items]


def _ahead(pool: ProcessPoolExecutor, items: Iterator) -> Iterator:
    """:func:`check` over ``items`` on ``pool``, in order, ``CHUNK`` items a task, with up to
    a window of items being checked ahead of the one being written: workers never wait, and
    memory holds a window or so, not the file."""
    tasks = iter(lambda: list(islice(items, CHUNK)), [])
    pending = deque(pool.submit(_check_all, task) for task in islice(tasks, WINDOW // CHUNK))
    while pending:
        checked = pending.popleft().result()
        pending.extend(pool.submit(_check_all, task) for task in islice(tasks, 1))
        yield from checked


# Writing


def import_checked(checked: Iterable[Checked], update: bool,
                   owner_id: int | None) -> Iterator[tuple[str, str]]:
    """Write checked records in batches of ``DATASETS_IMPORT_BATCH``, committing each; yield
    ``(where, outcome)`` in the records' order, the outcome 'created', 'updated' or what is
    wrong."""
    checked = iter(checked)
    size = current_app.config["DATASETS_IMPORT_BATCH"]
    for batch in iter(lambda: list(islice(checked, size)), []):
        outcomes = list(_write_batch(batch, update, owner_id))
        db.session.commit()
        yield from outcomes


def refresh_statistics() -> None:
    """On PostgreSQL, ANALYZE the app's tables (those of its models that the database has):
    after a bulk import its planner would otherwise plan the reads of the new rows on the old
    statistics until autovacuum analyzes them (about a second for a catalogue of 100,000
    datasets). SQLite keeps no statistics it was not asked for, and plans without them."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
    with engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in existing:
                connection.exec_driver_sql(f"ANALYZE {quote(table.name)}")
        connection.commit()


def _write_batch(batch: list[Checked], update: bool,
                 owner_id: int | None) -> Iterator[tuple[str, str]]:
    valid = [record for record in batch if record.data is not None]
    taken = service.Taken.of([record.data for record in valid])
    new = [record for record in valid if record.data.get("code") not in taken.datasets]
    outcomes = dict(_create(new, owner_id, taken))
    for record in batch:
        if record.data is None:
            yield record.where, record.problem
        elif record.where in outcomes:
            yield record.where, outcomes[record.where]
        elif not update:
            yield record.where, f"Dataset {record.data['code']!r} exists; use --update to " \
                                "patch it."
        else:
            yield record.where, _patch(record)


def _create(new: list[Checked], owner_id: int | None,
            taken: service.Taken) -> Iterator[tuple[str, str]]:
    """Create a batch's new datasets together, or one by one if a write conflicts."""
    if not new:
        return
    try:
        with db.session.begin_nested():
            results = service.create_datasets(IMPORT_ACTOR, [r.data for r in new], owner_id,
                                              taken, [r.prepared for r in new])
    except IntegrityError:  # another writer took a code meanwhile: find out which record
        results = []
        for record in new:
            try:
                with db.session.begin_nested():
                    results += service.create_datasets(IMPORT_ACTOR, [record.data], owner_id,
                                                       prepared=[record.prepared])
            except IntegrityError:
                results.append(RecordError("A dataset or dictionary code was just taken."))
    for record, result in zip(new, results):
        yield record.where, describe(result) if isinstance(result, Exception) else "created"


def _patch(record: Checked) -> str:
    try:
        with db.session.begin_nested():
            code = record.data["code"]
            dataset = db.session.scalar(select(Dataset).where(Dataset.code == code))
            changes = {key: record.data[key] for key in record.given}
            service.update_dataset(IMPORT_ACTOR, dataset, changes)
        return "updated"
    except ApiError as error:
        return describe(error)


def describe(error: Exception) -> str:
    """One line saying what is wrong with a record."""
    messages = error.messages if isinstance(error, ma.ValidationError) else None
    if isinstance(error, ApiError):
        messages = (error.details or {}).get("json")
        if not messages:
            return error.message
    if messages is None:
        return str(error)
    return "; ".join(f"{path}: {text}" for path, text in _flatten(messages, ""))


def _flatten(messages: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield path or "record", " ".join(messages)
    else:
        yield path or "record", str(messages)
