"""Stored documents: what GET and the list answer is exactly the documented DatasetSchema."""
from __future__ import annotations

from fairhub_datasets.schemas import CATALOGUE_KEYS, DatasetSchema

from fairhub.testing import signed_in


def test_answers_have_exactly_the_documented_keys(app, example):
    manager = signed_in(app, "data-manager")
    payload = example("dataset-create")
    payload["catalogue"]["extra"] = {"kept": True}
    created = manager.post("/api/datasets", json=payload)
    assert created.status_code == 201, created.json
    answer = manager.get("/api/datasets/synthetic_asthma_cohort").json
    assert created.json == answer
    with app.app_context():
        DatasetSchema().load(answer)  # every key present, none unknown, every type right
    assert list(answer["catalogue"]) == [*CATALOGUE_KEYS, "extra"]
    assert answer["catalogue"]["license"] is None
    listed = manager.get("/api/datasets").json["items"]
    assert listed == [answer]


def test_documents_follow_every_change(app, example, make_user):
    manager = signed_in(app, "data-manager")
    manager.post("/api/datasets", json=example("dataset-create"))
    url = "/api/datasets/synthetic_asthma_cohort"
    before = manager.get(url)
    patched = manager.patch(url, json=example("dataset-patch"))
    assert patched.status_code == 200, patched.json
    after = manager.get(url)
    assert after.json == patched.json != before.json
    assert after.headers["ETag"] == patched.headers["ETag"] != before.headers["ETag"]
    assert after.json["updated_at"] > before.json["updated_at"]

    dictionary = manager.patch("/api/dictionaries/asthma_participants",
                               json={"description": "Changed through its own route"})
    assert dictionary.status_code == 200, dictionary.json
    again = manager.get(url)
    assert again.json["dictionaries"][0]["description"] == "Changed through its own route"
    assert again.headers["ETag"] != after.headers["ETag"]

    reviewer = make_user("standard", email="rev@example.org", first_name="Ada",
                         last_name="Lovelace")
    granted = manager.post(f"{url}/grants", json={"user": reviewer, "level": "reviewer"})
    assert granted.status_code == 201, granted.json
    shared = manager.get(url)
    assert {"uuid": reviewer, "email": "rev@example.org", "name": "Ada Lovelace"} in shared.json[
        "approvers"]
    assert shared.headers["ETag"] != again.headers["ETag"]


def test_a_dictionary_patch_from_an_outdated_dataset_is_412(app, example):
    manager = signed_in(app, "data-manager")
    manager.post("/api/datasets", json=example("dataset-create"))
    tag = manager.get("/api/datasets/synthetic_asthma_cohort").headers["ETag"]
    url = "/api/dictionaries/asthma_visits"
    first = manager.patch(url, json={"name": "Visits"}, headers={"If-Match": tag})
    assert first.status_code == 200, first.json
    stale = manager.patch(url, json={"name": "Clinic visits"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert manager.get(url).json["name"] == "Visits"
