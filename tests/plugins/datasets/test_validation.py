"""Bad input to the datasets API: each a clear 4xx in the error shape, naming the field."""
from __future__ import annotations

import copy
import json

import pytest
from fairhub.testing import assert_error, signed_in

from plugins.datasets.test_datasets_api import catalogue, create, field, get, ok

BASE = {
    "code": "valid",
    "catalogue": {**catalogue(), "publisher": {"name": "Example University"}},
    "dictionaries": [{"code": "valid_table", "name": "Table", "fields": [
        {"name": "sex", "type": "text", "constraints": "SEX"},
        {"name": "age", "type": "integer", "constraints": None}],
        "lookups": {"SEX": [{"name": "F"}, {"name": "M"}]}}],
}
DELETE = object()


def payload(changes: dict) -> dict:
    """BASE with ``changes`` applied: dotted paths (list indexes as numbers) to new values,
    or to DELETE to remove the key."""
    body = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = body
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return body


def assert_invalid(response, path: str, status: int = 422) -> dict:
    """A validation error whose ``details.json`` names the field at dotted ``path``."""
    error = assert_error(response, status, "validation_error" if status == 422 else None)
    details = error["details"]["json"]
    for key in path.split("."):
        assert isinstance(details, dict) and key in details, (path, error["details"])
        details = details[key]
    assert details, error
    return error


@pytest.fixture
def manager(app):
    return signed_in(app, "data-manager")


@pytest.fixture(scope="module")
def refused_manager(make_shared_app):
    """A data manager of one app shared by the checks whose request must be refused, in
    which no dataset is ever made: each check still sees that none exists after its own
    request, as on a fresh app, without building an app per case."""
    return signed_in(make_shared_app(["datasets"]), "data-manager")


LONG = "x" * 65
BAD_CODES = ["a/b", "../x", "abc\n", "with space", "", "é", LONG, "a-b", "a.b", 5, None]
CASES = {
    # dataset codes, at the top level and in the older catalogue.id form
    **{f"code={code!r}": ({"code": code}, "code") for code in BAD_CODES},
    **{f"catalogue.id={code!r}": ({"code": DELETE, "catalogue.id": code}, "code")
       for code in ("a/b", "../x", "abc\n")},
    "code differs from catalogue.id": ({"catalogue.id": "other"}, "code"),
    # dictionary codes
    **{f"dictionary code={code!r}": ({"dictionaries.0.code": code}, "dictionaries.0.code")
       for code in ("1abc", "a/b", "../x", "abc\n", "a-b", "", LONG)},
    "duplicate dictionary codes": (
        {"dictionaries": [*BASE["dictionaries"], {"code": "valid_table"}]}, "dictionaries"),
    # the catalogue's required keys and formats
    "no catalogue": ({"catalogue": DELETE}, "catalogue"),
    "catalogue not an object": ({"catalogue": "Asthma"}, "catalogue"),
    "no title": ({"catalogue.title": DELETE}, "catalogue.title"),
    "empty title": ({"catalogue.title": ""}, "catalogue.title"),
    "null title": ({"catalogue.title": None}, "catalogue.title"),
    "no description": ({"catalogue.description": DELETE}, "catalogue.description"),
    "empty description": ({"catalogue.description": ""}, "catalogue.description"),
    "publisher without name": ({"catalogue.publisher": {"url": "https://example.org"}},
                               "catalogue.publisher.name"),
    "publisher not an object": ({"catalogue.publisher": "Example"}, "catalogue.publisher"),
    "contactPoint not an email": ({"catalogue.contactPoint": "not-an-email"},
                                  "catalogue.contactPoint"),
    "contactPoint with two @": ({"catalogue.contactPoint": "a@@example.org"},
                                "catalogue.contactPoint"),
    "identifier without scheme": ({"catalogue.identifier": "example.org/x"},
                                  "catalogue.identifier"),
    "identifier with spaces": ({"catalogue.identifier": "https://example.org/a b"},
                               "catalogue.identifier"),
    "rights not a URI": ({"catalogue.rights": "all rights reserved"}, "catalogue.rights"),
    "publisher url not a URI": ({"catalogue.publisher.url": "www.example.org"},
                                "catalogue.publisher.url"),
    "field uri not a URI": ({"dictionaries.0.fields.0.uri": "sex"}, "dictionaries.0.fields.0.uri"),
    "issued not a date": ({"catalogue.issued": "yesterday"}, "catalogue.issued"),
    "issued month 13": ({"catalogue.issued": "2026-13-01"}, "catalogue.issued"),
    # list types
    "keyword a string": ({"catalogue.keyword": "asthma"}, "catalogue.keyword"),
    "keyword of numbers": ({"catalogue.keyword": [1]}, "catalogue.keyword"),
    "keyword empty string": ({"catalogue.keyword": [""]}, "catalogue.keyword"),
    "language a string": ({"catalogue.language": "en"}, "catalogue.language"),
    "language nested": ({"catalogue.language": [["en"]]}, "catalogue.language"),
    "dictionaries an object": ({"dictionaries": {"code": "x"}}, "dictionaries"),
    "fields an object": ({"dictionaries.0.fields": {"name": "x"}}, "dictionaries.0.fields"),
    # length limits
    "title too long": ({"catalogue.title": "x" * 501}, "catalogue.title"),
    "description too long": ({"catalogue.description": "x" * 100_001}, "catalogue.description"),
    "versionInfo too long": ({"catalogue.versionInfo": "x" * 101}, "catalogue.versionInfo"),
    "too many keywords": ({"catalogue.keyword": [f"k{i}" for i in range(201)]},
                          "catalogue.keyword"),
    "keyword too long": ({"catalogue.keyword": ["x" * 201]}, "catalogue.keyword"),
    "language too long": ({"catalogue.language": ["x" * 36]}, "catalogue.language"),
    "extra catalogue key too long": ({"catalogue." + "k" * 101: 1}, "catalogue"),
    "name too long": ({"name": "x" * 501}, "name"),
    "empty name": ({"name": ""}, "name"),
    "dictionary name too long": ({"dictionaries.0.name": "x" * 501}, "dictionaries.0.name"),
    "field name too long": ({"dictionaries.0.fields.1.name": "x" * 64},
                            "dictionaries.0.fields.1.name"),
    "field label too long": ({"dictionaries.0.fields.1.label": "x" * 501},
                             "dictionaries.0.fields.1.label"),
    "option name too long": ({"dictionaries.0.lookups.SEX.0.name": "x" * 501},
                             "dictionaries.0.lookups"),
    # fields
    "duplicate field names": ({"dictionaries.0.fields.1.name": "SEX"}, "dictionaries.0.fields.1"),
    "unknown field type": ({"dictionaries.0.fields.1.type": "string"},
                           "dictionaries.0.fields.1.type"),
    "field without type": ({"dictionaries.0.fields.1.type": DELETE},
                           "dictionaries.0.fields.1.type"),
    "field without name": ({"dictionaries.0.fields.1.name": DELETE},
                           "dictionaries.0.fields.1.name"),
    "field name with a dash": ({"dictionaries.0.fields.1.name": "a-b"},
                               "dictionaries.0.fields.1.name"),
    "field name starting with a digit": ({"dictionaries.0.fields.1.name": "1st"},
                                         "dictionaries.0.fields.1.name"),
    "unknown field key": ({"dictionaries.0.fields.1.unit": "years"},
                          "dictionaries.0.fields.1.unit"),
    "boolean field with constraints": ({"dictionaries.0.fields.0.type": "boolean"},
                                       "dictionaries.0.fields.0.constraints"),
    "constraints naming a missing lookup": ({"dictionaries.0.fields.1.constraints": "AGE"},
                                            "dictionaries.0.fields.1.constraints"),
    # lookups
    "lookup type differs from its field": (
        {"dictionaries.0.lookups.SEX": {"type": "integer", "options": [{"name": 1}]}},
        "dictionaries.0.fields.0.constraints"),
    "list lookup shared by fields of two types": (
        {"dictionaries.0.fields.1.constraints": "SEX"}, "dictionaries.0.fields.1.constraints"),
    "duplicate option names": ({"dictionaries.0.lookups.SEX.1.name": "F"},
                               "dictionaries.0.lookups"),
    "duplicate option names number and text": (
        {"dictionaries.0.lookups.SEX": [{"name": 1}, {"name": "1"}]}, "dictionaries.0.lookups"),
    "option name a boolean": ({"dictionaries.0.lookups.SEX.0.name": True},
                              "dictionaries.0.lookups"),
    "option name an object": ({"dictionaries.0.lookups.SEX.0.name": {"a": 1}},
                              "dictionaries.0.lookups"),
    "option without name": ({"dictionaries.0.lookups.SEX.0": {"description": "F"}},
                            "dictionaries.0.lookups"),
    "lookup a string": ({"dictionaries.0.lookups.SEX": "F,M"}, "dictionaries.0.lookups"),
    "lookup of unknown type": ({"dictionaries.0.lookups.SEX": {"type": "str", "options": []}},
                               "dictionaries.0.lookups"),
    "lookup without options": ({"dictionaries.0.lookups.SEX": {"type": "text"}},
                               "dictionaries.0.lookups"),
    # unknown or misplaced keys and values
    "unknown top-level key": ({"colour": "red"}, "colour"),
    "id on create": ({"id": 7}, "id"),
    "toBeDeleted on create": ({"dictionaries.0.toBeDeleted": True},
                              "dictionaries.0.toBeDeleted"),
    "unknown dictionary key": ({"dictionaries.0.table": "x"}, "dictionaries.0.table"),
    "unknown visibility": ({"visibility": "secret"}, "visibility"),
    "unknown workflow": ({"workflow_key": "fast_track"}, "workflow_key"),
}


@pytest.mark.parametrize("changes, path", CASES.values(), ids=CASES.keys())
def test_bad_create_is_422_naming_the_field(refused_manager, changes, path):
    assert_invalid(refused_manager.post("/api/datasets", json=payload(changes)), path)
    assert ok(refused_manager.get("/api/datasets"))["paging"]["total"] == 0


def test_base_payload_is_valid(manager):
    created = create(manager, **payload({}))
    assert created["dictionaries"][0]["lookups"]["SEX"]["type"] == "text"


def test_a_new_dictionary_without_code_or_name_is_422(manager):
    assert_invalid(manager.post("/api/datasets", json=payload({"dictionaries.0": {}})),
                   "dictionaries")


def test_limits_on_dictionaries_fields_and_options_come_from_config(make_app):
    app = make_app({"DATASETS_MAX_DICTIONARIES": 2, "DATASETS_MAX_FIELDS": 2,
                    "DATASETS_MAX_LOOKUP_OPTIONS": 2})
    client = signed_in(app, "data-manager")
    three = [{"name": f"n{i}"} for i in range(3)]
    for changes, path in (
        ({"dictionaries": [{"code": f"t{i}"} for i in range(3)]}, "dictionaries"),
        ({"dictionaries.0.fields": [field(f"f{i}") for i in range(3)]}, "dictionaries.0.fields"),
        ({"dictionaries.0.lookups.SEX": three}, "dictionaries.0.lookups"),
    ):
        assert_invalid(client.post("/api/datasets", json=payload(changes)), path)
    created = create(client, **payload({"dictionaries.0.lookups.SEX": three[:2]}))
    assert_invalid(client.patch(f"/api/datasets/{created['code']}", json={
        "dictionaries": [{"code": f"t{i}"} for i in range(3)]}), "dictionaries")


PATCH_CASES = {
    "code": ({"code": "renamed"}, "code"),
    "unknown key": ({"colour": "red"}, "colour"),
    "null title": ({"catalogue": {"title": None}}, "catalogue.title"),
    "empty title": ({"catalogue": {"title": ""}}, "catalogue.title"),
    "null description": ({"catalogue": {"description": None}}, "catalogue.description"),
    "bad contactPoint": ({"catalogue": {"contactPoint": "nobody"}}, "catalogue.contactPoint"),
    "publisher without name": ({"catalogue": {"publisher": {"url": "https://example.org"}}},
                               "catalogue.publisher.name"),
    "null name": ({"name": None}, "name"),
    "empty name": ({"name": ""}, "name"),
    "null visibility": ({"visibility": None}, "visibility"),
    "unknown visibility": ({"visibility": "hidden"}, "visibility"),
    "catalogue a list": ({"catalogue": ["title"]}, "catalogue"),
    "dictionary id not a number": ({"dictionaries": [{"id": "one", "code": "valid_table"}]},
                                   "dictionaries.0.id"),
    "toBeDeleted a string": ({"dictionaries": [{"code": "valid_table", "toBeDeleted": "yes"}]},
                             "dictionaries.0.toBeDeleted"),
    "empty dictionary name": ({"dictionaries": [{"code": "valid_table", "name": ""}]},
                              "dictionaries.0.name"),
    "new dictionary without code or name": ({"dictionaries": [{"fields": []}]}, "dictionaries"),
    "replacement fields with a missing lookup": (
        {"dictionaries": [{"code": "valid_table", "fields": [field("x", "text", "X")]}]},
        "dictionaries.0.fields.0.constraints"),
}


@pytest.mark.parametrize("body, path", PATCH_CASES.values(), ids=PATCH_CASES.keys())
def test_bad_patch_is_422_and_changes_nothing(manager, body, path):
    before = create(manager, **payload({}))
    assert_invalid(manager.patch("/api/datasets/valid", json=body), path)
    assert get(manager, "valid") == before


@pytest.mark.parametrize("body, path", [
    ({"code": "x"}, "code"),
    ({"name": ""}, "name"),
    ({"toBeDeleted": True}, "toBeDeleted"),
    ({"fields": [field("b", "boolean", "SEX")]}, "fields.0.constraints"),
    ({"lookups": {"SEX": {"type": "integer", "options": []}}}, "fields.0.constraints"),
])
def test_bad_dictionary_patch_is_422(manager, body, path):
    before = create(manager, **payload({}))["dictionaries"][0]
    assert_invalid(manager.patch("/api/dictionaries/valid_table", json=body), path)
    assert ok(manager.get("/api/dictionaries/valid_table")) == before


@pytest.mark.parametrize("query, path", [
    ({"visibility": "secret"}, "visibility"),
    ({"page": 0}, "page"),
    ({"colour": "red"}, "colour"),
])
def test_bad_list_query_is_422(refused_manager, query, path):
    error = assert_error(refused_manager.get("/api/datasets", query_string=query), 422,
                         "validation_error")
    assert path in error["details"]["query"]


def test_bad_dictionaries_query_is_422(manager):
    error = assert_error(manager.get("/api/dictionaries", query_string={"dataset": "a/b"}), 422,
                         "validation_error")
    assert "dataset" in error["details"]["query"]


# Bodies


def post_raw(client, data, content_type: str = "application/json"):
    return client.post("/api/datasets", data=data, content_type=content_type)


def test_malformed_missing_and_non_json_bodies(manager):
    assert_error(post_raw(manager, '{"code": "x",'), 400)
    assert_error(post_raw(manager, ""), 422)
    assert_error(post_raw(manager, "code=x", "application/x-www-form-urlencoded"), 415)
    assert_invalid(post_raw(manager, "[]"), "_schema")


def test_a_10_mb_body_is_413(manager):
    body = json.dumps(payload({"catalogue.description": "x" * (10 * 1024 * 1024)}))
    assert_error(post_raw(manager, body), 413)
    assert ok(manager.get("/api/datasets"))["paging"]["total"] == 0


def test_deeply_nested_json_is_400(manager):
    deep = '{"code": "deep", "catalogue": {"title": "t", "description": "d", "x": ' + \
        "[" * 100_000 + "]" * 100_000 + "}}"
    assert_error(post_raw(manager, deep), 400, "bad_request", "nested")
    create(manager, code="deep")
    assert_error(manager.patch("/api/datasets/deep", data="[" * 100_000 + "]" * 100_000,
                               content_type="application/json"), 400, "bad_request")


def test_unicode_is_accepted_and_returned_intact(manager):
    texts = {"title": "Étude 喘息 — עברית 🧪 e\u0301", "description": "**Ünïcödé** ✓ ﷽",
             "creator": "Zoë Ångström", "keyword": ["données", "データ"], "Schlüssel": "Wert ✓"}
    body = payload({"code": DELETE, "catalogue": {**catalogue(), **texts},
                    "dictionaries.0.name": "Données 📊",
                    "dictionaries.0.fields.0.label": "Géschlecht ♀♂",
                    "dictionaries.0.lookups.SEX": [{"name": "女", "description": "Femme ♀"}]})
    created = create(manager, **body)
    got = get(manager, created["code"])
    assert {key: got["catalogue"][key] for key in texts} == texts
    assert got["name"] == texts["title"]
    table = got["dictionaries"][0]
    assert (table["name"], table["fields"][0]["label"]) == ("Données 📊", "Géschlecht ♀♂")
    assert table["lookups"]["SEX"]["options"] == [{"name": "女", "description": "Femme ♀"}]
    response = manager.get(f"/api/datasets/{created['code']}")
    assert json.loads(response.get_data(as_text=True))["catalogue"]["title"] == texts["title"]


@pytest.mark.parametrize("bad", ["\\ud800", "a\\udfffb", "\\u0000", "nul\\u0000inside"])
@pytest.mark.parametrize("where", ["value", "key", "patch"])
def test_lone_surrogates_and_nul_are_400(manager, bad, where):
    if where == "patch":
        create(manager, code="target")
        response = manager.patch("/api/datasets/target", data=f'{{"name": "{bad}"}}',
                                 content_type="application/json")
    else:
        extra = f'"{bad}": "x"' if where == "key" else f'"creator": "{bad}"'
        response = post_raw(manager, '{"code": "bad", "catalogue": {"title": "t", '
                                     f'"description": "d", {extra}}}}}')
    assert_error(response, 400, "bad_request")
    assert ok(manager.get("/api/datasets"))["paging"]["total"] == (1 if where == "patch" else 0)


def test_errors_of_list_items_and_of_the_whole_list_are_answered_together(manager):
    """marshmallow keys a list's item errors by index beside the list's own ``_schema``:
    JSON keys are text, and the two kinds once failed to sort (a 500)."""
    body = payload({"dictionaries": [{"code": "a"}, {"code": "a"}, {"lookups": {"": None}}]})
    details = assert_invalid(manager.post("/api/datasets", json=body),
                             "dictionaries.2.lookups")["details"]["json"]["dictionaries"]
    assert set(details) == {"2", "_schema"}
    assert details["_schema"] == ["Dictionary codes must be distinct."]


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e999"])
def test_numbers_beyond_json_are_400_and_nothing_is_stored(manager, value):
    """Python reads them; PostgreSQL refuses them as JSON, SQLite would answer them back."""
    create(manager, code="target")
    body = '{"code": "bad", "catalogue": {"title": "t", "description": "d", "x": %s}}'
    assert_error(post_raw(manager, body % value), 400, "bad_request")
    assert_error(manager.patch("/api/datasets/target", data='{"catalogue": {"x": %s}}' % value,
                               content_type="application/json"), 400, "bad_request")
    assert [item["catalogue"] for item in ok(manager.get("/api/datasets"))["items"]] == \
        [get(manager, "target")["catalogue"]]
    assert "x" not in get(manager, "target")["catalogue"]


@pytest.mark.parametrize("payload, where", [
    ({"catalogue": {"title": "   ", "description": "x"}}, ["catalogue", "title"]),
    ({"name": " \t", "catalogue": {"title": "T", "description": "x"}}, ["name"]),
    ({"catalogue": {"title": "T", "description": "x"}, "dictionaries": [
        {"code": "t", "fields": [{"name": "n", "type": "integer", "constraints": "L"}],
         "lookups": {"L": ["one", "2"]}}]}, ["dictionaries", "0", "lookups", "L"]),
    ({"catalogue": {"title": "T", "description": "x"}, "dictionaries": [
        {"code": "t", "fields": [], "lookups": {"D": {"type": "date", "options": [
            {"name": "2026-13-01"}]}}}]}, ["dictionaries", "0", "lookups", "D"]),
])
def test_blank_text_and_options_outside_their_type_are_422(app, payload, where):
    response = signed_in(app, "data-manager").post("/api/datasets", json=payload)
    assert response.status_code == 422, response.json
    details = response.json["error"]["details"]["json"]
    for key in where:
        details = details[key if key in details else int(key)]
    assert details


def test_options_of_their_type_are_accepted(app):
    payload = {"code": "typed", "catalogue": {"title": "T", "description": "x"}, "dictionaries": [
        {"code": "typed_t", "fields": [
            {"name": "n", "type": "integer", "constraints": "N"},
            {"name": "d", "type": "decimal", "constraints": "D"}],
         "lookups": {"N": [{"name": 1}, {"name": "2"}], "D": [{"name": 1.5}, {"name": "2"}]}}]}
    response = signed_in(app, "data-manager").post("/api/datasets", json=payload)
    assert response.status_code == 201, response.json


def test_a_patch_cannot_change_the_code_through_catalogue_id(app):
    manager = signed_in(app, "data-manager")
    manager.post("/api/datasets", json={"code": "keep", "catalogue": {"title": "T",
                                                                        "description": "x"}})
    same = manager.patch("/api/datasets/keep", json={"catalogue": {"id": "keep"}})
    assert same.status_code == 200, same.json
    other = manager.patch("/api/datasets/keep", json={"catalogue": {"id": "other"}})
    assert other.status_code == 422
    assert other.json["error"]["details"]["json"]["catalogue"]["id"]


def test_the_openapi_document_describes_both_lookup_forms(client, example):
    """A client generated from the document sends what the API takes, in either lookup form,
    and reads options as ``{name, description}``."""
    from openapi_schema_validator import OAS30Validator

    document = client.get("/api/openapi.json").get_json()

    def validator(name: str) -> OAS30Validator:
        return OAS30Validator({**document["components"]["schemas"][name],
                               "components": document["components"]})

    create = example("dataset-create")
    lookups = [d["lookups"] for d in create["dictionaries"] if d.get("lookups")]
    forms = {type(value).__name__ for lookup in lookups for value in lookup.values()}
    assert forms == {"list", "dict"}  # the example holds both forms
    validator("DatasetCreate").validate(create)
    for bad in ({"SEX": [{"description": "no name"}]}, {"SEX": {"type": "colour", "options": []}},
                {"SEX": [{"name": True}]}, {"SEX": "F,M"}):
        assert not validator("DictionaryPatch").is_valid({"lookups": bad}), bad
    option = document["components"]["schemas"]["LookupOptionOut"]
    assert set(option["required"]) == {"name", "description"}
    assert "string" in str(option["properties"]["name"]) and "number" in str(
        option["properties"]["name"])
