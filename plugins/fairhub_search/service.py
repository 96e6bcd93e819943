"""Searching the catalogue: ranked, filtered by what the caller may see, with facets.

Visibility and grants are conditions of the same SQL query that matches and ranks, so items,
totals and facets never count a dataset the caller may not see.
"""
from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from fairhub_datasets import access
from fairhub_datasets.documents import catalogue_shown
from fairhub_datasets.models import Dataset
from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from fairhub import Actor, db, utcnow

from .backends import index_for
from .indexer import fold
from .models import SearchLog, SearchWord
from .query import Node, parse, within

FACETS = ("keyword", "publisher", "license", "accessRights", "visibility")
log = logging.getLogger("fairhub.search")


def search(actor: Actor, args: Mapping[str, Any]) -> dict:
    """One page of the datasets matching ``args["query"]`` that ``actor`` may see, best first,
    with facets over all of them. An empty query lists every dataset the actor may see."""
    connection = db.session.connection()
    index = index_for(connection.dialect.name, current_app.config["SEARCH_WEIGHTS"])
    node = parse(args.get("query") or "")
    expand = functools.cache(_expander(connection))  # hits and highlights share it
    matched = _matched(actor, node, index, expand, args)
    page, size = args["page"], args["page_size"]
    result = {"items": [], "facets": {}, "paging": {"page": page, "page_size": size,
                                                    "total": 0}}
    if matched is None:
        return result
    params = access.params(actor)
    # The total rides along the page (a window over all matches): one pass, not two.
    rows = connection.execute(
        select(matched.c.id, matched.c.score, func.count().over().label("total"))
        .order_by(matched.c.score.desc(), matched.c.id)
        .limit(size).offset((page - 1) * size), params).all()
    result["paging"]["total"] = rows[0].total if rows else connection.execute(
        select(func.count()).select_from(matched), params).scalar_one()
    result["items"] = _items(connection, rows, index.highlights(
        connection, node, expand, [r.id for r in rows]) if node else {})
    result["facets"] = _facets(connection, matched, params)
    return result


def _matched(actor: Actor, node: Node | None, index, expand, args: Mapping) -> Any:
    """The ``(id, score)`` of every visible, filtered match, as a subquery; None if none can
    match."""
    conditions = [access.visible(actor), *_filters(args)]
    if node is None:
        return select(Dataset.id, literal(1.0).label("score")).where(*conditions).subquery()
    hits = index.hits(node, expand)
    if hits is None:
        return None
    return (select(Dataset.id, hits.c.score)
            .join(hits, hits.c.dataset_id == Dataset.id).where(*conditions).subquery())


def _expander(connection: Connection):
    """Fuzzy candidates from the index's own vocabulary, by edit distance."""

    def expand(word: str, distance: int) -> list[str]:
        folded = fold(word)
        candidates = connection.execute(select(SearchWord.word).where(
            func.length(SearchWord.word).between(len(folded) - distance,
                                                 len(folded) + distance))).scalars()
        return within(folded, candidates, distance)

    return expand


# Facets and filters


def _keyword_values(dialect: str):
    """The keywords of the dataset in the enclosing query, as a table of ``value``."""
    if dialect == "sqlite":
        return func.json_each(Dataset.catalogue, "$.keyword").table_valued("value")
    return func.json_array_elements_text(
        Dataset.catalogue.op("->")("keyword")).table_valued("value")


def _scalar(name: str) -> ColumnElement:
    if name == "visibility":
        return Dataset.visibility
    if name == "publisher":
        return Dataset.catalogue[("publisher", "name")].as_string()
    return Dataset.catalogue[name].as_string()


def _filters(args: Mapping[str, Any]) -> list[ColumnElement]:
    conditions = []
    for name in FACETS:
        value = args.get(name)
        if value is None:
            continue
        if name == "keyword":
            keywords = _keyword_values(db.session.connection().dialect.name)
            conditions.append(exists(select(1).select_from(keywords)
                                     .where(keywords.c.value == value)))
        else:
            conditions.append(_scalar(name) == value)
    return conditions


def _facets(connection: Connection, matched, params: dict) -> dict[str, list[dict]]:
    """Every facet's values and counts in one statement over the matches, found once."""
    found = select(matched.c.id).cte("found").prefix_with("MATERIALIZED")
    branches = [_facet_branch(connection.dialect.name, name, found) for name in FACETS]
    facets: dict[str, list[dict]] = {name: [] for name in FACETS}
    for name, value, number in connection.execute(union_all(*branches), params):
        facets[name].append({"value": value, "count": number})
    return facets


def _facet_branch(dialect: str, name: str, found) -> Select:
    """The most common values of facet ``name`` among ``found``, with their counts."""
    if name == "keyword":
        values = _keyword_values(dialect)
        source = (select(values.c.value.label("value"), Dataset.id).select_from(Dataset)
                  .join(values, literal(True)).join(found, found.c.id == Dataset.id))
    else:
        source = select(_scalar(name).label("value"), Dataset.id).join(
            found, found.c.id == Dataset.id)
    counted = source.subquery()
    number = func.count(func.distinct(counted.c.id))  # datasets, not repeated keywords
    top = (select(literal(name, String).label("facet"), counted.c.value,
                  number.label("count"))
           .where(counted.c.value.is_not(None)).group_by(counted.c.value)
           .order_by(number.desc(), counted.c.value)
           .limit(current_app.config["SEARCH_FACET_SIZE"]).subquery())
    return select(top.c.facet, top.c.value, top.c["count"])


# Items


def _items(connection: Connection, rows: list, highlights: dict[int, dict]) -> list[dict]:
    if not rows:
        return []
    found = {row.id: row for row in connection.execute(
        select(Dataset.id, Dataset.code, Dataset.name, Dataset.visibility, Dataset.catalogue)
        .where(Dataset.id.in_([r.id for r in rows])))}
    items = []
    for row in rows:
        dataset = found[row.id]
        item = {"@search.score": round(float(row.score), 6) or 1e-6, "code": dataset.code,
                "name": dataset.name, "visibility": dataset.visibility,
                **flatten(_shown(dataset.catalogue))}
        item["@search.highlights"] = highlights.get(row.id, {})
        items.append(item)
    return items


def _shown(catalogue: dict) -> dict:
    shown = catalogue_shown(catalogue)
    shown["publisher"] = {"name": None, "url": None, **(shown["publisher"] or {})}
    return shown


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
    """The searches one worker served, written every ``SEARCH_LOG_FLUSH_SECONDS`` (and at
    exit) in a transaction of their own, so a search stays a read."""

    def __init__(self, app, interval: float) -> None:
        self.app, self.interval = app, interval
        self.rows: list[dict] = []
        self.lock = threading.Lock()
        self.flushed = time.monotonic()
        _BUFFERS.add(self)

    def note(self, user_id: int | None, query: str, results: int) -> None:
        with self.lock:
            self.rows.append({"user_id": user_id, "query": query[:2000], "results": results,
                              "created_at": utcnow()})
        if time.monotonic() - self.flushed >= self.interval:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            rows, self.rows, self.flushed = self.rows, [], time.monotonic()
        if not rows:
            return
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                connection.execute(insert(SearchLog), rows)
        except Exception as error:  # the log must never fail a search, nor a worker's exit
            log.warning("Could not write %d searches to the search log: %s", len(rows),
                        type(error).__name__)


# The live buffers of this process, written at exit (weakly held: an app may go away first).
_BUFFERS: weakref.WeakSet[SearchLogBuffer] = weakref.WeakSet()
atexit.register(lambda: [buffer.flush() for buffer in list(_BUFFERS)])
