"""Files of a dataset: listing, who sees and downloads which, settings, deletion, clean-up."""
from __future__ import annotations

import hashlib
import os
import threading
import zlib
from datetime import timedelta

import pytest
from .support import TUS, dates_of_downloads, metadata

from fairhub import after_commit, db, utcnow
from fairhub.testing import assert_error, bearer

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89" + zlib.compress(b"x") * 3)


@pytest.fixture
def people(client, manager, dataset, make_user, make_token):
    """Headers of a caller at each dataset level, plus roles without a grant."""
    headers = {"owner": manager}
    for level in ("editor", "viewer", "reviewer"):
        uuid = make_user("data-manager" if level == "editor" else "standard")
        granted = client.post(f"/api/datasets/{dataset}/grants",
                              json={"user": uuid, "level": level}, headers=manager)
        assert granted.status_code in (200, 201), granted.get_json()
        headers[level] = bearer(make_token(uuid))
    headers["researcher"] = bearer(make_token(make_user("standard")))
    headers["other_manager"] = bearer(make_token(make_user("data-manager")))
    headers["steward"] = bearer(make_token(make_user("data-steward")))
    return headers


def listed(client, dataset, headers, kind="attachments"):
    answer = client.get(f"/api/files/datasets/{dataset}/{kind}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return [item["filename"] for item in answer.get_json()["items"]]


def test_a_complete_file_answers_every_key(upload, dataset):
    answer = upload(f"/api/files/datasets/{dataset}/attachments", b"a,b\n1,2\n", "t.csv")
    assert set(answer) == {
        "id", "upload_id", "kind", "dataset", "dictionary", "filename", "size", "offset",
        "content_type", "sha256", "viewing", "transfer", "status", "rows", "report",
        "created_at", "updated_at", "completed_at", "expires_at"}
    assert answer["kind"] == "attachment" and answer["dataset"] == dataset
    assert answer["status"] == "complete" and answer["size"] == answer["offset"] == 8
    assert answer["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert answer["content_type"] == "text/csv"
    assert (answer["viewing"], answer["transfer"]) == ("viewable", "optional")
    assert answer["dictionary"] is None and answer["expires_at"] is None


@pytest.mark.parametrize("content, name, sniffed", [
    (PNG, "report.csv", "image/png"),
    (b"%PDF-1.4\n%...", "notes.txt", "application/pdf"),
    (b"<html><script>alert(1)</script>", "page.html", "text/plain"),
    (b"\x00\x01\x02binary", "data.csv", "application/octet-stream"),
    ("naïve,ü\n".encode(), "u.csv", "text/csv"),
])
def test_content_type_is_sniffed_not_trusted(upload, dataset, content, name, sniffed):
    answer = upload(f"/api/files/datasets/{dataset}/attachments", content, name)
    assert answer["content_type"] == sniffed


def test_data_files_are_hidden_until_shown(client, upload, dataset, people):
    upload(f"/api/files/datasets/{dataset}/datafiles", b"a\n1\n", "d.csv")
    upload(f"/api/files/datasets/{dataset}/attachments", b"doc", "doc.txt")
    assert listed(client, dataset, people["owner"], "datafiles") == ["d.csv"]
    assert listed(client, dataset, people["steward"], "datafiles") == ["d.csv"]
    for who in ("editor", "viewer", "reviewer", "researcher", "other_manager"):
        assert listed(client, dataset, people[who], "datafiles") == [], who
        assert listed(client, dataset, people[who], "attachments") == ["doc.txt"], who
    assert listed(client, dataset, people["owner"], "attachments") == ["doc.txt"]


def test_private_datasets_hide_their_files(client, upload, make_dataset, manager, people):
    private = make_dataset("private")
    upload(f"/api/files/datasets/{private}/attachments", b"doc", "doc.txt")
    file_id = client.get(f"/api/files/datasets/{private}/attachments",
                         headers=manager).get_json()["items"][0]["id"]
    for who in ("researcher", "other_manager"):
        assert_error(client.get(f"/api/files/datasets/{private}/attachments",
                                headers=people[who]), 404)
        assert_error(client.get(f"/api/files/{file_id}", headers=people[who]), 404)
        assert_error(client.get(f"/api/files/{file_id}/content", headers=people[who]), 404)
    assert client.get(f"/api/files/{file_id}", headers=people["steward"]).status_code == 200


def test_settings_change_who_sees_and_downloads(client, upload, dataset, people):
    file_id = upload(f"/api/files/datasets/{dataset}/attachments", b"0123456789", "n.txt")["id"]
    researcher = people["researcher"]
    assert_error(client.get(f"/api/files/{file_id}/content", headers=researcher), 403)
    assert client.get(f"/api/files/{file_id}/content", headers=people["editor"]).status_code \
        == 200
    changed = client.patch(f"/api/files/{file_id}", json={"viewing": "downloadable",
                                                         "transfer": "required"},
                           headers=people["editor"])
    assert changed.status_code == 200
    assert (changed.get_json()["viewing"], changed.get_json()["transfer"]) == (
        "downloadable", "required")
    got = client.get(f"/api/files/{file_id}/content", headers=researcher)
    assert got.status_code == 200 and got.data == b"0123456789"
    client.patch(f"/api/files/{file_id}", json={"viewing": "hidden"}, headers=people["owner"])
    assert_error(client.get(f"/api/files/{file_id}", headers=researcher), 404)
    assert_error(client.get(f"/api/files/{file_id}", headers=people["editor"]), 404)
    assert client.get(f"/api/files/{file_id}", headers=people["owner"]).status_code == 200
    for who, status in (("viewer", 403), ("researcher", 403), ("other_manager", 404)):
        assert_error(client.patch(f"/api/files/{file_id}", json={"viewing": "viewable"},
                                  headers=people[who]), status)
    assert_error(client.patch(f"/api/files/{file_id}", json={}, headers=people["owner"]), 422)
    assert_error(client.patch(f"/api/files/{file_id}", json={"viewing": "public"},
                              headers=people["owner"]), 422)


def _attachment(client, upload, dataset, manager, content, name, viewing):
    """Upload an attachment to ``dataset`` and set its viewing; its id."""
    file_id = upload(f"/api/files/datasets/{dataset}/attachments", content, name)["id"]
    changed = client.patch(f"/api/files/{file_id}", json={"viewing": viewing}, headers=manager)
    assert changed.status_code == 200, changed.get_json()
    return file_id


def test_observers_download_what_is_downloadable(client, upload, dataset, manager,
                                                 auth_headers):
    observer = auth_headers("observer")
    content = bytes(range(256)) * 3
    shared = _attachment(client, upload, dataset, manager, content, "d.bin", "downloadable")
    shown = _attachment(client, upload, dataset, manager, b"view only", "v.txt", "viewable")
    hidden = _attachment(client, upload, dataset, manager, b"secret", "h.txt", "hidden")
    got = client.get(f"/api/files/{shared}/content", headers=observer)
    assert got.status_code == 200, got.get_json()
    assert got.data == content
    part = client.get(f"/api/files/{shared}/content", headers={**observer, "Range": "bytes=2-5"})
    assert part.status_code == 206 and part.data == content[2:6]
    assert client.get(f"/api/files/{shown}", headers=observer).status_code == 200
    assert "not downloaded" in assert_error(
        client.get(f"/api/files/{shown}/content", headers=observer), 403)["message"]
    assert_error(client.get(f"/api/files/{hidden}", headers=observer), 404)
    assert_error(client.get(f"/api/files/{hidden}/content", headers=observer), 404)
    assert listed(client, dataset, observer) == ["d.bin", "v.txt"]
    # Observers read and download; they change nothing.
    assert_error(client.patch(f"/api/files/{shared}", json={"viewing": "hidden"},
                              headers=observer), 403)
    assert_error(client.delete(f"/api/files/{shared}", headers=observer), 403)
    downloads = client.get("/api/audit?type=file&action=download",
                           headers=auth_headers("data-steward")).get_json()["items"]
    assert [(e["target"]["code"], e["actor"]["email"].split("-")[0]) for e in downloads] == [
        (str(shared), "observer")] * 2


@pytest.mark.parametrize("files_config", [{"PUBLIC_MODE": True}])
def test_guests_see_public_files_but_do_not_download(client, upload, make_dataset, manager):
    """Guests see public datasets (API contract, section 2); downloading is for signed-in
    callers from observers up."""
    public = make_dataset("public")
    file_id = _attachment(client, upload, public, manager, b"open", "o.txt", "downloadable")
    assert listed(client, public, {}) == ["o.txt"]
    assert client.get(f"/api/files/{file_id}").get_json()["viewing"] == "downloadable"
    # Without the permission an anonymous caller is asked to sign in, as on every route.
    assert_error(client.get(f"/api/files/{file_id}/content"), 401, "unauthorized")
    internal = make_dataset("internal")
    other = _attachment(client, upload, internal, manager, b"in", "i.txt", "downloadable")
    assert_error(client.get(f"/api/files/{other}"), 404)
    assert_error(client.get(f"/api/files/{other}/content"), 401)


def test_downloads_stream_ranges_safely(client, upload, dataset, manager):
    content = bytes(range(256)) * 4
    answer = upload(f"/api/files/datasets/{dataset}/attachments", content,
                    'r"e\\p\r\nort; x=1 数据.bin')
    url = f"/api/files/{answer['id']}/content"
    whole = client.get(url, headers=manager)
    assert whole.status_code == 200 and whole.data == content
    assert whole.headers["Accept-Ranges"] == "bytes"
    disposition = whole.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition \
        and "\n" not in disposition
    assert "filename*=UTF-8''" in disposition
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in whole.headers["Content-Security-Policy"]
    part = client.get(url, headers={**manager, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == content[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(content)}"
    tail = client.get(url, headers={**manager, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == content[-5:]
    assert client.get(url, headers={**manager, "Range": "bytes=5000-"}).status_code == 416


@pytest.fixture
def dev_server(app):
    """The app served over a socket by the server `fairhub serve` runs (werkzeug's); its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_a_download_carries_one_date_header(upload, dataset, manager, dev_server):
    """The HTTP server writes Date: werkzeug's would send the application's as a second one."""
    data = bytes(range(256)) * 4
    answer = upload(f"/api/files/datasets/{dataset}/attachments", data, "d.bin")
    dates_of_downloads(dev_server, f"/api/files/{answer['id']}/content", manager, data,
                       f'"{answer["sha256"]}"')


def test_uploads_and_downloads_are_audited(client, upload, dataset, manager, auth_headers):
    answer = upload(f"/api/files/datasets/{dataset}/attachments", b"abc", "a.txt")
    client.get(f"/api/files/{answer['id']}/content", headers=manager)
    steward = auth_headers("data-steward")
    for action in ("upload", "download"):
        events = client.get(f"/api/audit?type=file&action={action}", headers=steward)
        assert events.status_code == 200, events.get_json()
        items = events.get_json()["items"]
        assert [e["target"]["code"] for e in items] == [str(answer["id"])], action


def test_who_may_upload(client, dataset, people):
    url = f"/api/files/datasets/{dataset}/attachments"
    headers = {**TUS, "Upload-Length": "1", "Upload-Metadata": metadata(filename="x")}
    assert_error(client.post(url, headers=headers), 401)
    for who, status in (("researcher", 403), ("viewer", 403), ("reviewer", 403),
                        ("other_manager", 403)):
        assert_error(client.post(url, headers={**people[who], **headers}), status)
    for who in ("owner", "editor", "steward"):
        assert client.post(url, headers={**people[who], **headers}).status_code == 201, who


def test_deleting_a_file_removes_its_bytes(app, client, upload, dataset, people):
    from fairhub_files.storage import storage_for

    answer = upload(f"/api/files/datasets/{dataset}/attachments", b"abc", "a.txt")
    path = _path(app, answer["id"])
    assert os.path.exists(path) and storage_for(app)
    for who, status in (("editor", 403), ("researcher", 403), ("viewer", 403)):
        assert_error(client.delete(f"/api/files/{answer['id']}", headers=people[who]), status)
    assert client.delete(f"/api/files/{answer['id']}", headers=people["owner"]).status_code \
        == 204
    assert not os.path.exists(path)
    assert_error(client.get(f"/api/files/{answer['id']}", headers=people["owner"]), 404)


def _path(app, file_id):
    from fairhub_files.models import StoredFile
    from fairhub_files.storage import storage_for

    with app.app_context():
        return storage_for(app).path(db.session.get(StoredFile, file_id).storage_key)


def test_deleting_the_dataset_removes_its_files(app, client, upload, dataset, manager):
    paths = [_path(app, upload(f"/api/files/datasets/{dataset}/{kind}", b"abc", "a")["id"])
             for kind in ("attachments", "datafiles")]
    unfinished = client.post(f"/api/files/datasets/{dataset}/attachments", headers={
        **manager, **TUS, "Upload-Length": "10"})
    assert unfinished.status_code == 201
    assert client.delete(f"/api/datasets/{dataset}", headers=manager).status_code == 204
    assert not any(os.path.exists(path) for path in paths)
    assert os.listdir(os.path.dirname(paths[0])) == []


def test_a_failed_commit_keeps_the_bytes(app, client, upload, dataset, manager):
    """Bytes go only after the deletion commits."""
    from fairhub_files import cleanup
    from fairhub_files.models import StoredFile

    file_id = upload(f"/api/files/datasets/{dataset}/attachments", b"abc", "a")["id"]
    path = _path(app, file_id)
    with app.app_context():
        row = db.session.get(StoredFile, file_id)
        db.session.delete(row)
        after_commit(lambda: cleanup.remove_orphans(app, [row.storage_key]))
        db.session.rollback()
        db.session.commit()
    assert os.path.exists(path)


def test_my_uploads(client, upload, dataset, manager, people):
    upload(f"/api/files/datasets/{dataset}/attachments", b"abc", "done.txt")
    client.post(f"/api/files/datasets/{dataset}/attachments", headers={
        **manager, **TUS, "Upload-Length": "10", "Upload-Metadata": metadata(filename="part")})
    mine = client.get("/api/files/uploads", headers=manager).get_json()
    assert [i["filename"] for i in mine["items"]] == ["part", "done.txt"]
    assert mine["paging"]["total"] == 2
    going = client.get("/api/files/uploads?status=uploading", headers=manager).get_json()
    assert [i["filename"] for i in going["items"]] == ["part"]
    assert client.get("/api/files/uploads", headers=people["editor"]).get_json()["items"] == []
    assert_error(client.get("/api/files/uploads?status=nope", headers=manager), 422)


def test_cleanup_command(fairhub_cli):
    done = fairhub_cli("files", "cleanup")
    assert done.exit_code == 0, done.output
    assert "Deleted 0 expired uploads and 0 orphaned stored files; queued 0 stalled table " \
        "loads again." in done.output


def test_cleanup_removes_expired_uploads_and_orphans(app, client, upload, dataset, manager):
    from fairhub_files import cleanup
    from fairhub_files.models import StoredFile
    from fairhub_files.storage import storage_for

    kept = upload(f"/api/files/datasets/{dataset}/attachments", b"abc", "kept")
    location = client.post(f"/api/files/datasets/{dataset}/attachments", headers={
        **manager, **TUS, "Upload-Length": "10"}).headers["Location"]
    storage = storage_for(app)
    orphan = "0" * 32
    storage.create(orphan)
    old = utcnow().timestamp() - 2 * cleanup.ORPHAN_AGE_SECONDS
    os.utime(storage.path(orphan), (old, old))
    with app.app_context():
        db.session.execute(db.update(StoredFile).where(StoredFile.status == "uploading")
                           .values(expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    assert cleanup.clean(app) == {"expired": 1, "orphans": 1, "requeued": 0}
    assert client.head(location, headers={**manager, **TUS}).status_code == 404
    assert not os.path.exists(storage.path(orphan))
    assert os.path.exists(_path(app, kept["id"]))
    assert cleanup.clean(app) == {"expired": 0, "orphans": 0, "requeued": 0}


@pytest.mark.parametrize("files_config", [{"JOBS_PERIODIC": True, "JOBS_IN_PROCESS": False}])
def test_the_cleanup_runs_hourly_as_a_job(app, client, dataset, manager):
    from datetime import datetime

    from huey.consumer import Scheduler

    from fairhub.jobs import queue_of
    from fairhub_files.models import StoredFile

    location = client.post(f"/api/files/datasets/{dataset}/attachments", headers={
        **manager, **TUS, "Upload-Length": "10"}).headers["Location"]
    with app.app_context():
        db.session.execute(db.update(StoredFile).values(expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    huey = queue_of(app).huey
    for minute in (14, 15, 16):
        Scheduler(huey, threading.Event(), 1, True).enqueue_periodic_tasks(
            datetime(2030, 1, 1, 10, minute))
    (task,) = huey.pending()  # once an hour, at a quarter past
    assert task.name.endswith("fairhub_files.cleanup:clean_job")
    assert client.head(location, headers={**manager, **TUS}).status_code == 410  # expired
    huey.execute(huey.dequeue())
    assert client.head(location, headers={**manager, **TUS}).status_code == 404
