"""Attachments a request carries, with the files plugin enabled (uploaded through tus)."""
from __future__ import annotations

import pytest

from fairhub.testing import assert_error

from ..files.support import CHUNK, TUS, metadata


@pytest.fixture
def fairhub_plugins():
    return ["datasets", "files", "requests"]


@pytest.fixture
def attach(client):
    """Upload an attachment to dataset ``code`` as ``owner`` with a transfer setting; its id."""

    def upload(owner, code: str, filename: str, transfer: str) -> int:
        content = b"terms of use"
        created = client.post(f"/api/files/datasets/{code}/attachments", headers={
            **owner.headers, **TUS, "Upload-Length": str(len(content)),
            "Upload-Metadata": metadata(filename=filename)})
        assert created.status_code == 201, created.get_json()
        location = created.headers["Location"]
        sent = client.patch(location, data=content,
                            headers={**owner.headers, **CHUNK, "Upload-Offset": "0"})
        assert sent.status_code == 204, sent.get_json()
        file_id = client.get(location, headers=owner.headers).get_json()["id"]
        changed = client.patch(f"/api/files/{file_id}", json={"transfer": transfer},
                               headers=owner.headers)
        assert changed.status_code == 200, changed.get_json()
        return file_id

    return upload


def test_chosen_and_required_attachments_are_carried(client, cast, ask, attach):
    owner, code = cast["owner"], cast["dataset"]
    optional = attach(owner, code, "optional.pdf", "optional")
    required = attach(owner, code, "required.pdf", "required")
    disabled = attach(owner, code, "internal.pdf", "disabled")
    plain = ask(cast["researcher"], code).get_json()
    assert [a["filename"] for a in plain["attachments"]] == ["required.pdf"]
    chosen = ask(cast["researcher"], code, attachments=[optional]).get_json()
    assert [a["id"] for a in chosen["attachments"]] == [optional, required]
    error = assert_error(ask(cast["researcher"], code, attachments=[disabled]), 422)
    assert "attachments" in error["details"]["json"]
    action = client.post(f"/api/requests/{chosen['code']}/approve", json={"reason": "ok"},
                         headers=cast["reviewer"].headers)
    assert action.status_code == 200
    receipt = client.get(f"/api/requests/{chosen['code']}/receipt",
                         headers=cast["researcher"].headers).get_data(as_text=True)
    assert "optional.pdf" in receipt and "required.pdf" in receipt
