"""The stored documents a worker has read lately, so that the datasets it serves again (a
catalogue's first pages, its most read datasets) are not brought from the database each time.

A dataset's stored document never changes without its version: every change to the row goes
through the ORM's version counter, and a new dataset starts at version 1 under an id never
used before (the table's ids are not reused, on SQLite either). So a document read at one
version is the document of that version for good, and a read needs the dataset's id and
version from the database (its permission check reads them anyway), not the document. A
change made by another worker or host counts at once: its version is what the next read sees.

Whatever changes the ``document`` column outside the ORM must change ``version`` with it;
after the database is restored from a backup, restart the workers (versions could be reused).
"""
from __future__ import annotations

import math
import threading

from flask import Flask, current_app

_EXTENSION = "fairhub_datasets.documents"


class DocumentCache:
    """Documents by dataset id, each with its version, up to ``limit`` characters in all; the
    ones kept longest go first. Safe to share between a worker's threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[int, str]] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, dataset_id: int, version: int) -> str | None:
        """The document of ``dataset_id`` at ``version``, if kept."""
        entry = self._entries.get(dataset_id)
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, dataset_id: int, version: int, text: str) -> None:
        """Keep ``text`` as the document of ``dataset_id`` at ``version``, unless it is
        larger than the whole cache or older than the version kept."""
        if len(text) > self.limit:
            return
        with self._lock:
            kept = self._entries.get(dataset_id)
            if kept is not None:
                if kept[0] > version:  # a slower reader's older version
                    return
                del self._entries[dataset_id]
                self._size -= len(kept[1])
            while self._entries and self._size + len(text) > self.limit:
                _, dropped = self._entries.pop(next(iter(self._entries)))
                self._size -= len(dropped)
            self._entries[dataset_id] = (version, text)
            self._size += len(text)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The characters kept."""
        return self._size


def install(app: Flask) -> None:
    """Give ``app`` its cache, of ``DATASETS_DOCUMENT_CACHE_MB`` megabytes (of characters)."""
    setting = app.config["DATASETS_DOCUMENT_CACHE_MB"]
    if (isinstance(setting, bool) or not isinstance(setting, (int, float))
            or not math.isfinite(setting) or setting < 0):
        raise ValueError(f"DATASETS_DOCUMENT_CACHE_MB must be a number of at least 0, "
                         f"not {setting!r}.")
    app.extensions[_EXTENSION] = DocumentCache(int(setting * 1_000_000))


def documents() -> DocumentCache:
    """The current app's cache."""
    return current_app.extensions[_EXTENSION]
