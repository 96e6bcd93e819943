"""What FAIR client scripts send, sent as they send it: the ``requests`` library against
fairhub under gunicorn."""
from __future__ import annotations

import requests

from fairhub.testing import bearer


def test_a_dictionary_patched_with_the_object_read_back(live_server, live_token, example):
    base, auth = live_server(workers=1), bearer(live_token("data-manager"))
    created = requests.post(f"{base}/api/datasets/", json=example("dataset-create"),
                            headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    url = f"{base}/api/dictionaries/asthma_participants"

    # The whole object read back, one key changed.
    dictionary = requests.get(url, headers=auth, timeout=10).json()
    dictionary["description"] = "Edited by a script"
    patched = requests.patch(url, json=dictionary, headers=auth, timeout=10)
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "Edited by a script"
    assert patched.json()["fields"] == dictionary["fields"]
    assert patched.json()["lookups"] == dictionary["lookups"]

    # Only the code and what changes.
    patched = requests.patch(url, json={"code": "asthma_participants", "description": "Again"},
                             headers=auth, timeout=10)
    assert patched.status_code == 200, patched.text
    assert requests.get(url, headers=auth, timeout=10).json()["description"] == "Again"

    # Another code is refused, naming both, and changes nothing.
    refused = requests.patch(url, json={"code": "asthma_visits", "description": "No"},
                             headers=auth, timeout=10)
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "asthma_visits" in message and "asthma_participants" in message
    assert "code" in refused.json()["error"]["details"]["json"]
    assert requests.get(url, headers=auth, timeout=10).json()["description"] == "Again"
