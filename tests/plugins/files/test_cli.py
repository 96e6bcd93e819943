"""``fairhub files load``: a CSV into a dictionary's table, here and now, with progress."""
from __future__ import annotations

import uuid

import pytest

from .test_loads import rows

CSV = ("participant_id,sex,age,fev1,smoker,enrolled_on\n"
       "1,Female,34,2.91,FALSE,2024-03-02\n"
       '2,"Male, tall",51.5,3.40,true,\n'
       "3,Female,29,2.10,0,2024-04-11\n")


@pytest.fixture
def tables_schema():
    return f"tables_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fairhub_env(fairhub_env, tables_schema):
    """The commands load into the same tables as the test's app."""
    return {**fairhub_env, "FAIRHUB_FILES_TABLES_SCHEMA": tables_schema}


@pytest.fixture
def files_app(make_app, fairhub_cli, tables_schema):
    """The app of the test, on the commands' (migrated) database and tables."""
    return make_app({"FILES_TABLES_SCHEMA": tables_schema}, create_tables=False)


@pytest.fixture
def participants(client, manager, dataset):
    return client.get(f"/api/datasets/{dataset}", headers=manager).get_json()[
        "dictionaries"][0]["code"]


def test_load_fills_the_table_and_keeps_the_load_on_record(app, client, manager, participants,
                                                          fairhub_cli, make_user, tmp_path):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    make_user("data-manager", email="loader@example.org")
    result = fairhub_cli("files", "load", participants, str(path),
                         "--uploader", "loader@example.org")
    assert result.exit_code == 0, result.output
    [summary, *report] = result.stdout.splitlines()
    assert summary.startswith(f"Loaded 3 rows into the table of {participants} (file ")
    assert report == ["  widened: age to decimal",
                      "  outside lookup SEX: 1 cell of sex: 'Male, tall' (1)"]
    # Piped, the progress is one plain line at the end, on stderr.
    assert result.stderr.startswith("Loading participants.csv: 3/3 (100%) in 0:00:")

    assert [(row[0], row[1]) for row in rows(app, participants)] == [
        (1, "Female"), (2, "Male, tall"), (3, "Female")]
    [load] = client.get(f"/api/files/dictionaries/{participants}/data",
                        headers=manager).get_json()["items"]
    assert (load["status"], load["rows"], load["filename"]) == (
        "complete", 3, "participants.csv")
    assert load["report"]["widened"] == {"age": "decimal"}
    assert load["size"] == len(CSV) and load["content_type"] == "text/csv"


def test_a_failed_load_leaves_the_table_and_exits_1(app, client, manager, participants,
                                                    fairhub_cli, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(CSV, encoding="utf-8")
    bad.write_text(CSV + "4,Male,forty,2.5,true,2024-05-01\n", encoding="utf-8")
    assert fairhub_cli("files", "load", participants, str(good)).exit_code == 0
    result = fairhub_cli("files", "load", participants, str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: The load failed: ")
    assert "  row: 4" in lines and "  column: age" in lines and "  value: forty" in lines
    assert not any(line.startswith("Loading bad.csv") for line in lines)
    assert len(rows(app, participants)) == 3  # the previous table stands
    loads = client.get(f"/api/files/dictionaries/{participants}/data",
                       headers=manager).get_json()["items"]
    assert [item["status"] for item in loads] == ["complete", "failed"]


def test_load_refuses_an_unknown_dictionary_or_uploader(participants, fairhub_cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(CSV, encoding="utf-8")
    unknown = fairhub_cli("files", "load", "nope", str(path))
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: Dictionary 'nope' does not exist.\n"
    nobody = fairhub_cli("files", "load", participants, str(path), "--uploader", "x@y.org")
    assert nobody.exit_code == 1
    assert nobody.stderr == "Error: No user has the email 'x@y.org'.\n"
