"""Searching the catalogue: ranked, filtered by what the caller may see, with facets.

Visibility and grants are conditions of the same SQL query that matches and ranks, so items,
totals and facets never count a dataset the caller may not see. One statement finds the
matches once and answers both the page and, in one row, their number and facet values.
"""
from __future__ import annotations

import functools
import heapq
import logging
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

from fairhub import Actor, User, WriteBehind, read_connection, utcnow

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


def search_log(app) -> WriteBehind:
    """The searches one worker answered, kept to be written to the search log in a
    transaction of their own, so a search stays a read: at the first search
    ``SEARCH_LOG_FLUSH_SECONDS`` after the last write, when the app is disposed of and when
    the process exits. A write that fails keeps its searches for the next one, up to
    ``SEARCH_LOG_MAX_PENDING`` (see :class:`fairhub.WriteBehind`)."""
    return WriteBehind(app, _write_log, interval=app.config["SEARCH_LOG_FLUSH_SECONDS"],
                       limit=app.config["SEARCH_LOG_MAX_PENDING"], items="searches",
                       place="the search log", limit_name="FAIRHUB_SEARCH_LOG_MAX_PENDING",
                       log=log)


def log_search(user_id: int | None, query: str, results: int) -> None:
    """Keep a search answered for the search log."""
    current_app.extensions["search"].keep({"user_id": user_id, "query": query[:2000],
                                           "results": results, "created_at": utcnow()})


def _write_log(connection: Connection, rows: list[dict]) -> None:
    connection.execute(_INSERT, rows)


# A search of a user deleted since is logged without them, as the foreign key would have made it.
_INSERT = insert(SearchLog).values(
    user_id=select(User.id).where(User.id == bindparam("user_id")).scalar_subquery(),
    query=bindparam("query"), results=bindparam("results"),
    created_at=bindparam("created_at", type_=SearchLog.created_at.type))
