"""tuspy, as the FAIR client scripts use it, against fairhub under gunicorn."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import signal
import socket
import threading
import time
from urllib.parse import urlparse

import pytest
import requests
from .support import EXAMPLES, dates_of_downloads
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from fairhub.testing import bearer

MIB = 1024 * 1024
CHUNK = 5 * MIB  # what the FAIR client scripts use


@pytest.fixture
def server(live_server, live_token):
    """A live server, a data manager's token for it and a dataset they own."""
    base = live_server(workers=2, env={"FAIRHUB_FILES_WRITE_LEASE_SECONDS": "1",
                                       "FAIRHUB_FILES_MAX_SIZE": str(64 * MIB)})
    auth = bearer(live_token("data-manager"))
    body = (EXAMPLES / "dataset-create.json").read_text()
    created = requests.post(f"{base}/api/datasets/", data=body, timeout=30,
                            headers={**auth, "Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    return base, auth, created.json()["code"]


def tus(base: str, auth: dict, path: str) -> tus_client.TusClient:
    return tus_client.TusClient(f"{base}{path}", headers={
        **auth, "ARIDHIA-FAIR-Parent-Model-ID": "1", "filetype": ""})


def content(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def finished(base: str, auth: dict, location: str) -> dict:
    answer = requests.get(f"{base}{urlparse(location).path}", headers=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_tuspy_uploads_to_each_creation_url(server):
    base, auth, code = server
    for kind in ("attachments", "datafiles"):
        for size in (7, 12 * MIB + 3):
            data = content(size)
            uploader = tus(base, auth, f"/api/files/datasets/{code}/{kind}").uploader(
                file_stream=io.BytesIO(data), chunk_size=CHUNK,
                metadata={"filename": "cohort.bin"})
            uploader.upload()
            answer = finished(base, auth, uploader.url)
            assert answer["status"] == "complete" and answer["size"] == size
            assert answer["sha256"] == hashlib.sha256(data).hexdigest()
            download = requests.get(f"{base}/api/files/{answer['id']}/content", headers=auth,
                                    timeout=60)
            assert download.status_code == 200 and download.content == data
    _loads_a_dictionary_table(base, auth, code)


def test_a_download_carries_one_date_header(server):
    """gunicorn writes Date itself, and sends one whatever the application adds."""
    base, auth, code = server
    data = content(1000, seed=4)
    uploader = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": "d.bin"})
    uploader.upload()
    answer = finished(base, auth, uploader.url)
    dates_of_downloads(base, f"/api/files/{answer['id']}/content", auth, data,
                       f'"{answer["sha256"]}"')


def test_an_upload_resumes_after_its_worker_is_killed_mid_chunk(server, live_server):
    base, auth, code = server
    data = content(11 * MIB, seed=1)
    uploader = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": "big.bin"},
        retries=5, retry_delay=1)
    uploader.set_url(uploader.create_url())
    uploader.offset = 0
    uploader.upload_chunk()  # the first chunk is acknowledged
    assert uploader.offset == CHUNK
    # The second chunk stops half-way, and the worker writing it dies.
    port = urlparse(base).port
    path = urlparse(uploader.url).path
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: {auth['Authorization']}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {CHUNK}\r\n"
            f"Content-Length: {CHUNK}\r\n\r\n").encode()
    sock.sendall(head + data[CHUNK:CHUNK + 2 * MIB])
    time.sleep(1)
    for pid in live_server.workers(base):
        os.kill(pid, signal.SIGKILL)
    sock.close()
    # A fresh uploader, as a script run again would make, picks up from the server's offset.
    again = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, url=uploader.url, retries=10,
        retry_delay=1)
    assert again.offset == CHUNK
    again.upload()
    answer = finished(base, auth, uploader.url)
    assert answer["status"] == "complete"
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()


def test_protocol_errors_races_and_file_names_over_http(server):
    base, auth, code = server
    _two_clients_racing_on_one_upload(base, auth, code)
    _hostile_file_names(base, auth, code)
    url = f"{base}/api/files/datasets/{code}/attachments"
    with pytest.raises(TusCommunicationError) as too_big:
        tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
            file_stream=io.BytesIO(content(65 * MIB)), chunk_size=CHUNK).upload()
    assert too_big.value.status_code == 413
    uploader = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(content(100)), chunk_size=CHUNK, metadata={"filename": "x"})
    uploader.set_url(uploader.create_url())
    uploader.offset = 40  # the client is wrong about the offset
    with pytest.raises(TusUploadFailed) as conflict:
        uploader.upload_chunk()
    assert conflict.value.status_code == 409
    bad = requests.patch(uploader.url, data=b"abc", timeout=30, headers={
        **auth, "Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(b"abd").digest()).decode()})
    assert bad.status_code == 460 and bad.json()["error"]["message"]
    assert requests.head(uploader.url, headers={**auth, "Tus-Resumable": "1.0.0"},
                         timeout=30).headers["Upload-Offset"] == "0"
    uploader.offset = 0
    uploader.upload_checksum = True
    uploader.upload()
    assert finished(base, auth, uploader.url)["status"] == "complete"
    assert requests.options(url, timeout=30).headers["Tus-Version"] == "1.0.0"


def _hostile_file_names(base: str, auth: dict, code: str) -> None:
    for given, kept in (("../../etc/passwd", "passwd"), ("a\x00b.csv", "ab.csv"),
                        ("δεδομένα 数据.csv", "δεδομένα 数据.csv")):
        uploader = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
            file_stream=io.BytesIO(b"a,b\n"), chunk_size=CHUNK, metadata={"filename": given})
        uploader.upload()
        answer = finished(base, auth, uploader.url)
        assert answer["filename"] == kept
        download = requests.get(f"{base}/api/files/{answer['id']}/content", headers=auth,
                                timeout=30)
        assert download.status_code == 200 and download.content == b"a,b\n"
        assert "/" not in download.headers["Content-Disposition"].split("filename")[1]


def _two_clients_racing_on_one_upload(base: str, auth: dict, code: str) -> None:
    """Two PATCHes at one offset: one writes, the other is refused; nothing is mixed."""
    data = content(6 * MIB, seed=2)
    uploader = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": "race.bin"})
    url = uploader.create_url()
    headers = {**auth, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
               "Content-Type": "application/offset+octet-stream"}
    statuses: list[int] = []

    def send(body: bytes) -> None:
        statuses.append(requests.patch(url, data=body, headers=headers, timeout=60).status_code)

    racers = [threading.Thread(target=send, args=(data[:3 * MIB],)),
              threading.Thread(target=send, args=(content(3 * MIB, seed=3),))]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses)[0] == 204 and sorted(statuses)[1] in (409, 423), statuses
    offset = int(requests.head(url, headers={**auth, "Tus-Resumable": "1.0.0"},
                               timeout=30).headers["Upload-Offset"])
    assert offset == 3 * MIB
    # Whichever chunk won, the upload holds exactly it and goes on from there.
    again = tus(base, auth, f"/api/files/datasets/{code}/attachments").uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, url=url)
    again.upload()
    stored = requests.get(f"{base}/api/files/{finished(base, auth, url)['id']}/content",
                          headers=auth, timeout=60).content
    assert len(stored) == len(data) and stored[3 * MIB:] == data[3 * MIB:]
    assert stored[:3 * MIB] in (data[:3 * MIB], content(3 * MIB, seed=3))


def _loads_a_dictionary_table(base: str, auth: dict, code: str) -> None:
    """A multi-chunk CSV to a dictionary's data URL is loaded by a job in a gunicorn worker."""
    dictionary = requests.get(f"{base}/api/datasets/{code}", headers=auth,
                              timeout=30).json()["dictionaries"][0]["code"]
    rows = "".join(f"{i},F,{20 + i % 50},2.5,true,2024-01-02\n" for i in range(1, 20001))
    data = ("participant_id,sex,age,fev1,smoker,enrolled_on\n" + rows).encode()
    uploader = tus(base, auth, f"/api/files/dictionaries/{dictionary}/data").uploader(
        file_stream=io.BytesIO(data), chunk_size=64 * 1024, metadata={"filename": "p.csv"})
    uploader.upload()
    deadline = time.monotonic() + 60
    while (answer := finished(base, auth, uploader.url))["status"] == "processing" \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer["status"] == "complete", answer
    assert answer["rows"] == 20000 and answer["sha256"] == hashlib.sha256(data).hexdigest()
