"""Keeping the index: each dataset's searchable text, written in the dataset's transaction.

Dataset events queue the dataset for indexing; the queue is written once, just before the
transaction commits (:func:`fairhub.db.at_commit`), so an import of thousands of datasets
indexes them in a few statements, and a rolled-back change leaves no trace in the index.
Deleting a dataset deletes its document through the foreign key.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

from fairhub_datasets.models import Dataset, Dictionary
from flask import current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fairhub import Event, at_commit

from .models import COLUMNS, SearchDocument, SearchWord

_WORD = re.compile(r"\w+")
MAX_WORD = 64


def on_event(event: Event) -> None:
    """Queue the dataset a ``dataset.create`` or ``dataset.update`` event names, or whose
    dictionary a ``dictionary.update`` event (``PATCH /api/dictionaries/{code}``) names."""
    if event.type == "dataset" and event.action in ("create", "update") and event.target:
        at_commit("search", event.target["code"], write)
    elif event.type == "dictionary" and event.action == "update" and event.details.get("dataset"):
        at_commit("search", event.details["dataset"], write)


def write(session: Session, codes: list[str]) -> None:
    """(Re)write the documents and vocabulary of the datasets ``codes``."""
    codes = list(dict.fromkeys(codes))
    connection = session.connection()
    for start in range(0, len(codes), 500):
        documents = list(_documents(connection, codes[start:start + 500]))
        if not documents:
            continue
        connection.execute(delete(SearchDocument).where(
            SearchDocument.dataset_id.in_([d["dataset_id"] for d in documents])))
        connection.execute(insert(SearchDocument), documents)
        _add_words(connection, {w for d in documents for w in vocabulary(d)})


def _documents(connection, codes: list[str]) -> Iterator[dict]:
    datasets = connection.execute(select(Dataset.id, Dataset.code, Dataset.name,
                                         Dataset.catalogue).where(Dataset.code.in_(codes))).all()
    tables: dict[int, list] = {row.id: [] for row in datasets}
    for table in connection.execute(
            select(Dictionary.dataset_id, Dictionary.name, Dictionary.description,
                   Dictionary.fields).where(Dictionary.dataset_id.in_(list(tables)))):
        tables[table.dataset_id].append(table)
    hook = current_app.extensions["fairhub"].pm.hook.fairhub_search_text
    for row in datasets:
        extra = hook(dataset=SimpleNamespace(**row._mapping))
        yield document(row.id, row.catalogue, tables[row.id], extra)


def document(dataset_id: int, catalogue: dict, tables: Iterable, extra: Iterable) -> dict:
    """The searchable text of a dataset, one entry per indexed column."""
    tables = list(tables)
    fields = [field for table in tables for field in table.fields]
    publisher = catalogue.get("publisher") or {}
    return {
        "dataset_id": dataset_id,
        "title": catalogue.get("title") or "",
        "description": catalogue.get("description") or "",
        "keyword": _join(catalogue.get("keyword")),
        "publisher": publisher.get("name") or "" if isinstance(publisher, dict) else "",
        "creator": catalogue.get("creator") or "",
        "dictionary": _join(part for t in tables for part in (t.name, t.description)),
        "field_names": _join(f["name"] for f in fields),
        "field_text": _join(part for f in fields for part in (f.get("label"),
                                                                  f.get("description"))),
        "extra": _join(text for text in extra if text),
    }


def _join(parts: Iterable | None) -> str:
    return " ".join(str(p) for p in parts or () if p)


def vocabulary(document: dict) -> set[str]:
    """The words of a document as fuzzy terms are matched to: lower-cased, accents removed."""
    text = " ".join(document[c] for c in COLUMNS)
    return {w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD}


def fold(text: str) -> str:
    """``text`` lower-cased without accents."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _add_words(connection, words: set[str]) -> None:
    if not words:
        return
    rows = [{"word": word} for word in sorted(words)]
    if connection.dialect.name == "sqlite":
        statement = sqlite.insert(SearchWord).on_conflict_do_nothing()
    else:
        statement = postgresql.insert(SearchWord).on_conflict_do_nothing()
    connection.execute(statement, rows)
