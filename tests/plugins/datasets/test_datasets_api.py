"""Spec section 5 through HTTP: create, list, read, differential PATCH and delete of datasets
and dictionaries, with ETags, trailing slashes and audit events."""
from __future__ import annotations

import re

import pytest
from fairhub.testing import assert_error, signed_in

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATASET_CODE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
DICTIONARY_CODE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
CATALOGUE_KEYS = {"title", "description", "identifier", "keyword", "creator", "contactPoint",
                  "publisher", "license", "rights", "versionInfo", "language", "accessRights",
                  "issued", "relation"}
EXAMPLE = "synthetic_asthma_cohort"


# Helpers, shared with the other datasets test modules.


def ok(response, status: int = 200):
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def catalogue(title: str = "Asthma study", **keys) -> dict:
    return {"title": title, "description": "Made up for testing.", **keys}


def field(name: str, type_: str = "text", constraints: str | None = None, **keys) -> dict:
    return {"name": name, "type": type_, "constraints": constraints, **keys}


def dictionary(code: str | None = "participants", fields=None, lookups=None, **keys) -> dict:
    body = {"name": (code or "Participants").replace("_", " ").title(),
            "fields": [field("participant_id", "integer")] if fields is None else fields,
            "lookups": lookups or {}, **keys}
    return {"code": code, **body} if code else body


def create(client, status: int = 201, **body):
    """POST a dataset (a minimal catalogue unless given); its JSON, checked for ``status``."""
    body.setdefault("catalogue", catalogue())
    return ok(client.post("/api/datasets", json=body), status)


def patch(client, code: str, status: int = 200, headers=None, **body):
    return ok(client.patch(f"/api/datasets/{code}", json=body, headers=headers), status)


def get(client, code: str, status: int = 200):
    return ok(client.get(f"/api/datasets/{code}"), status)


def codes(client, url: str = "/api/datasets", **query) -> list[str]:
    return [item["code"] for item in ok(client.get(url, query_string=query))["items"]]


def by_code(items: list[dict]) -> dict[str, dict]:
    return {item["code"]: item for item in items}


@pytest.fixture
def manager(app):
    """A data manager's test client."""
    return signed_in(app, "data-manager")


@pytest.fixture
def asthma(manager, example):
    """The worked example dataset, created by ``manager``."""
    return create(manager, **example("dataset-create"))


# Create


def test_create_worked_example_with_code_in_catalogue_id(manager, asthma, example):
    sent = example("dataset-create")
    assert asthma["code"] == EXAMPLE
    assert asthma["name"] == sent["catalogue"]["title"]  # name defaults to the title
    assert asthma["visibility"] == "private" and asthma["workflow_key"] is None
    assert "id" not in asthma["catalogue"]
    for key, value in sent["catalogue"].items():
        if key != "id":
            assert asthma["catalogue"][key] == value
    assert [d["code"] for d in asthma["dictionaries"]] == ["asthma_participants", "asthma_visits"]
    assert {d["dataset_id"] for d in asthma["dictionaries"]} == {asthma["id"]}
    assert [f["name"] for f in asthma["dictionaries"][0]["fields"]] == [
        f["name"] for f in sent["dictionaries"][0]["fields"]]
    assert get(manager, EXAMPLE) == asthma


def test_create_with_code_at_top_level_and_explicit_fields(manager):
    body = dict(code="top_level", name="My name", visibility="internal",
                workflow_key="basic_access_request", dictionaries=[dictionary("tl_table")])
    created = create(manager, **body)
    for key, value in body.items():
        if key != "dictionaries":
            assert created[key] == value
    assert created["dictionaries"][0]["code"] == "tl_table"


def test_create_with_the_same_code_in_both_places_is_accepted(manager):
    assert create(manager, code="both", catalogue=catalogue(id="both"))["code"] == "both"


@pytest.mark.parametrize("title, expected", [
    ("Asthma Study", "asthma_study"),
    ("  Étude: Café Ünïcode!  ", "etude_cafe_unicode"),
    ("2024 cohort", "2024_cohort"),
])
def test_code_is_generated_from_the_title(manager, title, expected):
    created = create(manager, catalogue=catalogue(title))
    assert created["code"] == expected
    assert created["catalogue"]["title"] == title and created["name"] == title


def test_generated_codes_avoid_collisions(manager):
    create(manager, code="asthma_study_2")
    made = [create(manager, catalogue=catalogue("Asthma study"))["code"] for _ in range(3)]
    assert made == ["asthma_study", "asthma_study_3", "asthma_study_4"]


def test_generated_codes_for_titles_without_ascii_letters_and_long_titles(manager):
    made = [create(manager, catalogue=catalogue(title))["code"]
            for title in ("喘息の研究", "喘息の研究", "δοκιμή", "x" * 500)]
    assert all(DATASET_CODE.match(code) for code in made), made
    assert len(set(made)) == len(made)
    assert get(manager, made[0])["catalogue"]["title"] == "喘息の研究"


def test_dictionary_codes_are_generated_from_names(manager):
    created = create(manager, dictionaries=[
        {"name": "2024 Visits"}, {"name": "2024 Visits"}, {"name": "Médicaments"}])
    made = [d["code"] for d in created["dictionaries"]]
    assert all(DICTIONARY_CODE.match(code) for code in made), made
    assert len(set(made)) == 3 and made[2] == "medicaments"
    assert [d["name"] for d in created["dictionaries"]] == ["2024 Visits"] * 2 + ["Médicaments"]


def test_a_dictionary_without_name_takes_its_code_as_name(manager):
    created = create(manager, dictionaries=[{"code": "bare"}])
    assert created["dictionaries"][0]["name"] == "bare"
    (table,) = created["dictionaries"]
    assert table["fields"] == [] and table["lookups"] == {}


def test_duplicate_dataset_code_is_409(manager, asthma, example):
    assert_error(manager.post("/api/datasets", json=example("dataset-create")), 409, "conflict",
                 EXAMPLE)
    assert_error(manager.post("/api/datasets", json={"code": EXAMPLE, "catalogue": catalogue()}),
                 409, "conflict")
    assert codes(manager) == [EXAMPLE]


def test_dictionary_code_used_by_another_dataset_is_409(manager, asthma):
    response = manager.post("/api/datasets", json={
        "code": "other", "catalogue": catalogue(), "dictionaries": [dictionary("asthma_visits")]})
    assert_error(response, 409, "conflict", "asthma_visits")
    get(manager, "other", 404)  # nothing half-created
    create(manager, code="other2")
    assert_error(manager.patch("/api/datasets/other2", json={
        "dictionaries": [dictionary("asthma_participants")]}), 409, "conflict")
    assert get(manager, "other2")["dictionaries"] == []


# Read


def test_get_answers_every_documented_key_with_nulls(manager, example):
    create(manager, code="bare", dictionaries=[{"code": "bare_table", "fields": [
        field("x")]}])
    got = get(manager, "bare")
    shape = example("dataset-get")
    assert set(got) == set(shape)
    assert set(got["catalogue"]) == set(shape["catalogue"]) == CATALOGUE_KEYS
    assert {k for k, v in got["catalogue"].items() if v is not None} == {"title", "description"}
    assert got["workflow_key"] is None and got["visibility"] == "private"
    (table,) = got["dictionaries"]
    assert set(table) == set(shape["dictionaries"][0])
    assert table["description"] is None
    (column,) = table["fields"]
    assert set(column) == set(shape["dictionaries"][0]["fields"][0])
    assert column == {"name": "x", "type": "text", "label": None, "description": None,
                      "constraints": None, "uri": None, "pseudonymisation_rule": None}
    assert set(got["approvers"][0]) == {"uuid", "email", "name"}
    for stamp in (got["created_at"], got["updated_at"], table["created_at"], table["updated_at"]):
        assert TIME.match(stamp), stamp


def test_unknown_catalogue_keys_are_kept_and_returned(manager):
    extra = {"theme": "health", "x_custom": {"nested": [1, "two", None]}}
    create(manager, code="extra", catalogue=catalogue(**extra))
    assert {k: get(manager, "extra")["catalogue"][k] for k in extra} == extra
    patch(manager, "extra", catalogue={"creator": "Someone"})
    got = get(manager, "extra")["catalogue"]
    assert got["theme"] == "health" and got["x_custom"] == extra["x_custom"]
    assert "theme" not in patch(manager, "extra", catalogue={"theme": None})["catalogue"]


def test_list_pages_oldest_first_and_filters_by_visibility(manager):
    for n, visibility in enumerate(["private", "internal", "public", "internal"]):
        create(manager, code=f"d{n}", visibility=visibility)
    assert codes(manager) == ["d0", "d1", "d2", "d3"]
    page = ok(manager.get("/api/datasets", query_string={"page": 2, "page_size": 3}))
    assert [d["code"] for d in page["items"]] == ["d3"]
    assert page["paging"] == {"total": 4, "page": 2, "page_size": 3}
    internal = ok(manager.get("/api/datasets", query_string={"visibility": "internal"}))
    assert [d["code"] for d in internal["items"]] == ["d1", "d3"]
    assert internal["paging"]["total"] == 2


def test_unknown_dataset_is_404(manager):
    assert_error(manager.get("/api/datasets/nope"), 404, "not_found", "nope")
    assert_error(manager.patch("/api/datasets/nope", json={"name": "x"}), 404, "not_found")
    assert_error(manager.delete("/api/datasets/nope"), 404, "not_found")


@pytest.mark.parametrize("url", ["/api/datasets", "/api/datasets/", "/api/dictionaries",
                                 "/api/dictionaries/"])
def test_collections_answer_with_and_without_trailing_slash(manager, url):
    create(manager, code="slash", dictionaries=[dictionary("slash_table")])
    response = manager.get(url)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1


def test_post_to_the_collection_with_a_trailing_slash_creates(manager):
    response = manager.post("/api/datasets/", json={"code": "slashed", "catalogue": catalogue()})
    assert ok(response, 201)["code"] == "slashed"


# Lookups and fields


def test_lookups_in_both_forms_come_out_as_type_and_options(manager):
    options = [{"name": 1, "description": "Baseline"}, {"name": 2, "description": None}]
    created = create(manager, dictionaries=[dictionary("visits", fields=[
        field("visit", "integer", "VISIT"), field("sex", "text", "SEX"), field("other")],
        lookups={"VISIT": options,
                 "SEX": {"type": "text", "options": [{"name": "F", "description": "Female"}]},
                 "UNUSED": [{"name": "u"}]})])
    lookups = created["dictionaries"][0]["lookups"]
    assert lookups == {
        "VISIT": {"type": "integer", "options": options},  # list form takes its field's type
        "SEX": {"type": "text", "options": [{"name": "F", "description": "Female"}]},
        "UNUSED": {"type": "text", "options": [{"name": "u", "description": None}]},
    }
    assert created["dictionaries"][0]["fields"][0]["constraints"] == "VISIT"
    assert ok(manager.get("/api/dictionaries/visits"))["lookups"] == lookups


# PATCH


def test_patch_worked_example(manager, asthma, example):
    before = by_code(asthma["dictionaries"])
    updated = patch(manager, EXAMPLE, **example("dataset-patch"))
    assert updated["visibility"] == "internal"
    assert updated["catalogue"]["description"] == "Updated description"
    assert updated["catalogue"]["keyword"] == ["asthma", "updated"]
    assert updated["catalogue"]["title"] == asthma["catalogue"]["title"]
    assert updated["catalogue"]["publisher"] == asthma["catalogue"]["publisher"]
    tables = by_code(updated["dictionaries"])
    assert list(tables) == ["asthma_participants", "asthma_medications"]
    renamed = tables["asthma_participants"]
    assert (renamed["name"], renamed["description"]) == ("Participants", "Renamed only")
    for key in ("id", "fields", "lookups", "created_at"):
        assert renamed[key] == before["asthma_participants"][key]
    assert tables["asthma_medications"]["fields"][0]["name"] == "drug"
    assert tables["asthma_medications"]["id"] > before["asthma_visits"]["id"]
    assert get(manager, EXAMPLE) == updated
    assert_error(manager.get("/api/dictionaries/asthma_visits"), 404, "not_found")


def test_patch_replaces_fields_and_lookups_of_a_dictionary(manager, asthma):
    visits = by_code(asthma["dictionaries"])["asthma_visits"]
    updated = patch(manager, EXAMPLE, dictionaries=[{
        "id": visits["id"], "code": "asthma_visits",
        "fields": [field("arm", "integer", "ARM")], "lookups": {"ARM": [{"name": 1}]}}])
    table = by_code(updated["dictionaries"])["asthma_visits"]
    assert [f["name"] for f in table["fields"]] == ["arm"]
    assert table["lookups"] == {"ARM": {"type": "integer",
                                        "options": [{"name": 1, "description": None}]}}
    assert (table["name"], table["description"]) == (visits["name"], visits["description"])
    assert by_code(updated["dictionaries"])["asthma_participants"] == \
        by_code(asthma["dictionaries"])["asthma_participants"]


def test_patch_a_dictionary_named_by_code_only(manager, asthma):
    updated = patch(manager, EXAMPLE, dictionaries=[{"code": "asthma_visits", "name": "Visits"}])
    assert by_code(updated["dictionaries"])["asthma_visits"]["name"] == "Visits"
    assert len(updated["dictionaries"]) == 2


def test_patch_lookups_alone_are_checked_against_the_kept_fields(manager, asthma):
    participants = by_code(asthma["dictionaries"])["asthma_participants"]
    change = {"id": participants["id"], "code": "asthma_participants"}
    response = manager.patch(f"/api/datasets/{EXAMPLE}",
                             json={"dictionaries": [{**change, "lookups": {}}]})
    assert_error(response, 422, "validation_error", "do not fit")
    updated = patch(manager, EXAMPLE,
                    dictionaries=[{**change, "lookups": {"SEX": [{"name": "X"}]}}])
    assert by_code(updated["dictionaries"])["asthma_participants"]["lookups"] == {
        "SEX": {"type": "text", "options": [{"name": "X", "description": None}]}}


def test_patch_name_visibility_workflow_and_partial_catalogue(manager, asthma):
    updated = patch(manager, EXAMPLE, name="Renamed", visibility="public",
                    workflow_key="basic_access_request",
                    catalogue={"creator": None, "license": "CC-BY-4.0", "keyword": []})
    assert (updated["name"], updated["visibility"], updated["workflow_key"]) == (
        "Renamed", "public", "basic_access_request")
    assert updated["catalogue"]["creator"] is None
    assert updated["catalogue"]["license"] == "CC-BY-4.0"
    assert updated["catalogue"]["keyword"] == []
    assert updated["catalogue"]["title"] == asthma["catalogue"]["title"]
    assert updated["catalogue"]["contactPoint"] == "data@example.org"
    assert updated["dictionaries"] == asthma["dictionaries"]
    assert patch(manager, EXAMPLE, workflow_key=None)["workflow_key"] is None
    assert get(manager, EXAMPLE)["catalogue"]["creator"] is None


def test_patch_with_nothing_new_changes_nothing(manager, asthma):
    etag = manager.get(f"/api/datasets/{EXAMPLE}").headers["ETag"]
    same = patch(manager, EXAMPLE, name=asthma["name"], catalogue={"versionInfo": "1"},
                 dictionaries=[{"code": "asthma_visits", "name": "Asthma visits"}])
    assert same == asthma
    assert manager.get(f"/api/datasets/{EXAMPLE}").headers["ETag"] == etag


def test_patch_a_publisher_needs_its_name(manager, asthma):
    response = manager.patch(f"/api/datasets/{EXAMPLE}",
                             json={"catalogue": {"publisher": {"url": "https://x.org"}}})
    assert "publisher" in assert_error(response, 422, "validation_error")["details"]["json"][
        "catalogue"]
    assert get(manager, EXAMPLE)["catalogue"]["publisher"]["name"] == "Example University"


def test_patch_adds_a_dictionary_with_a_generated_code(manager, asthma):
    updated = patch(manager, EXAMPLE, dictionaries=[{"name": "Lab results",
                                                     "fields": [field("hb", "decimal")]}])
    added = updated["dictionaries"][-1]
    assert added["code"] == "lab_results" and added["fields"][0]["type"] == "decimal"
    assert ok(manager.get("/api/dictionaries/lab_results"))["dataset_id"] == asthma["id"]


def change_error(response, index: int = 0) -> dict:
    error = assert_error(response, 422, "validation_error")
    assert str(index) in error["details"]["json"]["dictionaries"]
    return error


def test_patch_naming_another_datasets_dictionary_is_422(manager, asthma):
    other = create(manager, code="other", dictionaries=[dictionary("other_table")])
    theirs = other["dictionaries"][0]
    for change in ({"id": theirs["id"], "code": "other_table", "name": "Stolen"},
                   {"id": theirs["id"], "code": "other_table", "toBeDeleted": True}):
        change_error(manager.patch(f"/api/datasets/{EXAMPLE}", json={"dictionaries": [change]}))
    assert get(manager, "other")["dictionaries"] == other["dictionaries"]


def test_patch_with_id_and_code_not_matching_is_422(manager, asthma):
    first, second = asthma["dictionaries"]
    for change in ({"id": first["id"], "code": second["code"], "name": "x"},
                   {"id": first["id"], "code": "renamed", "toBeDeleted": True}):
        error = change_error(manager.patch(f"/api/datasets/{EXAMPLE}",
                                           json={"dictionaries": [change]}))
        assert "codes do not change" in error["message"]
    assert get(manager, EXAMPLE)["dictionaries"] == asthma["dictionaries"]


def test_delete_of_an_unknown_dictionary_is_422_and_changes_nothing(manager, asthma):
    response = manager.patch(f"/api/datasets/{EXAMPLE}", json={
        "name": "Not applied",
        "dictionaries": [{"code": "asthma_visits", "toBeDeleted": True},
                         {"code": "nope", "toBeDeleted": True}]})
    change_error(response, 1)
    got = get(manager, EXAMPLE)
    assert got["name"] == asthma["name"] and len(got["dictionaries"]) == 2


def test_a_dictionary_deleted_earlier_in_the_same_patch_cannot_be_changed(manager, asthma):
    visits = by_code(asthma["dictionaries"])["asthma_visits"]
    gone = {"id": visits["id"], "code": "asthma_visits", "toBeDeleted": True}
    for later in (gone, {"id": visits["id"], "code": "asthma_visits", "name": "Back"}):
        change_error(manager.patch(f"/api/datasets/{EXAMPLE}",
                                   json={"dictionaries": [gone, later]}), 1)
    assert len(get(manager, EXAMPLE)["dictionaries"]) == 2


# Delete and ids


def test_delete_answers_204_then_404_and_its_dictionaries_are_gone(manager, asthma):
    response = manager.delete(f"/api/datasets/{EXAMPLE}")
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(manager.get(f"/api/datasets/{EXAMPLE}"), 404, "not_found")
    assert_error(manager.delete(f"/api/datasets/{EXAMPLE}"), 404, "not_found")
    for table in asthma["dictionaries"]:
        assert_error(manager.get(f"/api/dictionaries/{table['code']}"), 404, "not_found")
    assert codes(manager, "/api/dictionaries") == [] and codes(manager) == []


def test_ids_are_never_reused_after_delete(manager, example):
    first = create(manager, **example("dataset-create"))
    assert manager.delete(f"/api/datasets/{EXAMPLE}").status_code == 204
    again = create(manager, **example("dataset-create"))
    assert again["id"] > first["id"]
    assert min(d["id"] for d in again["dictionaries"]) > max(d["id"] for d in first["dictionaries"])
    table = again["dictionaries"][1]
    patch(manager, EXAMPLE, dictionaries=[{"id": table["id"], "code": table["code"],
                                           "toBeDeleted": True}])
    readded = patch(manager, EXAMPLE, dictionaries=[dictionary(table["code"])])
    assert by_code(readded["dictionaries"])[table["code"]]["id"] > table["id"]


# ETags


def etag_of(client, code: str = EXAMPLE) -> str:
    response = client.get(f"/api/datasets/{code}")
    assert response.status_code == 200 and response.headers["ETag"].startswith('"')
    return response.headers["ETag"]


def test_etag_and_if_none_match(manager, asthma):
    etag = etag_of(manager)
    response = manager.get(f"/api/datasets/{EXAMPLE}", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == etag
    weak = manager.get(f"/api/datasets/{EXAMPLE}", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110 13.1.2)
    patch(manager, EXAMPLE, name="Changed")
    response = manager.get(f"/api/datasets/{EXAMPLE}", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag


@pytest.mark.parametrize("change", [
    {"name": "New"},
    {"catalogue": {"creator": "New"}},
    {"dictionaries": [{"code": "asthma_visits", "description": "New"}]},
])
def test_every_kind_of_change_gives_a_new_etag(manager, asthma, change):
    etag = etag_of(manager)
    response = manager.patch(f"/api/datasets/{EXAMPLE}", json=change)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert response.headers["ETag"] == etag_of(manager)


def test_dictionary_patch_gives_the_dataset_a_new_etag(manager, asthma):
    etag = etag_of(manager)
    ok(manager.patch("/api/dictionaries/asthma_visits", json={"name": "Visits"}))
    assert etag_of(manager) != etag


def test_patch_and_delete_with_if_match(manager, asthma):
    stale = etag_of(manager)
    fresh = manager.patch(f"/api/datasets/{EXAMPLE}", json={"name": "One"},
                          headers={"If-Match": stale})
    assert fresh.status_code == 200
    current = fresh.headers["ETag"]
    error = assert_error(manager.patch(f"/api/datasets/{EXAMPLE}", json={"name": "Two"},
                                       headers={"If-Match": stale}), 412, "precondition_failed")
    assert error["details"]["etag"] == current.strip('"')
    assert get(manager, EXAMPLE)["name"] == "One"
    assert_error(manager.delete(f"/api/datasets/{EXAMPLE}", headers={"If-Match": stale}), 412,
                 "precondition_failed")
    current = patch(manager, EXAMPLE, name="Three")  # no If-Match: still allowed
    assert current["name"] == "Three"
    assert manager.patch(f"/api/datasets/{EXAMPLE}", json={"name": "Four"},
                         headers={"If-Match": "*"}).status_code == 200
    response = manager.delete(f"/api/datasets/{EXAMPLE}", headers={"If-Match": etag_of(manager)})
    assert response.status_code == 204


def test_delete_without_if_match(manager, asthma):
    assert manager.delete(f"/api/datasets/{EXAMPLE}").status_code == 204


# /api/dictionaries


def test_dictionaries_list_and_filter_by_dataset(manager, asthma):
    create(manager, code="second", dictionaries=[dictionary("second_a"), dictionary("second_b")])
    listing = ok(manager.get("/api/dictionaries"))
    assert [d["code"] for d in listing["items"]] == [
        "asthma_participants", "asthma_visits", "second_a", "second_b"]
    assert listing["paging"]["total"] == 4
    filtered = ok(manager.get("/api/dictionaries", query_string={"dataset": "second"}))
    assert [d["code"] for d in filtered["items"]] == ["second_a", "second_b"]
    assert filtered["paging"]["total"] == 2
    assert codes(manager, "/api/dictionaries", dataset="nope") == []
    page = ok(manager.get("/api/dictionaries", query_string={"page": 2, "page_size": 3}))
    assert [d["code"] for d in page["items"]] == ["second_b"]


def test_get_a_dictionary(manager, asthma):
    got = ok(manager.get("/api/dictionaries/asthma_participants"))
    assert got == asthma["dictionaries"][0]
    assert_error(manager.get("/api/dictionaries/nope"), 404, "not_found", "nope")


def test_patch_a_dictionary(manager, asthma):
    renamed = ok(manager.patch("/api/dictionaries/asthma_visits",
                               json={"name": "Visits", "description": None}))
    assert (renamed["name"], renamed["description"]) == ("Visits", None)
    assert renamed["fields"] == asthma["dictionaries"][1]["fields"]
    replaced = ok(manager.patch("/api/dictionaries/asthma_visits", json={
        "fields": [field("arm", "text", "ARM")], "lookups": {"ARM": [{"name": "a"}]}}))
    assert [f["name"] for f in replaced["fields"]] == ["arm"]
    assert replaced["lookups"] == {"ARM": {"type": "text",
                                           "options": [{"name": "a", "description": None}]}}
    assert by_code(get(manager, EXAMPLE)["dictionaries"])["asthma_visits"] == replaced
    assert_error(manager.patch("/api/dictionaries/asthma_visits", json={"code": "renamed"}),
                 422, "validation_error")
    assert_error(manager.patch("/api/dictionaries/nope", json={"name": "x"}), 404, "not_found")


def test_a_dictionary_patch_may_carry_its_own_read_only_keys(manager, asthma):
    url = "/api/dictionaries/asthma_visits"
    read = ok(manager.get(url))
    changed = ok(manager.patch(url, json={**read, "name": "Visits", "created_at": "x"}))
    assert changed["name"] == "Visits" and changed["created_at"] == read["created_at"]
    for key, value in (("code", "asthma_participants"), ("id", read["id"] + 1),
                       ("dataset_id", read["dataset_id"] + 1)):
        error = assert_error(manager.patch(url, json={**read, key: value, "name": "No"}),
                             422, "validation_error", repr(value))
        assert list(error["details"]["json"]) == [key]
        assert "asthma_visits" in error["message"]
    assert ok(manager.get(url))["name"] == "Visits"


def test_patch_a_dictionary_with_constraints_naming_a_missing_lookup_is_422(manager, asthma):
    response = manager.patch("/api/dictionaries/asthma_visits",
                             json={"fields": [field("arm", "text", "ARM")]})
    error = assert_error(response, 422, "validation_error")
    assert "fields" in error["details"]["json"]


# Audit


def audit(client, **query) -> list[dict]:
    return ok(client.get("/api/audit", query_string={"page_size": 200, **query}))["items"]


def test_changes_are_audited(app, manager, asthma):
    patch(manager, EXAMPLE, name="Renamed", dictionaries=[
        {"code": "asthma_visits", "toBeDeleted": True}])
    assert manager.delete(f"/api/datasets/{EXAMPLE}").status_code == 204
    steward = signed_in(app, "data-steward")
    events = audit(steward, type="dataset", target_code=EXAMPLE)
    assert sorted(e["action"] for e in events) == ["create", "delete", "update"]
    assert all(e["target"]["code"] == EXAMPLE for e in events)
    update = next(e for e in events if e["action"] == "update")
    assert "name" in update["details"]["changed"]
    (deleted,) = audit(steward, type="dictionary", action="delete")
    assert deleted["target"] == {"type": "dictionary", "code": "asthma_visits"}
    assert_error(manager.get("/api/audit"), 403, "forbidden")
