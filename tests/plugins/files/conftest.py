"""Fixtures of the files plugin's tests: a dataset to upload to, and tus requests."""
from __future__ import annotations

import json
import uuid

import pytest

from .support import CHUNK, EXAMPLES, TUS, metadata



@pytest.fixture
def fairhub_plugins():
    return ["datasets", "files"]


@pytest.fixture
def files_config():
    """Settings of this test's app beyond the defaults; parametrize it to change them."""
    return {}


@pytest.fixture
def files_app(make_app, files_config):
    """An app with the files plugin whose background jobs run in the app's own process."""
    return make_app({"FILES_TABLES_SCHEMA": f"tables_{uuid.uuid4().hex[:10]}", **files_config})


@pytest.fixture
def app(files_app):
    return files_app


@pytest.fixture
def manager(auth_headers):
    """A data manager's headers; they own the datasets made with ``dataset``."""
    return auth_headers("data-manager")


@pytest.fixture
def make_dataset(client, manager):
    """Create the worked example dataset (under a fresh code) as ``manager``; its code."""

    def make(visibility: str = "internal", headers: dict | None = None) -> str:
        body = json.loads((EXAMPLES / "dataset-create.json").read_text())
        suffix = uuid.uuid4().hex[:6]
        body["catalogue"]["id"] = code = f"ds_{suffix}"
        for dictionary in body["dictionaries"]:
            dictionary["code"] = f"{dictionary['code']}_{suffix}"
        body["visibility"] = visibility
        created = client.post("/api/datasets", json=body, headers=headers or manager)
        assert created.status_code == 201, created.get_json()
        return code

    return make


@pytest.fixture
def dataset(make_dataset):
    return make_dataset()


@pytest.fixture
def upload(client, manager):
    """Upload ``content`` in one go to ``url``; the file's answer (GET of the upload)."""

    def send(url: str, content: bytes, filename: str = "notes.txt", headers: dict | None = None,
             chunk: int | None = None) -> dict:
        headers = headers or manager
        created = client.post(url, headers={**headers, **TUS, "Upload-Length": str(len(content)),
                                            "Upload-Metadata": metadata(filename=filename)})
        assert created.status_code == 201, created.get_json()
        location = created.headers["Location"]
        step = chunk or max(len(content), 1)
        for offset in range(0, len(content), step):
            sent = client.patch(location, data=content[offset:offset + step],
                                headers={**headers, **CHUNK, "Upload-Offset": str(offset)})
            assert sent.status_code == 204, sent.get_json()
        answer = client.get(location, headers=headers)
        assert answer.status_code == 200
        return answer.get_json()

    return send
