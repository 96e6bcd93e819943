"""Write-behind: what a worker keeps to write later, many items in one transaction of their own.

For bookkeeping that must not turn a read into a write (an API token's use counts, the search
log): the request keeps its item and goes on; the worker writes what it kept at most every few
seconds, when its app is disposed of and when its process exits, and keeps what a failed write
could not write for the next one.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask
from sqlalchemy.engine import Connection

from fairhub.db import at_dispose, db


class WriteBehind:
    """Items one worker keeps, written together by ``write(connection, items)`` in a
    transaction of their own: at the first :meth:`keep` ``interval`` seconds after the last
    write (0: at every one), when the app is disposed of (:func:`fairhub.db.at_dispose`) and
    when the process exits (a worker stopped, or recycled after its ``max_requests``).

    A write that fails (the database unreachable for a moment) keeps its items for the next
    one. Beyond ``limit`` items waiting, new ones are dropped until a write succeeds, and the
    log says how many; it also says what is lost when the app or the process ends before a
    write succeeds. An item kept under the ``key`` of one waiting is folded into it with
    ``combine(waiting, new)`` (by default the new one replaces it); items kept without a key
    are each their own.

    The log names them as ``items`` (``"searches"``) of ``place`` (``"the search log"``), and
    the limit as ``limit_name`` (the setting, if there is one).
    """

    def __init__(self, app: Flask, write: Callable[[Connection, list], None], *,
                 interval: float, limit: int, items: str, place: str,
                 limit_name: str | None = None, combine: Callable[[Any, Any], Any] | None = None,
                 log: logging.Logger | None = None) -> None:
        self.app, self.write, self.combine = app, write, combine or _replace
        self.interval, self.limit = float(interval), int(limit)
        self.items, self.place, self.limit_name = items, place, limit_name
        self.log = log or logging.getLogger("fairhub")
        self.waiting: dict[Hashable, Any] = {}
        self.dropped = 0  # items not kept since the last write
        self.lock = threading.Lock()
        self.written = time.monotonic()
        self._serial = itertools.count()  # the keys of items kept without one
        _LIVE.add(self)
        at_dispose(app, self.close)

    def keep(self, item: Any, key: Hashable | None = None) -> None:
        """Keep ``item`` (under ``key``, folded into the item waiting there); write what is
        kept if it is time."""
        with self.lock:
            full = self._add({(_UNKEYED, next(self._serial)) if key is None else key: item})
        if full:
            self._say_full()
        if time.monotonic() - self.written >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write what is kept, or keep it for the next write if that fails."""
        with self.lock:
            items, self.waiting, self.written = self.waiting, {}, time.monotonic()
        if not items:
            return
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                self.write(connection, list(items.values()))
        except Exception as error:  # bookkeeping must never fail a request, nor an exit
            with self.lock:
                since, self.waiting = self.waiting, {}
                full = self._add(items)  # the older ones first
                full = self._add(since) or full
            if full:
                self._say_full()
            self.log.warning("Could not write %d %s to %s (%s: %s); they wait for the next "
                             "write.", len(items), self.items, self.place, type(error).__name__,
                             _first_line(error))
            return
        with self.lock:
            dropped, self.dropped = self.dropped, 0
        if dropped:
            self.log.error("%s lacks %d %s, dropped while it could not be written.",
                           _capital(self.place), dropped, self.items)

    def close(self) -> None:
        """Write what is kept, as the app or the process ends; say what could not be."""
        self.flush()
        with self.lock:
            lost, self.waiting, self.dropped = len(self.waiting) + self.dropped, {}, 0
        if lost:
            self.log.error("%d %s are lost: %s could not be written before its app or process "
                           "ended.", lost, self.items, self.place)

    def _add(self, items: dict[Hashable, Any]) -> bool:
        """Keep ``items`` (the lock held), up to ``limit`` waiting; whether this began to drop
        items."""
        began = False
        for key, item in items.items():
            if key in self.waiting:
                self.waiting[key] = self.combine(self.waiting[key], item)
            elif len(self.waiting) < self.limit:
                self.waiting[key] = item
            else:
                began = began or not self.dropped
                self.dropped += 1
        return began

    def _say_full(self) -> None:
        limit = f"its limit ({self.limit_name})" if self.limit_name else "its limit"
        self.log.error("%s has %d %s waiting, %s: later ones are dropped until it is written.",
                       _capital(self.place), self.limit, self.items, limit)


_UNKEYED = object()


def _replace(_waiting: Any, new: Any) -> Any:
    return new


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_line(error: Exception) -> str:
    """The first line of what the database said (statement parameters are never shown)."""
    return str(getattr(error, "orig", None) or error).strip().split("\n", 1)[0]


# The live write-behinds of this process, written at exit (weakly held: an app may go first).
_LIVE: weakref.WeakSet[WriteBehind] = weakref.WeakSet()
atexit.register(lambda: [behind.close() for behind in list(_LIVE)])
