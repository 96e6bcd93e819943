"""Bulk import of datasets: read records, validate them on every CPU, write them in batches.

Validation (marshmallow) is most of the work, so worker processes do it while this process
writes: each batch of new datasets goes in with a few multi-row statements
(:func:`service.create_datasets`); existing codes are patched one by one with ``--update``.
A record that fails is reported with where it came from and the batch goes on.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fairhub import Actor, ApiError, db

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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield str(path), RecordError(f"Cannot read the file: {error}.")
        return
    if path.suffix in (".jsonl", ".ndjson"):
        for line_number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield f"{path}:{line_number}", JsonText(line)
        return
    data = _parse(text)
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield f"{path}[{index}]", record
    else:
        yield str(path), data


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
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


def check(item: tuple[str, Any]) -> tuple[str, dict | None, Any]:
    """``(where, data, keys given)`` for a valid record, ``(where, None, message)`` if not.

    Runs in the worker processes: needs an app context, no database.
    """
    where, record = item
    try:
        if isinstance(record, JsonText):
            record = _parse(record)
        if isinstance(record, RecordError):
            raise record
        if not isinstance(record, dict):
            raise RecordError("A dataset is a JSON object.")
        record = writable(record)
        return where, _SCHEMA.load(record), [k for k in record if k in PATCHABLE]
    except (ma.ValidationError, RecordError) as error:
        return where, None, describe(error)


_WORKER_APP: Flask | None = None


def _enter_worker() -> None:
    _WORKER_APP.app_context().push()


@contextmanager
def checker(jobs: int | None) -> Iterator[Any]:
    """A function mapping records to :func:`check` results, in order, on ``jobs`` processes.

    Start it before the command touches the database: worker processes are forked and must
    not inherit open connections.
    """
    global _WORKER_APP
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield lambda items: map(check, items)
        return
    _WORKER_APP = current_app._get_current_object()
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_enter_worker) as pool:
        yield lambda items: pool.imap(check, items, chunksize=256)


# Writing


def import_checked(checked: Iterable[tuple[str, dict | None, Any]], update: bool,
                   owner_id: int | None) -> Iterator[tuple[str, str]]:
    """Write checked records in batches, committing each; yield ``(where, outcome)``, the
    outcome 'created', 'updated' or what is wrong."""
    size = current_app.config["DATASETS_IMPORT_BATCH"]
    checked = iter(checked)
    while batch := list(islice(checked, size)):
        yield from _write_batch(batch, update, owner_id)
        db.session.commit()


def _write_batch(batch: list, update: bool, owner_id: int | None) -> Iterator[tuple[str, str]]:
    existing = service.taken_codes(Dataset, [data.get("code") for _, data, _ in batch if data])
    new = [(where, data) for where, data, _ in batch if data and data.get("code") not in existing]
    outcomes = dict(_create(new, owner_id))
    for where, data, given in batch:
        if data is None:
            yield where, given
        elif where in outcomes:
            yield where, outcomes[where]
        elif not update:
            yield where, f"Dataset {data['code']!r} exists; use --update to patch it."
        else:
            yield where, _patch(data, given)


def _create(new: list[tuple[str, dict]], owner_id: int | None) -> Iterator[tuple[str, str]]:
    """Create a batch's new datasets together, or one by one if a write conflicts."""
    if not new:
        return
    try:
        with db.session.begin_nested():
            results = service.create_datasets(IMPORT_ACTOR, [d for _, d in new], owner_id)
    except IntegrityError:  # another writer took a code meanwhile: find out which record
        results = []
        for _, data in new:
            try:
                with db.session.begin_nested():
                    results += service.create_datasets(IMPORT_ACTOR, [data], owner_id)
            except IntegrityError:
                results.append(RecordError("A dataset or dictionary code was just taken."))
    for (where, _), result in zip(new, results):
        yield where, describe(result) if isinstance(result, Exception) else "created"


def _patch(data: dict, given: list[str]) -> str:
    try:
        with db.session.begin_nested():
            dataset = db.session.scalar(select(Dataset).where(Dataset.code == data["code"]))
            service.update_dataset(IMPORT_ACTOR, dataset, {k: data[k] for k in given})
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
