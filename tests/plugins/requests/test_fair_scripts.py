"""What FAIR client scripts do, done as they do it: the ``requests`` library against fairhub
under gunicorn."""
from __future__ import annotations

import requests

from fairhub.testing import bearer

from .support import ANSWERS, dataset_body


def test_a_data_owners_export_script_lists_the_requests_on_their_datasets(live_server,
                                                                          live_token):
    base = live_server(workers=1)

    owner = bearer(live_token("data-manager", "owner@example.org"))
    researcher = bearer(live_token("standard", "researcher@example.org"))
    created = requests.post(f"{base}/api/datasets/", json=dataset_body("asthma"), headers=owner,
                            timeout=10)
    assert created.status_code == 201, created.text
    asked = requests.post(f"{base}/api/requests/", headers=researcher, timeout=10,
                          json={"dataset": "asthma", "answers": ANSWERS})
    assert asked.status_code == 201, asked.text

    # The owner's script: every request it may see, then each one read.
    listed = requests.get(f"{base}/api/requests/", headers=owner, timeout=10).json()
    assert listed["paging"]["total"] == 1
    (item,) = listed["items"]
    detail = requests.get(f"{base}/api/requests/{item['code']}", headers=owner, timeout=10)
    assert detail.status_code == 200
    record = detail.json()
    assert record["requester"]["email"] == "researcher@example.org"
    assert record["status"] == "pending"
    assert [d["dataset"]["code"] for d in record["dictionaries"]] == ["asthma", "asthma"]
    assert {a["email"] for a in record["dictionaries"][0]["dataset"]["approvers"]} == {
        "owner@example.org"}
