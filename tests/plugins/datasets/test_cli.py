"""``fairhub datasets import|export``: files in, JSON out, and back again unchanged."""
from __future__ import annotations

import json

import pytest

from fairhub.testing import signed_in


@pytest.fixture
def api(make_app, fairhub_cli):
    """An app on the CLI's (already migrated) database."""
    return make_app(create_tables=False)


def write_json(path, data) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def minimal(code: str, **extra) -> dict:
    return {"code": code, "catalogue": {"title": f"Title of {code}",
                                        "description": "About it."}, **extra}


def test_import_a_file_then_read_it_through_the_api(fairhub_cli, api, example, tmp_path):
    path = write_json(tmp_path / "one.json", example("dataset-create"))
    result = fairhub_cli("datasets", "import", path)
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 failed." in result.stderr
    body = signed_in(api, "data-steward").get("/api/datasets/synthetic_asthma_cohort").json
    assert [d["code"] for d in body["dictionaries"]] == ["asthma_participants", "asthma_visits"]
    assert body["approvers"] == []  # no --owner: nobody owns it yet


@pytest.mark.parametrize("jobs", [[], ["--jobs", "0"], ["--jobs", "2"]],
                         ids=["default", "in-process", "two-workers"])
def test_import_reports_each_bad_record_and_goes_on(fairhub_cli, api, tmp_path, jobs):
    lines = [json.dumps(minimal("first")), "{not json", json.dumps([1]),
             json.dumps(minimal("bad code!")), json.dumps(minimal("second")), "",
             json.dumps(minimal("latin"), ensure_ascii=False).replace("latin", "Latin-\xe9"),
             json.dumps(minimal("line_separator", name="a\u2028b"), ensure_ascii=False),
             json.dumps(minimal("nul", name="a\x00b")),
             json.dumps(minimal("surrogate", name="\ud800")),
             json.dumps(minimal("nan", extra=float("nan"))),
             json.dumps(minimal("escaped", name="caf\xe9"))]
    path = tmp_path / "many.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8").replace(
        "Latin-\xe9".encode("utf-8"), "Latin-\xe9".encode("latin-1")))
    result = fairhub_cli("datasets", "import", str(path), *jobs)
    assert result.exit_code == 1
    assert f"{path}:2: Not valid JSON" in result.stderr
    assert f"{path}:3: A dataset is a JSON object." in result.stderr
    assert f"{path}:4: code: Use only letters, digits and underscores." in result.stderr
    assert f"{path}:7: Not UTF-8" in result.stderr  # that line only: the rest goes in
    # What no database stores, or is not JSON written back, fails its record only.
    assert f"{path}:9: Contains a NUL character." in result.stderr
    assert f"{path}:10: Contains text that cannot be encoded as UTF-8." in result.stderr
    assert f"{path}:11: Not valid JSON: NaN is not a JSON value." in result.stderr
    assert "4 created, 0 updated, 7 failed." in result.stderr
    steward = signed_in(api, "data-steward")
    listed = steward.get("/api/datasets").json
    assert [d["code"] for d in listed["items"]] == ["first", "second", "line_separator",
                                                    "escaped"]
    assert steward.get("/api/datasets/line_separator").json["name"] == "a\u2028b"
    assert steward.get("/api/datasets/escaped").json["name"] == "caf\xe9"


@pytest.mark.parametrize("jobs", ["0", "2"], ids=["in-process", "two-workers"])
def test_records_of_a_long_json_lines_file_keep_their_line_numbers(fairhub_cli, api, tmp_path,
                                                                   jobs):
    """Records go to the workers importer.CHUNK at a time: what is reported of each names
    its own line, blank lines counted, to a last line without a newline."""
    lines = [json.dumps(minimal(f"d{number}")) for number in range(1, 251)]
    lines[100] = ""  # line 101
    lines[149] = "{not json"
    lines[249] = json.dumps(minimal("bad code!"))
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = fairhub_cli("datasets", "import", str(path), "--jobs", jobs)
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert failed == [f"{path}:150: Not valid JSON: Expecting property name enclosed in "
                      "double quotes: line 1 column 2 (char 1).",
                      f"{path}:250: code: Use only letters, digits and underscores."]
    assert "247 created, 0 updated, 2 failed." in result.stderr
    listed = signed_in(api, "data-steward").get("/api/datasets?page_size=1000").json
    assert [d["code"] for d in listed["items"]][98:101] == ["d99", "d100", "d102"]


def test_a_json_file_record_no_database_stores_fails_alone(fairhub_cli, api, tmp_path):
    path = write_json(tmp_path / "list.json", [minimal("first"), minimal("nul", name="\x00"),
                                                minimal("second")])
    result = fairhub_cli("datasets", "import", path)
    assert result.exit_code == 1
    assert f"{path}[1]: Contains a NUL character." in result.stderr
    assert "2 created, 0 updated, 1 failed." in result.stderr


def test_import_a_folder_with_an_owner_and_update(fairhub_cli, api, make_user, tmp_path):
    owner = "owner@example.org"
    make_user("data-manager", email=owner)
    folder = tmp_path / "in"
    folder.mkdir()
    write_json(folder / "a.json", [minimal("a"), minimal("b")])
    write_json(folder / "c.json", minimal("c", visibility="internal"))
    (folder / "notes.txt").write_text("ignored")
    result = fairhub_cli("datasets", "import", str(folder), "--owner", owner)
    assert "3 created" in result.stderr, result.output
    body = signed_in(api, "data-steward").get("/api/datasets/c").json
    assert [a["email"] for a in body["approvers"]] == [owner]

    write_json(folder / "c.json", minimal("c", name="Renamed"))
    again = fairhub_cli("datasets", "import", str(folder / "c.json"))
    assert again.exit_code == 1
    assert "Dataset 'c' exists; use --update to patch it." in again.stderr
    updated = fairhub_cli("datasets", "import", "--update", str(folder / "c.json"))
    assert "0 created, 1 updated, 0 failed." in updated.stderr
    body = signed_in(api, "data-steward").get("/api/datasets/c").json
    assert (body["name"], body["visibility"]) == ("Renamed", "internal")


def test_import_refuses_an_unknown_owner(fairhub_cli, tmp_path):
    result = fairhub_cli("datasets", "import", write_json(tmp_path / "a.json", minimal("a")),
                         "--owner", "nobody@example.org")
    assert result.exit_code == 1
    assert "User 'nobody@example.org' does not exist." in result.output


def test_an_api_answer_imports_as_a_new_dataset(fairhub_cli, api, example, tmp_path):
    answer = example("dataset-get")
    result = fairhub_cli("datasets", "import", write_json(tmp_path / "get.json", answer))
    assert "1 created" in result.stderr, result.output
    body = signed_in(api, "data-steward").get("/api/datasets/synthetic_asthma_cohort").json
    assert body["catalogue"] == answer["catalogue"]


def test_export_then_import_round_trips(fairhub_cli, api, example, tmp_path):
    extra = minimal("second", workflow_key="basic_access_request")
    extra["catalogue"].update({"keyword": ["ünïcode", "日本"], "custom": {"kept": [1, None]}})
    fairhub_cli("datasets", "import",
                write_json(tmp_path / "in.json", [example("dataset-create"), extra]))
    first = tmp_path / "first.json"
    assert fairhub_cli("datasets", "export", "-o", str(first)).exit_code == 0

    steward = signed_in(api, "data-steward")
    for code in ("synthetic_asthma_cohort", "second"):
        assert steward.delete(f"/api/datasets/{code}").status_code == 204
    assert fairhub_cli("datasets", "import", str(first)).exit_code == 0
    second = tmp_path / "second.json"
    fairhub_cli("datasets", "export", "-o", str(second))
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    exported = json.loads(first.read_text(encoding="utf-8"))
    assert [d["code"] for d in exported] == ["synthetic_asthma_cohort", "second"]

    only = fairhub_cli("datasets", "export", "second")
    assert [d["code"] for d in json.loads(only.stdout)] == ["second"]


def test_a_large_import_on_postgresql_ends_with_analyze(fairhub_cli, api, fairhub_backend,
                                                        tmp_path, monkeypatch):
    if fairhub_backend != "postgresql":
        pytest.skip("ANALYZE after an import is PostgreSQL's")
    from sqlalchemy import Column, Integer, Table, text

    from fairhub import db

    def counted_rows(table: str = "datasets") -> float:  # what the planner believes it holds
        with api.app_context():
            return db.session.scalar(text(
                "SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
                {"table": table})

    small = write_json(tmp_path / "small.json", [minimal("one"), minimal("two")])
    assert fairhub_cli("datasets", "import", small).exit_code == 0
    assert counted_rows() != 2  # fewer than DATASETS_ANALYZE_AFTER: left to autovacuum
    monkeypatch.setenv("FAIRHUB_DATASETS_ANALYZE_AFTER", "2")
    large = write_json(tmp_path / "large.json", [minimal("three"), minimal("four")])
    # A model whose table this database lacks (a plugin it does not run) is left out.
    missing = Table("fairhub_test_never_created", db.metadata, Column("id", Integer))
    try:
        assert fairhub_cli("datasets", "import", large).exit_code == 0
    finally:
        db.metadata.remove(missing)
    assert counted_rows() == 4
    with api.app_context():  # and the core's audit events, which the import wrote too
        events = db.session.scalar(text("SELECT count(*) FROM audit_events"))
    assert events >= 4 and counted_rows("audit_events") == events


def test_export_of_an_unknown_code_fails_naming_it(fairhub_cli, api, tmp_path):
    fairhub_cli("datasets", "import", write_json(tmp_path / "a.json", minimal("known")))
    result = fairhub_cli("datasets", "export", "known", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: Dataset 'nope' does not exist; nothing was exported.\n"
    out = tmp_path / "out.json"
    both = fairhub_cli("datasets", "export", "nope", "gone", "-o", str(out))
    assert both.exit_code == 1
    assert "Datasets 'gone', 'nope' do not exist" in both.stderr
    assert not out.exists()


def plain_progress(stderr: str, label: str) -> list[str]:
    """The progress lines a piped command wrote for ``label``."""
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


def test_import_and_export_report_progress_in_plain_lines_on_stderr(fairhub_cli, api,
                                                                    tmp_path):
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(json.dumps(minimal(f"d{n}")) for n in range(3)) + "\n\n")
    imported = fairhub_cli("datasets", "import", str(path), "--jobs", "0")
    assert imported.exit_code == 0, imported.output
    [line] = plain_progress(imported.stderr, "Importing")  # one, at the end, when quick
    assert line.startswith("Importing: 3/3 (100%) in 0:00:")

    exported = fairhub_cli("datasets", "export", "-o", "-")
    assert [d["code"] for d in json.loads(exported.stdout)] == ["d0", "d1", "d2"]
    [line] = plain_progress(exported.stderr, "Exporting")
    assert line.startswith("Exporting: 3/3 (100%) in 0:00:")
    one = fairhub_cli("datasets", "export", "d1")
    assert plain_progress(one.stderr, "Exporting")[0].startswith("Exporting: 1/1 (100%)")
