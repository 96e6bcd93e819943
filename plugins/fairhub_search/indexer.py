"""Keeping the index: each dataset's searchable text and facet values, written in the
dataset's transaction.

Dataset events queue the dataset for indexing; the queue is written once, just before the
transaction commits (:func:`fairhub.db.at_commit`), so an import of thousands of datasets
indexes them in a few statements, and a rolled-back change leaves no trace in the index.
Deleting a dataset deletes its document and entry through the foreign key.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from types import SimpleNamespace
from typing import NamedTuple

from fairhub_datasets import Dataset, Dictionary
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fairhub import Event, at_commit, call_each, insert_many

from .models import SearchDocument, SearchEntry, SearchFacetValue, SearchGram, SearchWord
from .query import grams

_WORD = re.compile(r"\w+")
# Each ASCII byte that is not a word character (\w) as a space: ASCII text translated with
# it splits into the words _WORD finds, several times faster.
_ASCII_GAPS = bytes.maketrans(bytes(range(128)), bytes(
    c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(128)))
MAX_WORD = 64
BATCH = 500  # datasets per statement, within every database's limit of parameters
FACETS = ("keyword", "publisher", "license", "accessRights", "visibility")
# The column of a search entry that holds the ids of each facet's values.
ENTRY_COLUMNS = {"keyword": "keywords", "publisher": "facets", "license": "facets",
                 "accessRights": "facets", "visibility": "facets"}


def on_event(event: Event) -> None:
    """Queue the dataset a ``dataset.create`` or ``dataset.update`` event names, or whose
    dictionary a ``dictionary.update`` event (``PATCH /api/dictionaries/{code}``) names.

    A dataset event's subject (the dataset as written) is indexed as it is; a dataset queued
    without one is read back when the queue is written. A dataset just created has nothing
    in the index to replace."""
    if event.type == "dataset" and event.action in ("create", "update") and event.target:
        at_commit("search", (event.target["code"], (event.subject, event.action == "create")),
                  _write_queued)
    elif event.type == "dictionary" and event.action == "update" and event.details.get("dataset"):
        at_commit("search", (event.details["dataset"], (None, False)), _write_queued)


def _write_queued(session: Session, items: list[tuple[str, tuple[object, bool]]]) -> None:
    latest = dict(items)  # what was queued last for each dataset
    given = [(subject, created) for subject, created in latest.values() if subject is not None]
    connection = session.connection()
    for start in range(0, len(given), BATCH):
        part = given[start:start + BATCH]
        _write(connection, [subject for subject, _ in part],
               replaced=[subject.id for subject, created in part if not created])
    write(session, [code for code, (subject, _) in latest.items() if subject is None])


def write(session: Session, codes: list[str]) -> None:
    """(Re)write the documents, entries and vocabulary of the datasets ``codes``."""
    codes = list(dict.fromkeys(codes))
    connection = session.connection()
    for start in range(0, len(codes), BATCH):
        datasets = {row.id: SimpleNamespace(**row._mapping, dictionaries=[])
                    for row in connection.execute(
                        select(Dataset.id, Dataset.code, Dataset.name, Dataset.visibility,
                               Dataset.catalogue)
                        .where(Dataset.code.in_(codes[start:start + BATCH])))}
        for table in connection.execute(
                select(Dictionary.dataset_id, Dictionary.name, Dictionary.description,
                       Dictionary.fields).where(Dictionary.dataset_id.in_(list(datasets)))
                .order_by(Dictionary.position)):
            datasets[table.dataset_id].dictionaries.append(table)
        _write(connection, list(datasets.values()))


def _write(connection, datasets: list, replaced: list[int] | None = None) -> None:
    """Index ``datasets``: objects with a Dataset's ``id``, ``code``, ``name``, ``visibility``,
    ``catalogue`` and ``dictionaries`` (each with ``name``, ``description`` and ``fields``),
    or with what :func:`prepare` made of them in ``prepared["search"]``. What the index holds
    of them is replaced; of only the ids ``replaced`` if given (the others are new)."""
    if not datasets:
        return
    if replaced is None:
        replaced = [dataset.id for dataset in datasets]
    for model in (SearchDocument, SearchEntry):
        if replaced:
            connection.execute(delete(model).where(model.dataset_id.in_(replaced)))
    hook = current_app.extensions["fairhub"].pm.hook.fairhub_search_text
    documents, words, facets = [], set(), {}
    for dataset in datasets:
        prepared = getattr(dataset, "prepared", {}).get("search") or prepare(dataset)
        extra = _join(call_each(hook, "Plugin", f"the search text of {dataset.code!r}",
                                dataset=dataset))
        documents.append({**prepared.document, "dataset_id": dataset.id, "extra": extra})
        words.update(prepared.words.split())
        words |= words_of(extra)
        facets[dataset.id] = prepared.facets
    _insert(connection, SearchDocument, documents)
    _write_entries(connection, datasets, facets)
    _add_words(connection, words)


class Prepared(NamedTuple):
    """What indexing a dataset needs, worked out from it alone (see :func:`prepare`)."""

    document: dict  # the searchable text of each indexed column but ``extra``
    words: str  # the words of that text, for fuzzy terms, space-separated (one string is
    # cheaper than a set to copy between processes)
    facets: list[tuple[str, str]]  # its (facet, value) pairs


def prepare(dataset) -> Prepared:
    """What indexing ``dataset`` needs but its id and other plugins' text. Needs no database:
    bulk imports run it off the writing process (the datasets plugin's
    ``fairhub_dataset_prepare`` hook)."""
    text = document(dataset.catalogue, dataset.dictionaries)
    return Prepared(text, " ".join(words_of(" ".join(text.values()))),
                    facet_values(dataset.visibility, dataset.catalogue))


def _write_entries(connection, datasets: list, facets: dict[int, list]) -> None:
    ids = value_ids(connection, {pair for pairs in facets.values() for pair in pairs})
    _insert(connection, SearchEntry, [
        entry(row.id, row.visibility, [(pair[0], ids[pair]) for pair in facets[row.id]])
        for row in datasets])


def _insert(connection, model, rows: list[dict]) -> None:
    """Insert documents or entries (plain text and ids) through the driver: for an import's
    thousands of rows, SQLAlchemy's handling of each row's parameters costs more than the
    database's work."""
    columns = tuple(rows[0]) if rows else ()
    insert_many(connection, model.__table__, columns,
                [tuple(row[column] for column in columns) for row in rows])


def document(catalogue: dict, tables: Iterable) -> dict:
    """The searchable text of a dataset's catalogue and tables, one entry per indexed column
    but ``extra`` (other plugins' text)."""
    tables = list(tables)
    fields = [field for table in tables for field in table.fields]
    publisher = catalogue.get("publisher") or {}
    return {
        "title": catalogue.get("title") or "",
        "description": catalogue.get("description") or "",
        "keyword": _join(catalogue.get("keyword")),
        "publisher": publisher.get("name") or "" if isinstance(publisher, dict) else "",
        "creator": catalogue.get("creator") or "",
        "dictionary": _join(part for t in tables for part in (t.name, t.description)),
        "field_names": _join(f["name"] for f in fields),
        "field_text": _join(part for f in fields for part in (f.get("label"),
                                                                  f.get("description"))),
    }


def _join(parts: Iterable | None) -> str:
    return " ".join(map(str, filter(None, parts or ())))


def words_of(text: str) -> set[str]:
    """The words of ``text`` as fuzzy terms are matched to: lower-cased, accents removed."""
    if not text:
        return set()
    text = fold(text)
    found = set(text.encode().translate(_ASCII_GAPS).decode().split() if text.isascii()
                else _WORD.findall(text))
    return {w for w in found if len(w) <= MAX_WORD}


def fold(text: str) -> str:
    """``text`` lower-cased without accents."""
    if text.isascii():  # nothing to decompose: the common case, skipped cheaply
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def entry(dataset_id: int, visibility: str, value_ids: Iterable[tuple[str, int]]) -> dict:
    """The search entry of a dataset: its visibility and the ids of its facet values, given
    as ``(facet, id)``."""
    columns: dict[str, list[str]] = {"facets": [], "keywords": []}
    for facet, value_id in value_ids:
        columns[ENTRY_COLUMNS[facet]].append(str(value_id))
    return {"dataset_id": dataset_id, "visibility": visibility,
            **{column: f" {' '.join(ids)} " for column, ids in columns.items()}}


def facet_values(visibility: str, catalogue: dict) -> list[tuple[str, str]]:
    """A dataset's ``(facet, value)`` pairs, each once."""
    publisher = catalogue.get("publisher")
    values = {"keyword": catalogue.get("keyword") or (),
              "publisher": [publisher.get("name")] if isinstance(publisher, dict) else (),
              "license": [catalogue.get("license")],
              "accessRights": [catalogue.get("accessRights")],
              "visibility": [visibility]}
    return list(dict.fromkeys((facet, value) for facet, found in values.items()
                              for value in found if isinstance(value, str)))


def value_key(facet: str, value: str) -> str:
    """The key of a facet's value: a hash of both."""
    text = f"{facet}\x00{value}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def value_ids(connection, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ids of facet values ``(facet, value)``, adding the values not yet known."""
    keys = {value_key(*pair): pair for pair in pairs}
    _insert_new(connection, SearchFacetValue, [
        {"key": key, "facet": facet, "value": value}
        for key, (facet, value) in sorted(keys.items())])
    found = {}
    for start in range(0, len(keys), 5000):  # within every database's limit of parameters
        found.update(connection.execute(
            select(SearchFacetValue.key, SearchFacetValue.id)
            .where(SearchFacetValue.key.in_(sorted(keys)[start:start + 5000]))).all())
    return {pair: found[key] for key, pair in keys.items()}


def _add_words(connection, words: set[str]) -> None:
    """Add the words the vocabulary lacks, with their letter pairs.

    The pairs of the words this transaction added go in as plain rows (a COPY on
    PostgreSQL), without looking for them first: a word's pairs are written with it and
    deleted only with it (``search reindex``), and a word another transaction is adding at
    the same time is not returned here (the insert waits for that transaction, then skips
    the word), so none of them can be there yet."""
    if not words:
        return
    new = insert_many(connection, SearchWord.__table__, ("word",),
                      [(word,) for word in sorted(words)], skip_existing=True, returning="word")
    insert_many(connection, SearchGram.__table__, ("gram", "word"),
                [(gram, word) for word in sorted(new) for gram in sorted(grams(word))])


def _insert_new(connection, model, rows: list[dict]) -> None:
    if rows:
        connection.execute(_insert_ignoring(connection, model), rows)


def _insert_ignoring(connection, model):
    """An INSERT of ``model`` rows that leaves the rows already there alone."""
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    return dialect.insert(model).on_conflict_do_nothing()
