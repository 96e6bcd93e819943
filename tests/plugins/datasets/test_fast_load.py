"""The dataset schemas load through their plans exactly as through marshmallow: the same data
for valid records, the same errors, word for word, for records broken in any place."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import marshmallow as ma
import pytest
from fairhub_datasets.config import SETTINGS
from fairhub_datasets.schemas import (
    DatasetCreateSchema,
    DatasetPatchSchema,
    DictionaryCreateSchema,
)
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.datasets.test_validation import BASE
from test_nested import outcome, reference

EXAMPLES = Path(__file__).parent / "examples"
RECORDS = [BASE, *(json.loads((EXAMPLES / name).read_text())
                   for name in ("dataset-create.json", "dataset-patch.json"))]
SCHEMAS = [DatasetCreateSchema(), DatasetPatchSchema(), DictionaryCreateSchema()]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from(
        ["", " ", "ok", "9lives", "a b", "integer", "text", "boolean", "x" * 101, "F", "M",
         "2026-01-15", "20260115", "a@example.org", "not a mail", "https://example.org/x",
         "basic_access_request", "public", "SEX", "valid_table"]),
    st.lists(st.sampled_from(["F", 1, "x", None]), max_size=3),
    st.fixed_dictionaries({"name": st.sampled_from(["F", 2, ""])}))


def _paths(value, path=()):
    """Every place in a JSON value: the paths of its keys and list items."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@st.composite
def broken(draw):
    """A record with up to three places changed: a new value, removed, a key added, or a
    list's first item repeated."""
    record = copy.deepcopy(draw(st.sampled_from(RECORDS)))
    for _ in range(draw(st.integers(0, 3))):
        places = [path for path in _paths(record) if path]
        if not places:
            break
        *parents, last = draw(st.sampled_from(places))
        target = record
        for key in parents:
            target = target[key]
        change = draw(st.sampled_from(["set", "remove", "add", "repeat"]))
        if change == "repeat" and isinstance(target[last], list) and target[last]:
            target[last].append(copy.deepcopy(target[last][0]))
        elif change == "remove":
            del target[last]
        elif change == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(["extra", "id", "toBeDeleted", "k" * 101]))] = \
                draw(VALUES)
        else:
            target[last] = draw(VALUES)
    return record


@pytest.fixture(scope="module")
def context():
    app = Flask(__name__)
    app.config.update({setting.name: setting.default for setting in SETTINGS})
    with app.app_context():
        yield


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: type(schema).__name__)
@settings(max_examples=300, deadline=None)
@given(record=broken())
def test_plans_load_and_fail_exactly_as_marshmallow(context, schema, record):
    if isinstance(schema, DictionaryCreateSchema):
        tables = record.get("dictionaries")
        record = tables[0] if isinstance(tables, list) and tables else tables
    assert outcome(schema.load, copy.deepcopy(record)) == reference(schema, copy.deepcopy(record))


def test_the_examples_take_the_plans(context, monkeypatch):
    expected = [reference(DatasetCreateSchema(), RECORDS[i]) for i in (0, 1)]
    assert [outcome for outcome, _ in expected] == ["loaded", "loaded"]
    monkeypatch.setattr(ma.Schema, "_do_load", None)  # marshmallow's load would now fail
    assert [outcome(DatasetCreateSchema().load, RECORDS[i]) for i in (0, 1)] == expected
