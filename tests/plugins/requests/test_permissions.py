"""Who may see and decide which requests."""
from __future__ import annotations

from fairhub.testing import assert_error

from .test_lifecycle import action


def test_a_requester_cannot_approve_their_own_request(client, cast, ask, person):
    manager = person("data-manager")  # holds requests/review, but no grant on the dataset
    code = ask(manager, cast["dataset"]).get_json()["code"]
    assert_error(action(client, manager, code, "approve", reason="Mine."), 403)
    assert client.get(f"/api/requests/{code}", headers=manager.headers).status_code == 200


def test_an_approver_may_decide_their_own_request(client, cast, ask):
    reviewer = cast["reviewer"]
    code = ask(reviewer, cast["dataset"]).get_json()["code"]
    assert action(client, reviewer, code, "approve", reason="I review it.").status_code == 200


def test_approvers_do_not_edit_or_withdraw_requests(client, cast, ask):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    assert_error(client.patch(f"/api/requests/{code}", json={"output": "synthetic"},
                              headers=cast["owner"].headers), 403)
    assert_error(action(client, cast["owner"], code, "withdraw"), 403)


def test_a_reviewer_of_one_dataset_cannot_decide_another(client, cast, ask, person,
                                                         make_dataset):
    other_owner = person("data-manager")
    elsewhere = make_dataset(other_owner)
    code = ask(cast["researcher"], elsewhere).get_json()["code"]
    reviewer = cast["reviewer"]
    assert_error(client.get(f"/api/requests/{code}", headers=reviewer.headers), 404)
    assert_error(action(client, reviewer, code, "approve", reason="x"), 404)
    queue = client.get("/api/requests?as=reviewer", headers=reviewer.headers).get_json()
    assert queue["items"] == []
    assert action(client, other_owner, code, "deny", reason="No.").status_code == 200


def test_standard_users_see_only_their_own(client, cast, ask):
    researcher, other = cast["researcher"], cast["other"]
    code = ask(researcher, cast["dataset"]).get_json()["code"]
    ask(other, cast["dataset"])
    mine = client.get("/api/requests", headers=researcher.headers).get_json()
    assert [item["code"] for item in mine["items"]] == [code]
    assert_error(client.get(f"/api/requests/{code}", headers=other.headers), 404)
    assert_error(client.get("/api/requests?as=reviewer", headers=other.headers), 403)
    assert_error(action(client, other, code, "approve", reason="x"), 403)  # no requests/review
    assert_error(client.patch(f"/api/requests/{code}", json={"output": "synthetic"},
                              headers=other.headers), 404)


def codes(client, who, query: str = "") -> list[str]:
    answer = client.get(f"/api/requests{query}", headers=who.headers)
    assert answer.status_code == 200, answer.get_json()
    return [item["code"] for item in answer.get_json()["items"]]


def test_the_list_without_filters_holds_what_i_made_and_what_i_decide(client, cast, ask,
                                                                        person, make_dataset):
    owner, researcher = cast["owner"], cast["researcher"]
    theirs = ask(researcher, cast["dataset"]).get_json()["code"]
    draft = ask(researcher, cast["dataset"], status="draft").get_json()["code"]
    elsewhere = make_dataset(person("data-manager"))
    mine = ask(owner, elsewhere).get_json()["code"]
    own_dataset = ask(owner, cast["dataset"]).get_json()["code"]  # made and decided: once
    unrelated = ask(cast["other"], elsewhere).get_json()["code"]
    decided = ask(cast["other"], cast["dataset"]).get_json()["code"]
    assert action(client, owner, decided, "deny", reason="No.").status_code == 200

    assert codes(client, owner) == [decided, own_dataset, mine, theirs]  # newest first
    assert codes(client, owner, "?as=requester") == [own_dataset, mine]
    assert codes(client, owner, "?as=reviewer") == [own_dataset, theirs]
    assert codes(client, owner, "?as=reviewer&status=all") == [decided, own_dataset, theirs]
    assert codes(client, owner, "?status=pending") == [own_dataset, mine, theirs]
    assert codes(client, owner, f"?dataset={elsewhere}") == [mine]
    assert codes(client, cast["reviewer"], "?status=pending") == [own_dataset, theirs]
    assert codes(client, researcher) == [draft, theirs]
    assert draft not in codes(client, owner) and unrelated not in codes(client, owner)
    total = client.get("/api/requests", headers=owner.headers).get_json()["paging"]["total"]
    assert total == 4


def test_approvers_through_a_group(client, cast, ask, person):
    owner, member = cast["owner"], person("data-manager")
    steward = person("data-steward")
    group = client.post("/api/groups", json={"code": "reviewers_g", "name": "Reviewers"},
                        headers=steward.headers)
    assert group.status_code == 201, group.get_json()
    added = client.post("/api/groups/reviewers_g/members", json={"users": [{"uuid": member.uuid}]},
                        headers=steward.headers)
    assert added.status_code in (200, 201, 204), added.get_json()
    given = client.post(f"/api/datasets/{cast['dataset']}/grants",
                        json={"group": "reviewers_g", "level": "reviewer"}, headers=owner.headers)
    assert given.status_code in (200, 201), given.get_json()
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    assert action(client, member, code, "approve", reason="ok").status_code == 200


def test_data_stewards_decide_anything(client, cast, ask, person):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    steward = person("data-steward")
    assert action(client, steward, code, "deny", reason="Policy.").status_code == 200
