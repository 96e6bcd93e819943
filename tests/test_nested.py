"""NestedList: its fast plan accepts only what the nested schema accepts, loading it the same."""
from __future__ import annotations

import marshmallow as ma
import pytest
from fairhub_datasets.schemas import FieldSchema, LookupOptionSchema
from hypothesis import given, settings
from hypothesis import strategies as st

from fairhub import NestedList
from fairhub.nested import plan

SCHEMAS = [FieldSchema(), LookupOptionSchema()]


class Included(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    name = ma.fields.String(required=True, validate=lambda value: value != "no" and None)
    tags = ma.fields.Raw(load_default=list)


def _reference(schema: ma.Schema, item):
    try:
        return schema.load(item)
    except ma.ValidationError:
        return None


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["", " ", "id", "9lives", "a b", "integer", "text", "x" * 64,
                     "https://example.org/x", "not a uri", "x" * 600]),
    st.text(max_size=8), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
KEYS = st.sampled_from(["name", "label", "type", "description", "constraints", "uri",
                        "pseudonymisation_rule", "tags", "other"])
ITEMS = st.one_of(st.dictionaries(KEYS, VALUES, max_size=8), VALUES)


@pytest.mark.parametrize("schema", [*SCHEMAS, Included()], ids=lambda s: type(s).__name__)
@settings(max_examples=400, deadline=None)
@given(item=ITEMS)
def test_the_plan_accepts_only_what_the_schema_accepts_and_loads_it_the_same(schema, item):
    fast = plan(schema, schema.unknown)(item)
    if fast is not None:
        assert fast == schema.load(item)


@pytest.mark.parametrize("schema, item", [
    (FieldSchema(), {"name": "id", "type": "integer"}),
    (FieldSchema(), {"name": "visit_date", "label": "Visit", "type": "date", "description": None,
                     "constraints": None, "uri": "https://example.org/v",
                     "pseudonymisation_rule": "shift"}),
    (LookupOptionSchema(), {"name": 3}),
    (LookupOptionSchema(), {"name": "c1", "description": "First"}),
    (Included(), {"name": "yes", "extra": [1]}),
])
def test_plainly_valid_items_take_the_fast_path(schema, item):
    assert plan(schema, schema.unknown)(item) == schema.load(item)


class Fast(ma.Schema):
    fields = NestedList(FieldSchema)


class Plain(ma.Schema):
    fields = ma.fields.Nested(FieldSchema, many=True)


def _outcome(schema: ma.Schema, data: dict):
    try:
        return "loaded", schema.load(data)
    except ma.ValidationError as error:
        return "errors", error.messages


GOOD = {"name": "id", "type": "integer"}


@pytest.mark.parametrize("value", [
    [], [GOOD, GOOD], [GOOD, {"name": "1d", "type": "integer", "x": 1}], [GOOD, None],
    [{"name": "id"}], "id", None, {"name": "id"}, [GOOD, {"name": "id", "type": "uuid"}],
])
def test_lists_load_and_fail_exactly_as_through_the_schema(value):
    assert _outcome(Fast(), {"fields": value}) == _outcome(Plain(), {"fields": value})


def test_schemas_it_cannot_follow_are_refused():
    class Hooked(ma.Schema):
        name = ma.fields.String()

        @ma.validates("name")
        def check(self, value, **_):
            pass

    class Numbered(ma.Schema):
        size = ma.fields.Integer()

    class Renamed(ma.Schema):
        name = ma.fields.String(attribute="title")

    for schema in (Hooked(), Numbered(), Renamed()):
        with pytest.raises(TypeError):
            plan(schema, ma.RAISE)
