"""The datasets each worker answered lately, kept dumped, so that the ones it serves again (a
catalogue's first pages, its most read datasets) are neither read from the database nor
dumped again.

An entry is the dataset's columns with its catalogue and dictionaries as the answer writes
them (JSON text, see :class:`fairhub.api.Dumped`), kept under the dataset's version. Every
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
from typing import Any

import orjson
from cachetools import LRUCache
from flask import Flask, current_app

from fairhub import to_json

from .models import Dataset
from .schemas import DatasetSchema

_EXTENSION = "fairhub_datasets.answers"
# The parts of an answer dumped once and kept as JSON text: the schema's Dumped fields.
_PARTS = DatasetSchema(only=DatasetSchema.DUMPED)
_COLUMNS = tuple(attribute.key for attribute in Dataset.__mapper__.column_attrs)


class AnswerCache:
    """Dataset answers by id, each with its version, up to ``limit`` bytes of JSON in all; the
    least recently used go first. Safe to share between a worker's threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: LRUCache = LRUCache(maxsize=max(limit, 1), getsizeof=lambda e: e[2])
        self._lock = threading.Lock()

    def get(self, dataset_id: int, version: int) -> dict | None:
        """The entry of ``dataset_id`` at ``version``, if kept."""
        with self._lock:
            kept = self._entries.get(dataset_id)
        return kept[1] if kept is not None and kept[0] == version else None

    def put(self, dataset: Dataset) -> dict:
        """The entry of ``dataset`` (loaded with its dictionaries), kept unless larger than
        the whole cache or older than the version kept."""
        parts = {name: to_json(value) for name, value in _PARTS.dump(dataset).items()}
        entry = {**{column: getattr(dataset, column) for column in _COLUMNS},
                 **{name: orjson.Fragment(text) for name, text in parts.items()}}
        size = sum(map(len, parts.values())) + 200
        if size <= self.limit:
            with self._lock:
                kept = self._entries.get(dataset.id)
                if kept is None or kept[0] <= dataset.version:
                    self._entries[dataset.id] = (dataset.version, entry, size)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The bytes kept."""
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
