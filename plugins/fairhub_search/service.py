"""Searching the catalogue: ranked, filtered by what the caller may see, with facets.

Visibility and grants are conditions of the same SQL query that matches and ranks, so items,
totals and facets never count a dataset the caller may not see. One statement finds the
matches once and answers both the page and, in one row, their number and facet values.
"""
from __future__ import annotations

import atexit
import functools
import heapq
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import fairhub_datasets as datasets
from fairhub_datasets import Dataset, shown_catalogue
from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.engine import Connection

from fairhub import Actor, User, db, read_connection, utcnow

from .backends import index_for
from .indexer import ENTRY_COLUMNS, FACETS, fold, value_key
from .models import SearchEntry, SearchFacetValue, SearchGram, SearchLog, SearchWord
from .query import Node, grams, parse, shared_grams, swapped, within

log = logging.getLogger("fairhub.search")


def search(actor: Actor, args: Mapping[str, Any]) -> dict:
    """One page of the datasets matching ``args["query"]`` that ``actor`` may see, best first,
    with facets over all of them. An empty query lists every dataset the actor may see."""
    connection = read_connection()
    index = index_for(connection.dialect.name, current_app.config["SEARCH_WEIGHTS"])
    node = parse(args.get("query") or "")
    expand = functools.cache(_expander(connection))  # hits and highlights share it
    found = _found(actor, node, index, expand, args)
    page, size = args["page"], args["page_size"]
    result = {"items": [], "facets": {}, "paging": {"page": page, "page_size": size,
                                                    "total": 0}}
    if found is None:
        return result
    rows = connection.execute(_page_and_summary(found, size, (page - 1) * size),
                              datasets.params(actor)).all()
    ranked = [row for row in rows if row.id is not None]
    summary = next(row for row in rows if row.id is None)
    result["paging"]["total"] = summary.total
    result["items"] = _items(connection, ranked, index.highlights(
        connection, node, expand, [r.id for r in ranked]) if node and ranked else {})
    result["facets"] = _facets(connection, summary.facets, summary.keywords)
    return result


def _found(actor: Actor, node: Node | None, index, expand, args: Mapping) -> Select | None:
    """The ``(id, score, facets, keywords)`` of every visible, filtered match; None if none
    can match."""
    # Visibility is read from the entries' copy of each dataset's (the datasets' rows are
    # wide: reading one per match would cost more than the rest of a search).
    conditions = [datasets.visible(actor, SearchEntry.dataset_id, SearchEntry.visibility),
                  *_filters(args)]
    entry = SearchEntry.dataset_id.label("id"), SearchEntry.facets, SearchEntry.keywords
    if node is None:
        return select(*entry, literal(1.0).label("score")).where(*conditions)
    found = index.found(node, expand, entry)
    return None if found is None else found.where(*conditions)


def _page_and_summary(found: Select, size: int, offset: int):
    """The page's ``(id, score)`` rows, then one row with the ``total`` and the ``facets``
    and ``keywords`` of every match, all from the matches found once."""
    matches = found.cte("found").prefix_with("MATERIALIZED")
    page = (select(matches.c.id, matches.c.score)
            .order_by(matches.c.score.desc(), matches.c.id).limit(size).offset(offset)
            .subquery("page"))
    nothing = cast(null(), Text)
    return union_all(
        select(page.c.id, page.c.score, cast(null(), Integer).label("total"),
               nothing.label("facets"), nothing.label("keywords")),
        select(cast(null(), Integer), cast(null(), Float), func.count(),
               func.aggregate_strings(matches.c.facets, ","),
               func.aggregate_strings(matches.c.keywords, ",")))


def _expander(connection: Connection):
    """Fuzzy candidates from the index's own vocabulary, by edit distance: the words of a
    length within reach that share enough of the word's letter pairs (found through their
    index) or are the word with adjacent letters swapped; for a word too short to share
    pairs, the words of a length within reach with few letters it lacks."""

    def expand(word: str, distance: int) -> list[str]:
        folded = fold(word)
        lengths = len(folded) - distance, len(folded) + distance
        needed = shared_grams(folded, distance)
        if needed > 0:
            found = SearchGram.word
            candidates = union(
                select(found).where(SearchGram.gram.in_(sorted(grams(folded))),
                                    func.length(found).between(*lengths))
                .group_by(found).having(func.count() >= needed),
                select(SearchWord.word).where(
                    SearchWord.word.in_(sorted(swapped(folded, distance)))))
        else:
            found = SearchWord.word
            candidates = select(found).where(func.length(found).between(*lengths),
                                             _foreign_letters(found, folded) <= distance)
        return within(folded, connection.execute(candidates).scalars(), distance)

    return expand


def _foreign_letters(column: ColumnElement[str], word: str) -> ColumnElement[int]:
    """How many of the letters of ``column`` ``word`` lacks: each costs an edit (an insertion
    or a substitution; a swap brings no letter in)."""
    for letter in sorted(set(word)):
        column = func.replace(column, letter, "")
    return func.length(column)


# Facets and filters


def _filters(args: Mapping[str, Any]) -> list[ColumnElement]:
    """Each filter given: the entry holds that facet value (none does, if it is unknown)."""
    conditions = []
    for name in FACETS:
        if args.get(name) is not None:
            value = (select(cast(SearchFacetValue.id, String)).where(
                SearchFacetValue.key == value_key(name, args[name])).scalar_subquery())
            column = getattr(SearchEntry, ENTRY_COLUMNS[name])
            conditions.append(column.contains(literal(" ") + value + " "))
    return conditions


def _facets(connection: Connection, *columns: str | None) -> dict[str, list[dict]]:
    """The most common values of each facet, counted from the entry columns of every match
    (``" 1 2 , 1 3 , 1 2 "``): each combination of ids once, then the ids in it."""
    counts: Counter[str] = Counter()
    for column in columns:
        for ids, number in Counter((column or "").split(",")).items():
            for value_id in ids.split():
                counts[value_id] += number
    by_facet: dict[str, list[tuple[int, str]]] = {name: [] for name in FACETS}
    for value_id, facet, value in _values(connection, [int(i) for i in counts]):
        by_facet[facet].append((-counts[str(value_id)], value))
    size = current_app.config["SEARCH_FACET_SIZE"]
    return {name: [{"value": value, "count": -number}
                   for number, value in heapq.nsmallest(size, values)]
            for name, values in by_facet.items()}


def _values(connection: Connection, ids: list[int]) -> Iterable[tuple[int, str, str]]:
    for start in range(0, len(ids), 5000):  # within every database's limit of parameters
        yield from connection.execute(
            select(SearchFacetValue.id, SearchFacetValue.facet, SearchFacetValue.value)
            .where(SearchFacetValue.id.in_(ids[start:start + 5000]))).all()


# Items


def _items(connection: Connection, rows: list, highlights: dict[int, dict]) -> list[dict]:
    if not rows:
        return []
    found = {row.id: row for row in connection.execute(
        select(Dataset.id, Dataset.code, Dataset.name, Dataset.visibility, Dataset.catalogue)
        .where(Dataset.id.in_([r.id for r in rows]))).all()}
    items = []
    for row in rows:
        dataset = found.get(row.id)
        if dataset is None:  # deleted since the page was found (PostgreSQL reads committed)
            continue
        item = {"@search.score": round(float(row.score), 6) or 1e-6, "code": dataset.code,
                "name": dataset.name, "visibility": dataset.visibility,
                **flatten(_shown(dataset.catalogue))}
        item["@search.highlights"] = highlights.get(row.id, {})
        items.append(item)
    return items


def _shown(catalogue: dict) -> dict:
    answer = shown_catalogue(catalogue)
    answer["publisher"] = {"name": None, "url": None, **(answer["publisher"] or {})}
    return answer


def flatten(value: dict, prefix: str = "catalogue") -> dict:
    """A nested catalogue as ``catalogue__key`` and ``catalogue__key__inner`` entries."""
    flat = {}
    for key, inner in value.items():
        name = f"{prefix}__{key}"
        if isinstance(inner, dict):
            flat.update(flatten(inner, name))
        else:
            flat[name] = inner
    return flat


# The log of searches


class SearchLogBuffer:
    """The searches one worker answered, kept to be written to the search log in a
    transaction of their own, so a search stays a read.

    They are written at the first search ``interval`` seconds after the last write, when the
    app is disposed and when the process exits (a worker stopped, or recycled after its
    ``max_requests``). A write that fails (the database unreachable for a moment) keeps its
    searches for the next one; beyond ``limit`` waiting, new searches are dropped, and the
    log says how many."""

    def __init__(self, app, interval: float, limit: int) -> None:
        self.app, self.interval, self.limit = app, interval, limit
        self.rows: list[dict] = []
        self.dropped = 0  # searches not kept since the last report
        self.lock = threading.Lock()
        self.flushed = time.monotonic()
        _BUFFERS.add(self)

    def note(self, user_id: int | None, query: str, results: int) -> None:
        """Keep a search answered; write those kept if it is time."""
        row = {"user_id": user_id, "query": query[:2000], "results": results,
               "created_at": utcnow()}
        with self.lock:
            full = self._keep([row])
        if full:
            self._say_full()
        if time.monotonic() - self.flushed >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write the searches kept, or keep them for the next write if that fails."""
        with self.lock:
            rows, self.rows, self.flushed = self.rows, [], time.monotonic()
        if not rows:
            return
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                connection.execute(_INSERT, rows)
        except Exception as error:  # the log must never fail a search, nor a worker's exit
            with self.lock:
                self.rows, waiting = [], self.rows  # those noted meanwhile come after
                full = self._keep(rows + waiting)
            if full:
                self._say_full()
            log.warning("Could not write %d searches to the search log (%s: %s); they wait "
                        "for the next write.", len(rows), type(error).__name__,
                        _first_line(error))
            return
        with self.lock:
            dropped, self.dropped = self.dropped, 0
        if dropped:
            log.error("The search log lacks %d searches, dropped while it could not be "
                      "written.", dropped)

    def close(self) -> None:
        """Write the searches kept, as the app or the process ends."""
        self.flush()
        with self.lock:
            lost, self.rows, self.dropped = len(self.rows) + self.dropped, [], 0
        if lost:
            log.error("%d searches are lost: the search log could not be written before its "
                      "app or process ended.", lost)

    def _keep(self, rows: list[dict]) -> bool:
        """Keep ``rows`` (the lock held), up to ``limit`` searches waiting; whether this began
        to drop searches."""
        room = max(self.limit - len(self.rows), 0)
        began = len(rows) > room and not self.dropped
        self.dropped += max(len(rows) - room, 0)
        self.rows.extend(rows[:room])
        return began

    def _say_full(self) -> None:
        log.error("The search log has %d searches waiting, its limit "
                  "(FAIRHUB_SEARCH_LOG_MAX_PENDING): later ones are dropped until it is "
                  "written.", self.limit)


def _first_line(error: Exception) -> str:
    """The first line of what the database said (statement parameters are never shown)."""
    return str(getattr(error, "orig", None) or error).strip().split("\n", 1)[0]


# A search of a user deleted since is logged without them, as the foreign key would have made it.
_INSERT = insert(SearchLog).values(
    user_id=select(User.id).where(User.id == bindparam("user_id")).scalar_subquery(),
    query=bindparam("query"), results=bindparam("results"),
    created_at=bindparam("created_at", type_=SearchLog.created_at.type))

# The live buffers of this process, written at exit (weakly held: an app may go away first).
_BUFFERS: weakref.WeakSet[SearchLogBuffer] = weakref.WeakSet()
atexit.register(lambda: [buffer.close() for buffer in list(_BUFFERS)])
