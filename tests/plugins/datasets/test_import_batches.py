"""An import writing batch after batch: each record gets its outcome in the file's order."""
from __future__ import annotations

import json

import pytest
from fairhub_datasets import importer

from fairhub.testing import signed_in

ONE_AT_A_TIME = {"DATASETS_IMPORT_BATCH": 1}


def dataset(code: str | None, title: str | None = None, **extra) -> dict:
    record = {"catalogue": {"title": title or f"Title of {code}", "description": "About."},
              **extra}
    if code is not None:
        record["code"] = code
    return record


def run_import(app, tmp_path, records: list, update: bool = False) -> list[tuple[str, str]]:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records))
    with app.app_context(), importer.checker(0) as check:
        return list(importer.import_checked(check(importer.read_records(path)), update, None))


def test_outcomes_come_in_the_files_order_and_everything_is_counted(make_app, tmp_path):
    app = make_app(ONE_AT_A_TIME, plugins=["datasets", "search"])
    codes = [f"set_{n:02d}" for n in range(24)]
    records = [dataset(code, visibility=("public", "internal", "private")[n % 3])
               for n, code in enumerate(codes)]
    records[5], records[17] = "{not json", dataset("bad code!")
    outcomes = run_import(app, tmp_path, records)
    assert [where.rsplit(":", 1)[1] for where, _ in outcomes] == [
        str(n) for n in range(1, 25)]
    assert [outcome for _, outcome in outcomes].count("created") == 22
    assert outcomes[5][1].startswith("Not valid JSON")
    assert outcomes[17][1] == "code: Use only letters, digits and underscores."
    steward = signed_in(app, "data-steward")
    listed = steward.get("/api/datasets?page_size=50").json
    assert listed["paging"]["total"] == 22
    assert sorted(item["code"] for item in listed["items"]) == sorted(
        code for n, code in enumerate(codes) if n not in (5, 17))
    found = steward.get("/api/search/search", query_string={
        "index": "fair-index", "query": "title", "page_size": 50})
    assert len(found.json["items"]) == 22, found.json


def test_a_code_named_twice_is_created_by_its_first_record(make_app, tmp_path):
    # The gate holds the first batch open for a second: were the second batch written
    # meanwhile, it would wait on the same code and then fail as a code "just taken".
    app = make_app(ONE_AT_A_TIME, plugins=["datasets"])
    records = [dataset("same", name="First"), dataset("same", name="Second"),
               dataset("other", dictionaries=[{"code": "table", "fields": []}]),
               dataset("another", dictionaries=[{"code": "table", "fields": []}])]
    outcomes = [outcome for _, outcome in run_import(app, tmp_path, records)]
    assert outcomes == ["created", "Dataset 'same' exists; use --update to patch it.",
                        "created", "Dictionary 'table' already exists."]
    assert signed_in(app, "data-steward").get("/api/datasets/same").json["name"] == "First"


def test_a_record_that_fails_in_a_batch_leaves_its_free_codes_to_later_records(make_app,
                                                                              tmp_path):
    app = make_app(plugins=["datasets"])  # one batch
    tables = lambda *codes: [{"code": code, "fields": []} for code in codes]  # noqa: E731
    records = [dataset("one", dictionaries=tables("y")),
               dataset("two", dictionaries=tables("x", "y")),
               dataset("three", dictionaries=tables("x"))]
    outcomes = [outcome for _, outcome in run_import(app, tmp_path, records)]
    assert outcomes == ["created", "Dictionary 'y' already exists.", "created"]
    steward = signed_in(app, "data-steward")
    assert steward.get("/api/dictionaries/x").json["dataset_id"] == steward.get(
        "/api/datasets/three").json["id"]


def test_with_update_the_last_record_of_a_code_wins(make_app, tmp_path):
    app = make_app(ONE_AT_A_TIME, plugins=["datasets"])
    records = [dataset("same", name=f"Version {n}") for n in range(1, 5)]
    outcomes = [outcome for _, outcome in run_import(app, tmp_path, records, update=True)]
    assert outcomes == ["created", "updated", "updated", "updated"]
    assert signed_in(app, "data-steward").get("/api/datasets/same").json["name"] == "Version 4"


def test_generated_codes_follow_the_files_order(make_app, tmp_path):
    app = make_app(ONE_AT_A_TIME, plugins=["datasets"])
    records = [dataset(None, title="Twin", name=f"Number {n}") for n in range(1, 4)]
    assert [o for _, o in run_import(app, tmp_path, records)] == ["created"] * 3
    steward = signed_in(app, "data-steward")
    assert [steward.get(f"/api/datasets/{code}").json["name"]
            for code in ("twin", "twin_2", "twin_3")] == ["Number 1", "Number 2", "Number 3"]


@pytest.mark.parametrize("value", [0, -1, "two", 1.5])
def test_the_batch_must_be_a_whole_number(fairhub_cli, tmp_path, monkeypatch, value):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(dataset("one")))
    monkeypatch.setenv("FAIRHUB_DATASETS_IMPORT_BATCH", json.dumps(value))
    result = fairhub_cli("datasets", "import", str(path))
    assert result.exit_code == 1
    assert f"DATASETS_IMPORT_BATCH must be a whole number of at least 1, not {value!r}." \
        in result.output
