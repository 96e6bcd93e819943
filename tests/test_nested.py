"""FastSchema and NestedList: a plan accepts only what the schema accepts, loading it the same,
and leaves everything else, with its errors, to marshmallow."""
from __future__ import annotations

import marshmallow as ma
import pytest
from fairhub_datasets.schemas import FieldSchema, LookupOptionSchema
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow.utils import missing

from fairhub import FastSchema, NestedList
from fairhub.nested import plan


class Included(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    name = ma.fields.String(required=True, validate=lambda value: value != "no" and None)
    tags = ma.fields.Raw(load_default=list)


class Tag(FastSchema):
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=3))


class Hooked(FastSchema):
    """Every kind of field a plan handles, and every kind of hook it follows."""

    class Meta:
        unknown = ma.INCLUDE

    name = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=2, max=6), ma.validate.Regexp(r"[a-z]+\Z"),
        ma.validate.OneOf(["alpha", "beta", "gamma", "de", "lambda"])])
    title = ma.fields.String(data_key="Title", attribute="heading", load_default="untitled")
    size = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0))
    code = ma.fields.String(validate=ma.validate.Length(equal=2))
    kind = ma.fields.Raw(validate=ma.validate.OneOf(frozenset({"a", 1})))
    mail = ma.fields.Email()
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.Length(equal=2)))
    labels = ma.fields.List(ma.fields.Raw(allow_none=True), validate=ma.validate.Length(max=2))
    notes = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(min=1, max=3)),
                           values=ma.fields.Nested(Tag), validate=ma.validate.Length(max=2))
    counts = ma.fields.Dict(values=ma.fields.Integer(), allow_none=True, load_default=dict)
    names = ma.fields.Dict(keys=ma.fields.String(allow_none=True))
    main = ma.fields.Nested(Tag)
    more = ma.fields.Nested(Tag, many=True, validate=ma.validate.Length(max=2))

    @ma.pre_load
    def lower(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            return {**data, "name": data["name"].lower()}
        return data

    @ma.validates("size")
    def even(self, value, **_):
        if value is not None and value % 2:
            raise ma.ValidationError("Must be even.")

    @ma.validates("tags")
    def drop_empty(self, value, **_):
        return missing if value == [] else None  # marshmallow then leaves the key out

    @ma.validates_schema(pass_original=True)
    def no_shouting(self, data, original, **_):
        if isinstance(original, dict) and original.get("name") == "DE":
            raise ma.ValidationError("No shouting.", "name")
        if data.get("heading") == data.get("name"):
            raise ma.ValidationError("Title repeats the name.")


def outcome(load, data):
    """What ``load(data)`` makes of it: the data loaded, or marshmallow's error messages."""
    try:
        return "loaded", load(data)
    except ma.ValidationError as error:
        return "errors", error.messages


def reference(schema: ma.Schema, data):
    """What marshmallow alone makes of ``data``: every plan switched off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FastSchema, "load", ma.Schema.load)
        patch.setattr(NestedList, "_deserialize", ma.fields.Nested._deserialize)
        return outcome(schema.load, data)


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=False),
    st.sampled_from(["", " ", "id", "9lives", "a b", "integer", "text", "x" * 64, "alpha",
                     "DE", "Beta", "ab", "a@example.org", "https://example.org/x",
                     "not a uri", "x" * 600]),
    st.text(max_size=8), st.lists(st.sampled_from(["ab", "abc", 1]), max_size=3),
    st.dictionaries(st.sampled_from(["label", "x"]), st.sampled_from(["ab", "", 3]),
                    max_size=2))
KEYS = st.sampled_from(["name", "label", "type", "description", "constraints", "uri",
                        "pseudonymisation_rule", "tags", "other", "Title", "heading", "size",
                        "mail", "main", "more", "labels", "notes", "counts", "names"])
ITEMS = st.one_of(st.dictionaries(KEYS, VALUES, max_size=8), VALUES)
TAG = st.fixed_dictionaries({"label": st.sampled_from(["ab", "abc", "", "abcd", 1])})
# Mostly valid objects, so that the ways of failing one rule at a time come up often.
HOOKED = st.fixed_dictionaries(
    {"name": st.sampled_from(["alpha", "Beta", "DE", "de", "lambda", "epsilon", "a", 3])},
    optional={"Title": st.sampled_from(["T", "alpha", None]),
              "size": st.one_of(st.integers(-1, 4), st.none(), st.just("2")),
              "mail": st.sampled_from(["a@example.org", "nope"]),
              "code": st.sampled_from(["ab", "abc"]),
              "kind": st.sampled_from(["a", 1, "b", [], {}]),
              "tags": st.lists(st.sampled_from(["ab", "abc"]), max_size=2),
              "main": st.one_of(TAG, st.lists(TAG, max_size=1)),
              "more": st.lists(TAG, max_size=3), "extra": VALUES,
              "labels": st.one_of(st.lists(st.sampled_from(["a", None, 1, [2]]), max_size=3),
                                  VALUES),
              "notes": st.one_of(st.dictionaries(st.sampled_from(["a", "abc", "", "abcd"]),
                                                 st.one_of(TAG, VALUES), max_size=3), VALUES),
              "counts": st.one_of(st.dictionaries(st.sampled_from(["a", "b"]),
                                                  st.sampled_from([1, "2", "x", None])),
                                  VALUES),
              "names": st.one_of(st.dictionaries(st.sampled_from(["a", "b"]), VALUES), VALUES)})


@pytest.mark.parametrize("schema", [FieldSchema(), LookupOptionSchema(), Included(), Hooked()],
                         ids=lambda s: type(s).__name__)
@settings(max_examples=400, deadline=None)
@given(item=ITEMS)
def test_a_plan_accepts_only_what_the_schema_accepts_and_loads_it_the_same(schema, item):
    fast = plan(schema, schema.unknown)(item)
    if fast is not None:
        assert ("loaded", fast) == outcome(ma.Schema.load.__get__(schema), item)


@settings(max_examples=400, deadline=None)
@given(item=st.one_of(HOOKED, ITEMS), many=st.booleans())
@example(item={"name": "alpha", "size": 3}, many=False)
@example(item={"name": "lambda", "main": {"label": "abc"}}, many=False)
@example(item={"name": "alpha", "kind": []}, many=False)
def test_a_fast_schema_loads_and_fails_exactly_as_marshmallow(item, many):
    data = [item, item] if many else item
    assert outcome(lambda d: Hooked(many=many).load(d), data) == reference(Hooked(many=many),
                                                                          data)


@pytest.mark.parametrize("schema, item", [
    (FieldSchema(), {"name": "id", "type": "integer"}),
    (FieldSchema(), {"name": "visit_date", "label": "Visit", "type": "date", "description": None,
                     "constraints": None, "uri": "https://example.org/v",
                     "pseudonymisation_rule": "shift"}),
    (LookupOptionSchema(), {"name": 3}),
    (LookupOptionSchema(), {"name": "c1", "description": "First"}),
    (Included(), {"name": "yes", "extra": [1]}),
    (Hooked(), {"name": "Beta", "Title": "B", "size": 4, "mail": "a@example.org",
                "tags": ["ab"], "main": {"label": "ab"}, "more": [{"label": "x"}], "y": 1}),
    (Hooked(), {"name": "lambda", "code": "ab", "main": {"label": "abc"}, "tags": [],
                "kind": 1}),
    (Hooked(), {"name": "de", "more": [{"label": "a"}, {"label": "abc"}]}),
    (Hooked(), {"name": "de", "labels": [None, {"x": 1}], "notes": {"a": {"label": "ab"}},
                "counts": {"a": 1, "b": "2"}, "names": {"a": [1], "b": None}}),
])
def test_plainly_valid_items_take_the_plan(schema, item, monkeypatch):
    expected = ma.Schema.load(schema, item)
    load = plan(schema, schema.unknown)
    if isinstance(schema, FastSchema):
        assert schema.load(item) == expected  # and its plans are made
    # Marshmallow's loading of schemas, lists and dicts would now fail.
    monkeypatch.setattr(ma.Schema, "_do_load", None)
    monkeypatch.setattr(ma.fields.List, "_deserialize", None)
    monkeypatch.setattr(ma.fields.Mapping, "_deserialize", None)
    assert load(item) == expected
    if isinstance(schema, FastSchema):
        assert schema.load(item) == expected


def test_a_plans_code_never_holds_a_key_or_a_value():
    key = 'a"\n) or __import__("os")  # '

    class Odd(FastSchema):
        odd = ma.fields.String(data_key=key, required=True, validate=ma.validate.OneOf([key]))

    assert Odd().load({key: key}) == {"odd": key}
    assert outcome(Odd().load, {key: "b"}) == ("errors", {key: ["Must be one of: " + key + "."]})


def test_a_partial_load_goes_through_marshmallow(monkeypatch):
    calls = []
    do_load = ma.Schema._do_load
    monkeypatch.setattr(ma.Schema, "_do_load",
                        lambda self, *a, **k: calls.append(k["partial"]) or do_load(self, *a, **k))
    assert Tag().load({"label": "ab"}) == {"label": "ab"} and calls == []
    assert Tag().load({}, partial=True) == {} and calls == [True]
    assert Tag(partial=("label",)).load({"label": "ab"}) == {"label": "ab"}
    assert calls == [True, None]  # the schema's own partial: marshmallow too


class Fast(ma.Schema):
    fields = NestedList(FieldSchema)


class Plain(ma.Schema):
    fields = ma.fields.Nested(FieldSchema, many=True)


GOOD = {"name": "id", "type": "integer"}


@pytest.mark.parametrize("value", [
    [], [GOOD, GOOD], [GOOD, {"name": "1d", "type": "integer", "x": 1}], [GOOD, None],
    [{"name": "id"}], "id", None, {"name": "id"}, [GOOD, {"name": "id", "type": "uuid"}],
])
def test_lists_load_and_fail_exactly_as_through_the_schema(value):
    assert outcome(Fast().load, {"fields": value}) == outcome(Plain().load, {"fields": value})


def test_schemas_a_plan_cannot_follow_are_refused():
    class Built(ma.Schema):
        name = ma.fields.String()

        @ma.post_load
        def build(self, data, **_):
            return data

    class Whole(ma.Schema):
        name = ma.fields.String()

        @ma.validates_schema(pass_collection=True)
        def check(self, data, **_):
            pass

    class Dotted(ma.Schema):
        name = ma.fields.String(attribute="a.b")

    for schema in (Built(), Whole(), Dotted()):
        with pytest.raises(TypeError):
            plan(schema, ma.RAISE)

    class Misnamed(ma.Schema):
        name = ma.fields.String()

        @ma.validates("nmae")
        def check(self, value, **_):
            pass

    with pytest.raises(ValueError, match="nmae"):
        plan(Misnamed(), ma.RAISE)
