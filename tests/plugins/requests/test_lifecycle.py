"""The whole life of a request through HTTP, with several users and roles."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fairhub.testing import assert_error

from .support import ANSWERS


def action(client, who, code, verb, **body):
    return client.post(f"/api/requests/{code}/{verb}", json=body, headers=who.headers)


def test_the_compat_keys_client_scripts_read(client, cast, ask):
    created = ask(cast["researcher"], cast["dataset"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "pending" and body["code"].startswith("req_")
    listed = client.get("/api/requests/", headers=cast["researcher"].headers).get_json()
    assert [item["code"] for item in listed["items"]] == [body["code"]]
    assert listed["paging"]["total"] == 1
    read = client.get(f"/api/requests/{body['code']}", headers=cast["researcher"].headers)
    request = read.get_json()
    assert request["project_name"] == "Asthma phenotypes"
    assert request["requester"]["email"] == cast["researcher"].email
    assert [d["name"] for d in request["dictionaries"]] == ["Table 1", "Table 2"]
    assert {d["dataset"]["name"] for d in request["dictionaries"]} == {
        f"Dataset {cast['dataset']}"}
    approvers = {a["email"] for a in request["dictionaries"][0]["dataset"]["approvers"]}
    assert approvers == {cast["owner"].email, cast["reviewer"].email}
    assert request["answers"] == ANSWERS and request["output"] == "clear"
    assert request["reason"] is None and request["created_at"].endswith("Z")


def test_draft_return_resubmit_and_approve(client, cast, ask):
    researcher, reviewer = cast["researcher"], cast["reviewer"]
    draft = ask(researcher, cast["dataset"], status="draft",
                dictionaries=[f"{cast['dataset']}_t2"], answers={"project": {}}).get_json()
    code = draft["code"]
    assert draft["status"] == "draft" and draft["project_name"] is None
    assert [d["code"] for d in draft["dictionaries"]] == [f"{cast['dataset']}_t2"]
    # Reviewers do not see drafts.
    assert_error(client.get(f"/api/requests/{code}", headers=reviewer.headers), 404)
    # Submitting an incomplete draft names the missing answer.
    error = assert_error(action(client, researcher, code, "submit"), 422)
    assert "project_name" in error["details"]["json"]["answers"]["project"]
    patched = client.patch(f"/api/requests/{code}", json={"answers": ANSWERS, "status": "pending"},
                           headers=researcher.headers)
    assert patched.status_code == 200 and patched.get_json()["status"] == "pending"
    queue = client.get("/api/requests?as=reviewer", headers=reviewer.headers).get_json()
    assert [item["code"] for item in queue["items"]] == [code]
    assert_error(action(client, reviewer, code, "return"), 422)  # a reason is required
    returned = action(client, reviewer, code, "return", reason="Say more about the project.")
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["reason"] == "Say more about the project."
    assert client.get("/api/requests?as=reviewer",
                      headers=reviewer.headers).get_json()["items"] == []
    assert_error(action(client, reviewer, code, "approve", reason="ok"), 409)
    edited = client.patch(f"/api/requests/{code}", json={"answers": {
        "project": {"project_name": "Asthma phenotypes, 2027"}}}, headers=researcher.headers)
    assert edited.get_json()["status"] == "returned"
    assert action(client, researcher, code, "submit").get_json()["status"] == "pending"
    expiry = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    approved = action(client, reviewer, code, "approve", reason="Fine.", expires_at=expiry)
    body = approved.get_json()
    assert body["status"] == "approved" and body["decided_at"]
    steps = [(h["action"], h["from"], h["to"]) for h in body["history"]]
    assert steps == [("create", None, "draft"), ("submit", "draft", "pending"),
                     ("return", "pending", "returned"), ("submit", "returned", "pending"),
                     ("approve", "pending", "approved")]
    assert body["history"][-1]["actor"]["email"] == reviewer.email
    assert body["history"][2]["reason"] == "Say more about the project."
    assert_error(client.patch(f"/api/requests/{code}", json={"output": "synthetic"},
                              headers=researcher.headers), 409)


def test_transitions_are_audited(client, cast, ask, person):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    action(client, cast["reviewer"], code, "deny", reason="Out of scope.")
    steward = person("data-steward")
    audit = client.get(f"/api/audit?target_type=request&target_code={code}",
                       headers=steward.headers).get_json()
    actions = sorted(item["action"] for item in audit["items"])
    assert actions == ["create", "deny", "submit"]


def test_grants_expire_and_are_revoked(client, cast, ask, app):
    researcher, owner, reviewer = cast["researcher"], cast["owner"], cast["reviewer"]
    code = ask(researcher, cast["dataset"]).get_json()["code"]
    soon = datetime.now(timezone.utc) + timedelta(seconds=2)
    assert_error(action(client, reviewer, code, "approve", reason="ok",
                        expires_at=(soon - timedelta(days=1)).isoformat()), 422)
    action(client, reviewer, code, "approve", reason="ok", expires_at=soon.isoformat())
    mine = client.get("/api/grants", headers=researcher.headers).get_json()
    assert mine["paging"]["total"] == 2
    assert {g["status"] for g in mine["items"]} == {"live"}
    assert {g["request"] for g in mine["items"]} == {code}
    assert client.get("/api/grants", headers=cast["other"].headers).get_json()["items"] == []
    on_mine = client.get("/api/grants", headers=reviewer.headers).get_json()
    assert on_mine["paging"]["total"] == 2
    with app.app_context():
        from fairhub import db
        from fairhub_requests.grants import has_live_grant
        from fairhub_requests.models import AccessGrant

        grant = db.session.get(AccessGrant, mine["items"][0]["id"])
        assert has_live_grant(grant.user_id, grant.dictionary_id)
        grant.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
        assert not has_live_grant(grant.user_id, grant.dictionary_id)
    expired = client.get("/api/grants?status=expired", headers=researcher.headers).get_json()
    assert [g["id"] for g in expired["items"]] == [mine["items"][0]["id"]]
    other_id = mine["items"][1]["id"]
    assert_error(client.post(f"/api/grants/{other_id}/revoke", json={"reason": "x"},
                             headers=reviewer.headers), 403)
    revoked = client.post(f"/api/grants/{other_id}/revoke", json={"reason": "Project ended."},
                          headers=owner.headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["revoked_by"]["email"] == owner.email
    assert client.get("/api/grants?status=live",
                      headers=researcher.headers).get_json()["items"] == []


def test_receipt_of_an_approved_request(client, cast, ask):
    researcher, reviewer = cast["researcher"], cast["reviewer"]
    code = ask(researcher, cast["dataset"], output="synthetic").get_json()["code"]
    assert_error(client.get(f"/api/requests/{code}/receipt", headers=researcher.headers), 409)
    action(client, reviewer, code, "approve", reason="ok")
    receipt = client.get(f"/api/requests/{code}/receipt", headers=researcher.headers)
    assert receipt.status_code == 200 and receipt.mimetype == "text/markdown"
    text = receipt.get_data(as_text=True)
    for expected in (code, f"Dataset {cast['dataset']}", "**Version:** 2.1",
                     f"/api/datasets/{cast['dataset']}", researcher.email, "synthetic",
                     "**Requested:** 20", "**Approved:** 20", "Table 1", "Table 2"):
        assert expected in text, expected


def test_comments_between_requester_and_approvers(client, cast, ask):
    researcher, reviewer, other = cast["researcher"], cast["reviewer"], cast["other"]
    code = ask(researcher, cast["dataset"]).get_json()["code"]
    url = f"/api/requests/{code}/comments"
    assert client.post(url, json={"text": "Which years?"}, headers=reviewer.headers).status_code == 201
    assert client.post(url, json={"text": "2020 on."}, headers=researcher.headers).status_code == 201
    assert_error(client.post(url, json={"text": "hi"}, headers=other.headers), 404)
    assert_error(client.post(url, json={"text": "   "}, headers=researcher.headers), 422)
    listed = client.get(url, headers=researcher.headers).get_json()
    assert [(c["author"]["email"], c["text"]) for c in listed["items"]] == [
        (reviewer.email, "Which years?"), (researcher.email, "2020 on.")]


def test_reviewer_filters_by_status_and_dataset(client, cast, ask, make_dataset, share):
    researcher, reviewer, owner = cast["researcher"], cast["reviewer"], cast["owner"]
    second = make_dataset(owner)
    share(owner, second, reviewer, "reviewer")
    first_code = ask(researcher, cast["dataset"]).get_json()["code"]
    second_code = ask(researcher, second).get_json()["code"]
    action(client, reviewer, second_code, "deny", reason="No.")
    pending = client.get("/api/requests?as=reviewer", headers=reviewer.headers).get_json()
    assert [i["code"] for i in pending["items"]] == [first_code]
    denied = client.get("/api/requests?as=reviewer&status=denied", headers=reviewer.headers)
    assert [i["code"] for i in denied.get_json()["items"]] == [second_code]
    every = client.get(f"/api/requests?as=reviewer&status=all&dataset={second}",
                       headers=reviewer.headers).get_json()
    assert [i["code"] for i in every["items"]] == [second_code]
    mine = client.get("/api/requests?status=denied", headers=researcher.headers).get_json()
    assert [i["code"] for i in mine["items"]] == [second_code]


def test_counts_per_dataset_and_dictionary(client, cast, ask, app):
    researcher, reviewer = cast["researcher"], cast["reviewer"]
    first = ask(researcher, cast["dataset"]).get_json()["code"]
    second = ask(researcher, cast["dataset"], dictionaries=[f"{cast['dataset']}_t1"]).get_json()
    action(client, reviewer, first, "return", reason="More.")
    action(client, researcher, first, "submit")  # a resubmission is not a new request
    action(client, reviewer, first, "approve", reason="ok")
    action(client, reviewer, second["code"], "deny", reason="no")
    with app.app_context():
        from fairhub_requests.counts import counts

        found = counts()
    dataset_id = found["datasets"][cast["dataset"]]
    assert dataset_id == {"requests": 2, "approvals": 1, "rejections": 1}
    assert found["dictionaries"][f"{cast['dataset']}_t1"] == {
        "requests": 2, "approvals": 1, "rejections": 1}
    assert found["dictionaries"][f"{cast['dataset']}_t2"] == {
        "requests": 1, "approvals": 1, "rejections": 0}
