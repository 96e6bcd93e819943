"""A dataset's stored document: the JSON text GET answers with, approvers added at read time.

Documents are assembled here by hand rather than dumped through marshmallow, from JSON pieces
written once: the import's worker processes encode each new dataset (:func:`encode`), and the
writer only puts ids and times around the pieces. ``DatasetSchema`` documents the same shape,
and the tests hold the two together.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from fairhub import timestamp

from .schemas import CATALOGUE_KEYS

_EMPTY_CATALOGUE = dict.fromkeys(CATALOGUE_KEYS)

to_json = json.JSONEncoder(check_circular=False).encode
"""``json.dumps``, without its check for cycles: what is encoded here is a tree (decoded from
JSON, then validated), and the check costs nearly half the time of encoding a dataset."""


def as_tuple(instance: Any) -> tuple:
    """A dataclass instance's ``__reduce__`` as its class and field values: pickled as a
    tuple, much cheaper to copy between processes than its attribute dictionary."""
    return type(instance), tuple(getattr(instance, f.name) for f in fields(instance))


@dataclass(frozen=True)
class Encoded:
    """A new dataset's JSON, written once: its catalogue as stored and as shown, and the
    fields and lookups of each dictionary; and what listeners prepared of it, by key (the
    ``fairhub_dataset_prepare`` hook)."""

    catalogue: str
    shown: str
    dictionaries: tuple[tuple[str, str], ...]
    prepared: dict = field(default_factory=dict)

    __reduce__ = as_tuple


def clean_catalogue(catalogue: dict) -> dict:
    """The catalogue as stored: no ``id`` (that is the code), no keys set to null."""
    return {key: value for key, value in catalogue.items()
            if value is not None and key != "id"}


def catalogue_shown(catalogue: dict) -> dict:
    """A stored catalogue as answers show it: every documented key, null when unset."""
    return {**_EMPTY_CATALOGUE, **catalogue}


def shown_catalogue(catalogue: dict) -> str:
    """:func:`catalogue_shown` as JSON."""
    return to_json(catalogue_shown(catalogue))


def encode(data: dict, prepare: Callable[[Any], list] | None = None) -> Encoded:
    """The JSON of a validated new dataset (no database needed: import workers run it), and
    the ``(key, value)`` answers of ``prepare`` (the ``fairhub_dataset_prepare`` hook) for
    it."""
    catalogue = clean_catalogue(data["catalogue"])
    dictionaries = data.get("dictionaries", ())
    prepared = {}
    if prepare is not None:
        prepared = dict(prepare(SimpleNamespace(  # the answers that are not None
            code=data.get("code"), name=data.get("name") or catalogue.get("title"),
            visibility=data["visibility"], catalogue=catalogue, dictionaries=[
                SimpleNamespace(name=dictionary_name(d), description=d.get("description"),
                                fields=d.get("fields", [])) for d in dictionaries])))
    return Encoded(to_json(catalogue), shown_catalogue(catalogue), tuple(
        (to_json(d.get("fields", [])), to_json(d.get("lookups", {})))
        for d in dictionaries), prepared)


def dictionary_name(item: dict) -> str | None:
    """A new dictionary's name: the one given, else its code."""
    return item.get("name") or item.get("code")


class NewDataset:
    """What a new dataset's create event carries as its subject: the attributes of a Dataset
    and its dictionaries that listeners read (``id``, ``code``, ``name``, ``visibility``,
    ``catalogue``; ``dictionaries`` with ``name``, ``description`` and ``fields``), decoded
    from the JSON written only when read, and what was ``prepared`` of it ahead."""

    def __init__(self, code: str, name: str, visibility: str, encoded: Encoded,
                 dictionaries: list[dict]) -> None:
        self.id: int | None = None  # known once its row is written
        self.code, self.name, self.visibility = code, name, visibility
        self.prepared = encoded.prepared
        self._catalogue, self._dictionaries = encoded.catalogue, dictionaries

    @cached_property
    def catalogue(self) -> dict:
        return json.loads(self._catalogue)

    @cached_property
    def dictionaries(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=d["name"], description=d["description"],
                                fields=json.loads(d["fields"])) for d in self._dictionaries]


def document(dataset: Any, dictionaries: list[Any]) -> str:
    """The document of a dataset object and its dictionary objects."""
    return assemble(dataset, shown_catalogue(dataset.catalogue), [
        (d, to_json(d.fields), to_json(d.lookups)) for d in dictionaries])


def assemble(dataset: Any, shown: str, dictionaries: list[tuple[Any, str, str]]) -> str:
    """The document from a dataset's columns (attributes of ``dataset``), its shown catalogue
    and each dictionary's columns with its fields and lookups, all JSON already."""
    return (f'{{"id": {dataset.id}, "code": {to_json(dataset.code)}, '
            f'"name": {to_json(dataset.name)}, '
            f'"visibility": {to_json(dataset.visibility)}, '
            f'"workflow_key": {to_json(dataset.workflow_key)}, "catalogue": {shown}, '
            f'"dictionaries": [{", ".join(_dictionary(*d) for d in dictionaries)}], '
            f'"created_at": {to_json(timestamp(dataset.created_at))}, '
            f'"updated_at": {to_json(timestamp(dataset.updated_at))}}}')


def _dictionary(dictionary: Any, fields: str, lookups: str) -> str:
    return (f'{{"id": {dictionary.id}, "code": {to_json(dictionary.code)}, '
            f'"name": {to_json(dictionary.name)}, '
            f'"description": {to_json(dictionary.description)}, '
            f'"dataset_id": {dictionary.dataset_id}, "fields": {fields}, '
            f'"lookups": {lookups}, '
            f'"created_at": {to_json(timestamp(dictionary.created_at))}, '
            f'"updated_at": {to_json(timestamp(dictionary.updated_at))}}}')


def answer(document_text: str, approvers: list[dict]) -> str:
    """A stored document with the dataset's current approvers added as its last key."""
    return f'{document_text[:-1]}, "approvers": {to_json(approvers) if approvers else "[]"}}}'
