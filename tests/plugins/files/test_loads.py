"""Loading a dictionary's table from an uploaded CSV, through HTTP, in the background."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from fairhub.testing import assert_error

# The contract's worked example (made-up data).
EXAMPLE_CSV = Path(__file__).parent / "examples" / "asthma_participants.csv"


def settle(client, headers, upload_id: str, seconds: float = 30) -> dict:
    """The upload's status once its load has run."""
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get(f"/api/files/uploads/{upload_id}", headers=headers).get_json()
        if answer["status"] in ("complete", "failed") or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def rows(app, dictionary: str) -> list[tuple]:
    from fairhub_files.tables import TableStore, table_name

    store = TableStore.from_app(app)
    with store.read_only_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            f"SELECT * FROM {store.quoted(table_name(dictionary))} ORDER BY 1"))]


@pytest.fixture
def participants(client, manager, dataset):
    return client.get(f"/api/datasets/{dataset}", headers=manager).get_json()[
        "dictionaries"][0]["code"]


CSV = ("participant_id,sex,age,fev1,smoker,enrolled_on\n"
       "1,Female,34,2.91,FALSE,2024-03-02\n"
       '2,"Male, tall",51,3.40,true,\n')


def test_a_csv_loads_in_the_background(app, client, manager, participants, upload,
                                       auth_headers):
    started = upload(f"/api/files/dictionaries/{participants}/data", CSV.encode(), "p.csv")
    assert started["kind"] == "table" and started["dictionary"] == participants
    assert started["status"] in ("processing", "complete")
    done = settle(client, manager, started["upload_id"])
    assert done["status"] == "complete", done
    assert done["rows"] == 2
    assert done["report"]["missing"] == [] and done["report"]["widened"] == {}
    loaded = rows(app, participants)
    assert [(r[0], r[1]) for r in loaded] == [(1, "Female"), (2, "Male, tall")]
    assert loaded[1][-1] is None  # the empty date
    # The CSV served its purpose: its bytes are gone, its record stays.
    from fairhub_files.storage import storage_for

    assert os.listdir(storage_for(app).root) == []
    events = client.get("/api/audit?type=file&action=load", headers=auth_headers("data-steward"))
    [event] = events.get_json()["items"]
    assert event["details"]["rows"] == 2 and event["actor"] is not None


def test_widened_missing_and_failed_loads(app, client, manager, participants, upload):
    first = settle(client, manager, upload(
        f"/api/files/dictionaries/{participants}/data",
        b"participant_id,age\n1,34.5\n2,40\n", "w.csv")["upload_id"])
    assert first["status"] == "complete"
    assert first["report"]["widened"] == {"age": "decimal"}
    assert set(first["report"]["missing"]) == {"sex", "fev1", "smoker", "enrolled_on"}
    before = rows(app, participants)
    failed = settle(client, manager, upload(
        f"/api/files/dictionaries/{participants}/data",
        b"participant_id,age\n1,34\n2,forty\n", "bad.csv")["upload_id"])
    assert failed["status"] == "failed" and failed["rows"] is None
    error = failed["report"]["error"]
    assert (error["row"], error["column"], error["value"]) == (2, "age", "forty")
    assert "age" in error["message"]
    assert rows(app, participants) == before
    unknown = settle(client, manager, upload(
        f"/api/files/dictionaries/{participants}/data", b"participant_id,height\n1,2\n",
        "u.csv")["upload_id"])
    assert unknown["status"] == "failed" and "height" in unknown["report"]["error"]["message"]
    empty = settle(client, manager, upload(
        f"/api/files/dictionaries/{participants}/data", b"", "e.csv")["upload_id"])
    assert empty["status"] == "failed" and "empty" in empty["report"]["error"]["message"]
    assert rows(app, participants) == before
    listed = client.get(f"/api/files/dictionaries/{participants}/data", headers=manager)
    assert [i["status"] for i in listed.get_json()["items"]] == [
        "complete", "failed", "failed", "failed"]


def test_the_contract_example_loads(app, client, manager, participants, upload):
    done = settle(client, manager, upload(f"/api/files/dictionaries/{participants}/data",
                                          EXAMPLE_CSV.read_bytes(), "a.csv")["upload_id"])
    assert done["status"] == "complete", done
    assert done["report"]["widened"] == {"age": "decimal"}
    assert done["rows"] == len(EXAMPLE_CSV.read_text().splitlines()) - 1


def test_who_may_load_and_follow_loads(client, manager, dataset, participants, make_user,
                                       make_token, auth_headers):
    from fairhub.testing import bearer

    url = f"/api/files/dictionaries/{participants}/data"
    viewer_id = make_user("data-manager")
    client.post(f"/api/datasets/{dataset}/grants", json={"user": viewer_id, "level": "viewer"},
                headers=manager)
    viewer = bearer(make_token(viewer_id))
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "3"}
    assert_error(client.post(url, headers={**viewer, **headers}), 403)
    assert_error(client.post(url, headers={**auth_headers("standard"), **headers}), 403)
    assert_error(client.get(url, headers=auth_headers("standard")), 403)
    assert client.get(url, headers=viewer).get_json()["items"] == []
    assert_error(client.post("/api/files/dictionaries/nothing/data",
                             headers={**manager, **headers}), 404)


def test_deleting_a_dictionary_or_dataset_drops_its_table(app, client, manager, dataset,
                                                          participants, upload):
    from fairhub_files.tables import TableStore, table_name

    settle(client, manager, upload(f"/api/files/dictionaries/{participants}/data",
                                   CSV.encode(), "p.csv")["upload_id"])
    assert len(rows(app, participants)) == 2
    store = TableStore.from_app(app)

    def exists(code):
        from sqlalchemy import inspect

        with store.read_only_engine().connect() as connection:
            return inspect(connection).has_table(table_name(code), schema=store.schema)

    got = client.get(f"/api/datasets/{dataset}", headers=manager).get_json()
    entry = got["dictionaries"][0]
    patched = client.patch(f"/api/datasets/{dataset}", headers=manager, json={
        "dictionaries": [{"id": entry["id"], "code": participants, "toBeDeleted": True}]})
    assert patched.status_code == 200, patched.get_json()
    assert not exists(participants)
    other = got["dictionaries"][1]["code"]
    settle(client, manager, upload(f"/api/files/dictionaries/{other}/data",
                                   b"participant_id\n1\n", "v.csv")["upload_id"])
    assert exists(other)
    assert client.delete(f"/api/datasets/{dataset}", headers=manager).status_code == 204
    assert not exists(other)


def test_cleanup_queues_a_lost_load_again(manager, dataset, participants, upload, client):
    """A load whose job died with its worker stays processing until the clean-up."""
    from datetime import timedelta

    from fairhub import db, utcnow
    from fairhub_files import cleanup
    from fairhub.jobs import queue_of
    from fairhub_files.models import StoredFile

    app = client.application
    queue = queue_of(app)
    queue.in_process = False  # the load is queued but nobody runs it...
    started = upload(f"/api/files/dictionaries/{participants}/data", CSV.encode(), "p.csv")
    assert started["status"] == "processing"
    queue.huey.flush()  # ...and then the job is lost
    with app.app_context():
        db.session.execute(db.update(StoredFile).values(
            updated_at=utcnow() - timedelta(seconds=2 * cleanup.ORPHAN_AGE_SECONDS)))
        db.session.commit()
    queue.in_process = True
    assert cleanup.clean(app)["requeued"] == 1
    assert settle(client, manager, started["upload_id"])["status"] == "complete"
    assert cleanup.clean(app)["requeued"] == 0


LOOKUP_CSV = ("participant_id,sex,age\n"
              "1,Female,30\n"
              "2,female,31\n"
              '3,"Un\nknown",32\n'
              "4,,33\n"
              "5,Male,34\n"
              "6,female,35\n")


def test_values_outside_a_lookup_are_loaded_and_reported(app, client, manager, participants,
                                                         upload):
    done = settle(client, manager, upload(f"/api/files/dictionaries/{participants}/data",
                                          LOOKUP_CSV.encode(), "l.csv")["upload_id"])
    assert done["status"] == "complete", done
    assert done["rows"] == 6
    assert done["report"]["outside_lookups"] == {"sex": {
        "lookup": "SEX", "count": 3, "more_values": False, "values": [
            {"value": "female", "count": 2, "rows": [2, 6], "lines": [3, 8]},
            {"value": "Un\nknown", "count": 1, "rows": [3], "lines": [4]}]}}
    assert [r[1] for r in rows(app, participants)] == [
        "Female", "female", "Un\nknown", None, "Male", "female"]
    clean = settle(client, manager, upload(f"/api/files/dictionaries/{participants}/data",
                                           CSV.encode().replace(b"Male, tall", b"Male"),
                                           "p.csv")["upload_id"])
    assert clean["status"] == "complete" and clean["report"]["outside_lookups"] == {}


@pytest.mark.parametrize("files_config", [{"FILES_TABLES_STRICT_LOOKUPS": True}])
def test_strict_lookups_fail_the_load_and_keep_the_table(app, client, manager, participants,
                                                         upload):
    url = f"/api/files/dictionaries/{participants}/data"
    first = settle(client, manager, upload(url, b"participant_id,sex\n1,Female\n2,Male\n",
                                           "ok.csv")["upload_id"])
    assert first["status"] == "complete", first
    before = rows(app, participants)
    failed = settle(client, manager, upload(url, LOOKUP_CSV.encode(), "l.csv")["upload_id"])
    assert failed["status"] == "failed" and failed["rows"] is None
    assert failed["report"] == {"error": {
        "message": "Row 2 (line 3 of the file), column 'sex': 'female' is not an option of "
                   "the lookup 'SEX' ('Female', 'Male').",
        "row": 2, "line": 3, "column": "sex", "value": "female"}}
    assert rows(app, participants) == before
