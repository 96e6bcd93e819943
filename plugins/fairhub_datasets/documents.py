"""A dataset's stored document: the JSON text GET answers with, approvers added at read time.

Documents are rendered here, by hand rather than through marshmallow, because the import
renders tens of thousands of them; ``DatasetSchema`` documents the same shape, and the tests
hold the two together.
"""
from __future__ import annotations

import json
from typing import Any

from fairhub.api import timestamp

from .schemas import CATALOGUE_KEYS

_EMPTY_CATALOGUE = dict.fromkeys(CATALOGUE_KEYS)


def document(dataset: Any, dictionaries: list[Any]) -> str:
    """The document of ``dataset`` (any object with its columns as attributes)."""
    return json.dumps({
        "id": dataset.id,
        "code": dataset.code,
        "name": dataset.name,
        "visibility": dataset.visibility,
        "workflow_key": dataset.workflow_key,
        "catalogue": {**_EMPTY_CATALOGUE, **dataset.catalogue},
        "dictionaries": [dictionary_answer(d) for d in dictionaries],
        "created_at": timestamp(dataset.created_at),
        "updated_at": timestamp(dataset.updated_at),
    })


def dictionary_answer(dictionary: Any) -> dict:
    return {
        "id": dictionary.id,
        "code": dictionary.code,
        "name": dictionary.name,
        "description": dictionary.description,
        "dataset_id": dictionary.dataset_id,
        "fields": dictionary.fields,
        "lookups": dictionary.lookups,
        "created_at": timestamp(dictionary.created_at),
        "updated_at": timestamp(dictionary.updated_at),
    }


def answer(document_text: str, approvers: list[dict]) -> str:
    """A stored document with the dataset's current approvers added as its last key."""
    return f'{document_text[:-1]}, "approvers": {json.dumps(approvers)}}}'
