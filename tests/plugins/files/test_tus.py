"""The tus 1.0.0 server: creation, HEAD, PATCH, checksums, termination, expiry, limits."""
from __future__ import annotations

import base64
import hashlib
import os
import re
from datetime import timedelta

import pytest
from .support import CHUNK, TUS, metadata

from fairhub import db, utcnow
from fairhub.testing import assert_error

PATHS = ["/api/files/datasets/{dataset}/attachments", "/api/files/datasets/{dataset}/datafiles"]


def create(client, headers, url, length, **extra):
    return client.post(url, headers={**headers, **TUS, "Upload-Length": str(length),
                                     "Upload-Metadata": metadata(filename="a.txt"), **extra})


def stored(app, upload_id):
    from fairhub_files.models import StoredFile
    from fairhub_files.storage import storage_for

    with app.app_context():
        row = db.session.scalar(db.select(StoredFile).where(StoredFile.upload_id == upload_id))
        path = storage_for(app).path(row.storage_key)
    with open(path, "rb") as file:
        return row, file.read()


def test_options_advertise_the_protocol(client, dataset):
    answer = client.options(f"/api/files/datasets/{dataset}/attachments")
    assert answer.status_code == 204
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "checksum", "expiration"}
    assert set(answer.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}
    assert int(answer.headers["Tus-Max-Size"]) > 0


@pytest.mark.parametrize("path", PATHS)
def test_upload_in_chunks_with_head_between(app, client, manager, dataset, path):
    url = path.format(dataset=dataset)
    content = bytes(range(256)) * 40
    created = create(client, manager, url, len(content),
                     **{"ARIDHIA-FAIR-Parent-Model-ID": "17", "filetype": ""})
    assert created.status_code == 201
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert "GMT" in created.headers["Upload-Expires"]
    location = created.headers["Location"]
    assert location.startswith("/api/files/uploads/")
    offset = 0
    for size in (1000, 4000, len(content) - 5000):
        head = client.head(location, headers={**manager, **TUS})
        assert head.status_code == 200 and head.headers["Upload-Offset"] == str(offset)
        assert head.headers["Upload-Length"] == str(len(content))
        assert head.headers["Cache-Control"] == "no-store"
        sent = client.patch(location, data=content[offset:offset + size],
                            headers={**manager, **CHUNK, "Upload-Offset": str(offset)})
        assert sent.status_code == 204, sent.get_json()
        offset += size
        assert sent.headers["Upload-Offset"] == str(offset)
    row, data = stored(app, location.rsplit("/", 1)[1])
    assert data == content and row.status == "complete" and row.offset == len(content)
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert row.upload_metadata == {"filename": "a.txt", "parent_model_id": "17", "filetype": ""}
    done = client.head(location, headers={**manager, **TUS})
    assert done.headers["Upload-Offset"] == str(len(content))
    assert "Upload-Expires" not in done.headers


def test_creation_with_upload_and_empty_upload(app, client, manager, dataset):
    url = f"/api/files/datasets/{dataset}/attachments"
    created = create(client, manager, url, 11, **{"Content-Type": CHUNK["Content-Type"]})
    assert created.status_code == 201 and created.headers.get("Upload-Offset") is None
    whole = client.post(url, data=b"hello world", headers={
        **manager, **CHUNK, "Upload-Length": "11", "Upload-Metadata": metadata(filename="h")})
    assert whole.status_code == 201 and whole.headers["Upload-Offset"] == "11"
    row, data = stored(app, whole.headers["Location"].rsplit("/", 1)[1])
    assert data == b"hello world" and row.status == "complete"
    empty = create(client, manager, url, 0)
    assert empty.status_code == 201 and empty.headers["Upload-Offset"] == "0"
    row, data = stored(app, empty.headers["Location"].rsplit("/", 1)[1])
    assert data == b"" and row.status == "complete"
    assert row.sha256 == hashlib.sha256(b"").hexdigest()


def test_wrong_offset_is_409_and_changes_nothing(app, client, manager, dataset):
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      10).headers["Location"]
    client.patch(location, data=b"abcde", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    for offset in ("0", "3", "7"):
        wrong = client.patch(location, data=b"xyz",
                             headers={**manager, **CHUNK, "Upload-Offset": offset})
        assert_error(wrong, 409)
        assert wrong.headers["Upload-Offset"] == "5"
    _row, data = stored(app, location.rsplit("/", 1)[1])
    assert data == b"abcde"


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
def test_checksums(app, client, manager, dataset, algorithm):
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      8).headers["Location"]

    def digest(data):
        return f"{algorithm} " + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()

    bad = client.patch(location, data=b"abcd", headers={
        **manager, **CHUNK, "Upload-Offset": "0", "Upload-Checksum": digest(b"abcX")})
    assert_error(bad, 460)
    assert client.head(location, headers={**manager, **TUS}).headers["Upload-Offset"] == "0"
    assert stored(app, location.rsplit("/", 1)[1])[1] == b""
    good = client.patch(location, data=b"abcd", headers={
        **manager, **CHUNK, "Upload-Offset": "0", "Upload-Checksum": digest(b"abcd")})
    assert good.status_code == 204 and good.headers["Upload-Offset"] == "4"


def test_bad_headers_get_clear_errors(client, manager, dataset):
    url = f"/api/files/datasets/{dataset}/attachments"
    no_version = client.post(url, headers={**manager, "Upload-Length": "3"})
    assert_error(no_version, 412)
    assert no_version.headers["Tus-Version"] == "1.0.0"
    assert_error(client.post(url, headers={**manager, **TUS}), 400)  # no Upload-Length
    for length in ("-1", "abc", "1e3", "99999999999999999999"):
        assert_error(client.post(url, headers={**manager, **TUS, "Upload-Length": length}), 400)
    for header in ("filename aGk", "filename !!!", "a b c", "k " + "A" * 7, "f aGk=,f aGk="):
        assert_error(client.post(url, headers={**manager, **TUS, "Upload-Length": "1",
                                               "Upload-Metadata": header}), 400)
    location = create(client, manager, url, 4).headers["Location"]
    for offset in ("9223372036854775808", "9999999999999999999"):  # past what a database holds
        assert_error(client.patch(location, data=b"ab", headers={
            **manager, **CHUNK, "Upload-Offset": offset}), 400)
    assert_error(client.patch(location, data=b"ab", headers={**manager, **TUS,
                                                             "Upload-Offset": "0"}), 415)
    assert_error(client.patch(location, data=b"ab", headers={**manager, **CHUNK}), 400)
    assert_error(client.patch(location, data=b"ab", headers={
        **manager, **CHUNK, "Upload-Offset": "0", "Upload-Checksum": "crc32 AAAA"}), 400)
    assert_error(client.patch(location, data=b"ab", headers={
        **manager, **CHUNK, "Upload-Offset": "0", "Upload-Checksum": "sha1 !!"}), 400)


def test_too_large_uploads_and_chunks(app, client, manager, dataset):
    url = f"/api/files/datasets/{dataset}/attachments"
    app.config["FILES_MAX_SIZE"] = 100
    assert_error(create(client, manager, url, 101), 413)
    location = create(client, manager, url, 100).headers["Location"]
    assert_error(client.patch(location, data=b"x" * 101,
                              headers={**manager, **CHUNK, "Upload-Offset": "0"}), 413)
    client.patch(location, data=b"x" * 60, headers={**manager, **CHUNK, "Upload-Offset": "0"})
    assert_error(client.patch(location, data=b"x" * 41,
                              headers={**manager, **CHUNK, "Upload-Offset": "60"}), 413)
    assert client.head(location, headers={**manager, **TUS}).headers["Upload-Offset"] == "60"


def test_chunks_above_the_api_body_limit_are_taken(app, client, manager, dataset):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      5000).headers["Location"]
    sent = client.patch(location, data=b"y" * 5000,
                        headers={**manager, **CHUNK, "Upload-Offset": "0"})
    assert sent.status_code == 204 and sent.headers["Upload-Offset"] == "5000"


def test_a_complete_upload_takes_no_more_chunks(client, manager, dataset):
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      2).headers["Location"]
    client.patch(location, data=b"ab", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    assert_error(client.patch(location, data=b"", headers={**manager, **CHUNK,
                                                           "Upload-Offset": "2"}), 409)


def test_termination_discards_the_upload(app, client, manager, dataset):
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      10).headers["Location"]
    client.patch(location, data=b"abc", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    row, _ = stored(app, location.rsplit("/", 1)[1])
    ended = client.delete(location, headers={**manager, **TUS})
    assert ended.status_code == 204 and ended.headers["Tus-Resumable"] == "1.0.0"
    assert client.head(location, headers={**manager, **TUS}).status_code == 404
    from fairhub_files.storage import storage_for

    assert not os.path.exists(storage_for(app).path(row.storage_key))


def test_an_expired_upload_is_gone(app, client, manager, dataset):
    from fairhub_files.models import StoredFile

    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      10).headers["Location"]
    with app.app_context():
        db.session.execute(db.update(StoredFile).values(expires_at=utcnow() - timedelta(1)))
        db.session.commit()
    assert client.head(location, headers={**manager, **TUS}).status_code == 410
    assert_error(client.patch(location, data=b"a", headers={**manager, **CHUNK,
                                                            "Upload-Offset": "0"}), 410)


def test_a_writer_holds_the_upload_until_its_lease_ends(app, client, manager, dataset):
    from fairhub_files.models import StoredFile

    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      4).headers["Location"]
    with app.app_context():  # a request that is writing, or a worker that died writing
        db.session.execute(db.update(StoredFile).values(
            writer="x" * 32, writing_until=utcnow() + timedelta(seconds=30)))
        db.session.commit()
    held = client.patch(location, data=b"ab", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    assert_error(held, 423)
    assert_error(client.delete(location, headers={**manager, **TUS}), 423)
    with app.app_context():
        db.session.execute(db.update(StoredFile).values(writing_until=utcnow() - timedelta(1)))
        db.session.commit()
    taken = client.patch(location, data=b"ab", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    assert taken.status_code == 204


def test_bytes_past_the_recorded_offset_are_cut_off(app, client, manager, dataset):
    """A worker killed mid-chunk leaves bytes the offset does not count; they are replaced."""
    from fairhub_files.storage import storage_for

    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      6).headers["Location"]
    client.patch(location, data=b"abc", headers={**manager, **CHUNK, "Upload-Offset": "0"})
    row, _ = stored(app, location.rsplit("/", 1)[1])
    with open(storage_for(app).path(row.storage_key), "ab") as file:
        file.write(b"GARBAGE")
    client.patch(location, data=b"def", headers={**manager, **CHUNK, "Upload-Offset": "3"})
    assert stored(app, location.rsplit("/", 1)[1])[1] == b"abcdef"


@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("a\x00b\x07c.txt", "abc.txt"),
    ("r\u202eport.exe", "rport.exe"),
    ("Ünïcödé 数据.csv", "Ünïcödé 数据.csv"),
    ("..", "upload"),
    ("", "upload"),
    ("x" * 300 + ".csv", "x" * 251 + ".csv"),
])
def test_file_names_are_made_safe(app, client, manager, dataset, given, kept):
    created = client.post(f"/api/files/datasets/{dataset}/attachments", headers={
        **manager, **TUS, "Upload-Length": "1", "Upload-Metadata": metadata(filename=given)})
    assert created.status_code == 201
    row, _ = stored(app, created.headers["Location"].rsplit("/", 1)[1])
    assert row.filename == kept
    assert re.fullmatch(r"[0-9a-f]{32}", row.storage_key)


def test_only_the_uploader_reaches_an_upload(client, auth_headers, manager, dataset):
    location = create(client, manager, f"/api/files/datasets/{dataset}/attachments",
                      4).headers["Location"]
    other = auth_headers("data-steward")
    assert client.head(location, headers={**other, **TUS}).status_code == 404
    assert_error(client.patch(location, data=b"ab", headers={**other, **CHUNK,
                                                             "Upload-Offset": "0"}), 404)
    assert_error(client.delete(location, headers={**other, **TUS}), 404)
    assert_error(client.get(location, headers=other), 404)
    assert client.head("/api/files/uploads/nothing", headers={**manager, **TUS}).status_code == 404
