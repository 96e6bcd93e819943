"""The datasets each worker answered lately, kept dumped, so that the ones it serves again (a
catalogue's first pages, its most read datasets) are neither read from the database nor
dumped again.

An entry is the dataset's answer as JSON text (see :class:`fairhub.api.Dumped`), kept under
the dataset's version. Every
change to a dataset, its dictionaries or its grants goes through the ORM's version counter,
and a new dataset starts at version 1 under an id never used before (ids are not reused, on
SQLite either): so an entry of one version is that version's for good, and a read needs from
the database only the ids and versions the caller may see (its permission check reads them
anyway). A change made through any worker or host counts at once.

Whatever changes a dataset outside the ORM must change its ``version`` too; after the database
is restored from a backup, restart the workers (versions could be reused).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from cachetools import FIFOCache
from flask import Flask, current_app

from fairhub import to_json

from .models import Dataset
from .schemas import DatasetSchema

_EXTENSION = "fairhub_datasets.answers"
_SCHEMA = DatasetSchema()
# The parts of an answer dumped once per version: the schema's Dumped fields.
_PARTS = DatasetSchema(only=DatasetSchema.DUMPED)
_COLUMNS = tuple(attribute.key for attribute in Dataset.__mapper__.column_attrs)


@dataclass
class _Entry:
    version: int
    columns: dict  # the dataset's columns, its catalogue and dictionaries as JSON text
    size: int
    approvers: list | None = None  # those of the last answer made
    answer: orjson.Fragment | None = None  # the whole answer, with those approvers


class AnswerCache:
    """Dataset answers by id, each under its version, up to ``limit`` bytes of JSON in all;
    the ones kept longest go first. Safe to share between a worker's threads.

    The approvers of a dataset are not part of its version (a user's name can change), so
    the whole answer is made again when they differ from those it was made with; the rest of
    the dataset is dumped once per version."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: FIFOCache = FIFOCache(maxsize=max(limit, 1),
                                             getsizeof=lambda entry: entry.size)
        self._lock = threading.Lock()

    def answers(self, gathered: list[tuple[Any, list[dict]]]) -> dict[int, Any]:
        """The answers kept of the datasets ``gathered`` names (rows with an ``id`` and a
        ``version``, each with its approvers), by id; those not kept at that version are
        left out."""
        with self._lock:
            entries = [(self._entries.get(row.id), row, approvers) for row, approvers in gathered]
        return {row.id: self._answer(entry, approvers) for entry, row, approvers in entries
                if entry is not None and entry.version == row.version}

    def put(self, dataset: Dataset, approvers: list[dict]) -> Any:
        """The answer of ``dataset`` (loaded with its dictionaries) with ``approvers``, kept
        unless larger than the whole cache or older than the version kept."""
        parts = {name: to_json(value) for name, value in _PARTS.dump(dataset).items()}
        entry = _Entry(dataset.version, {
            **{column: getattr(dataset, column) for column in _COLUMNS},
            **{name: orjson.Fragment(text) for name, text in parts.items()}},
            2 * sum(map(len, parts.values())) + 500)
        answer = self._answer(entry, approvers)
        if entry.size <= self.limit:
            with self._lock:
                kept = self._entries.get(dataset.id)
                if kept is None or kept.version <= dataset.version:
                    self._entries[dataset.id] = entry
        return answer

    @staticmethod
    def _answer(entry: _Entry, approvers: list[dict]) -> Any:
        answer = entry.answer
        if answer is None or entry.approvers != approvers:
            answer = orjson.Fragment(to_json(_SCHEMA.dump({**entry.columns,
                                                           "approvers": approvers})))
            entry.approvers, entry.answer = approvers, answer
        return answer

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The bytes kept, as estimated."""
        return int(self._entries.currsize)


def install(app: Flask) -> None:
    """Give ``app`` its cache, of ``DATASETS_DOCUMENT_CACHE_MB`` megabytes."""
    setting: Any = app.config["DATASETS_DOCUMENT_CACHE_MB"]
    if (isinstance(setting, bool) or not isinstance(setting, (int, float))
            or not math.isfinite(setting) or setting < 0):
        raise ValueError(f"DATASETS_DOCUMENT_CACHE_MB must be a number of at least 0, "
                         f"not {setting!r}.")
    app.extensions[_EXTENSION] = AnswerCache(int(setting * 1_000_000))


def answers() -> AnswerCache:
    """The current app's cache."""
    return current_app.extensions[_EXTENSION]
