"""Where uploaded bytes live: a small interface and its local-filesystem implementation.

Keys are made by the server (:func:`new_key`), never taken from a client, so a file name such
as ``../../etc/passwd`` only ever reaches the database as text.
"""
from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from flask import Flask

_KEY_CHARS = frozenset("0123456789abcdef")


def new_key() -> str:
    """A fresh storage key: 32 random hex digits."""
    return secrets.token_hex(16)


class Storage(Protocol):
    """What the files plugin needs from a place to keep bytes."""

    def create(self, key: str) -> None:
        """Make an empty object ``key``."""

    @contextmanager
    def writer(self, key: str, offset: int) -> Iterator[BinaryIO]:
        """A file to write ``key`` from ``offset`` on (anything after it is cut first); what
        was written is durable when the block exits, even when it exits with an error."""

    def truncate(self, key: str, size: int) -> None:
        """Cut ``key`` to ``size`` bytes."""

    def reader(self, key: str) -> BinaryIO:
        """``key`` opened for reading."""

    def path(self, key: str) -> str:
        """A local path of ``key`` (to stream a download, or load a table from)."""

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens if it is absent."""

    def keys(self, older_than: float) -> Iterator[str]:
        """Every key not written to for ``older_than`` seconds."""


class LocalStorage:
    """Objects as files named by their key in one folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        if len(key) != 32 or not _KEY_CHARS.issuperset(key):
            raise ValueError(f"Not a storage key: {key!r}")
        return self.root / key

    def create(self, key: str) -> None:
        self._file(key).touch(exist_ok=False)

    @contextmanager
    def writer(self, key: str, offset: int) -> Iterator[BinaryIO]:
        with open(self._file(key), "r+b") as file:
            file.truncate(offset)
            file.seek(offset)
            try:
                yield file
            finally:
                file.flush()
                os.fsync(file.fileno())

    def truncate(self, key: str, size: int) -> None:
        with open(self._file(key), "r+b") as file:
            file.truncate(size)
            os.fsync(file.fileno())

    def reader(self, key: str) -> BinaryIO:
        return open(self._file(key), "rb")

    def path(self, key: str) -> str:
        return str(self._file(key))

    def delete(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def keys(self, older_than: float) -> Iterator[str]:
        cutoff = time.time() - older_than
        for entry in os.scandir(self.root):
            name = entry.name
            if len(name) == 32 and _KEY_CHARS.issuperset(name) \
                    and entry.stat().st_mtime < cutoff:
                yield name


def storage_for(app: Flask) -> Storage:
    """The app's storage (made once): FILES_STORAGE_PATH, or ``files/`` in the instance."""
    storage = app.extensions.get("files.storage")
    if storage is None:
        root = app.config["FILES_STORAGE_PATH"] or os.path.join(app.instance_path, "files")
        storage = app.extensions["files.storage"] = LocalStorage(root)
    return storage
