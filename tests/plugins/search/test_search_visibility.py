"""Search shows only what the caller may see: in items, in ``paging.total`` and in every facet
count, whatever the query or filters (spec sections 5 and 6)."""
from __future__ import annotations

import pytest
from fairhub.testing import assert_error, signed_in

URL = "/api/search/search"


def body(code, visibility, keyword, publisher, license, access):
    return {"code": code, "visibility": visibility, "catalogue": {
        "title": f"Asthma {code.replace('_', ' ')}", "description": "Made up.",
        "keyword": keyword, "publisher": {"name": publisher}, "license": license,
        "accessRights": access},
        "dictionaries": [{"code": f"{code}_t", "name": f"{code} table", "lookups": {},
                          "fields": [{"name": f"{code}_field", "type": "text",
                                      "constraints": None}]}]}


OPEN = ("Open Lab", "CC-BY-4.0", "open")
WORLD = [
    body("public_one", "public", ["asthma", "shared"], *OPEN),
    body("internal_one", "internal", ["asthma", "shared"], *OPEN),
    body("secret_one", "private", ["asthma", "shared", "confidential"], "Hidden Lab",
         "Secret-1.0", "closed"),
]
EVERYTHING = {"public_one", "internal_one", "secret_one"}
SIGNED_IN = {"public_one", "internal_one"}
# Queries and filters that would find the private dataset (or only it).
PROBES = [{}, {"query": "asthma"}, {"query": "confidential"}, {"query": "secret*"},
          {"query": "secrett~"}, {"query": "keyword:confidential"},
          {"query": "publisher:hidden"}, {"query": "field:secret_one_field"},
          {"query": "dictionary:secret_one"}, {"query": "asthma OR confidential"},
          {"query": "asthma -public"}, {"visibility": "private"},
          {"keyword": "confidential"}, {"publisher": "Hidden Lab"}, {"license": "Secret-1.0"},
          {"accessRights": "closed"}, {"query": "asthma", "keyword": "shared"}]


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def facets(result) -> dict:
    return {name: {e["value"]: e["count"] for e in entries}
            for name, entries in result["facets"].items()}


def expected_facets(codes: set[str]) -> dict:
    """The facets of exactly ``codes`` among :data:`WORLD`."""
    counts: dict[str, dict] = {n: {} for n in ("keyword", "publisher", "license",
                                               "accessRights", "visibility")}
    for record in WORLD:
        if record["code"] not in codes:
            continue
        c = record["catalogue"]
        for name, value in [*(("keyword", k) for k in c["keyword"]),
                            ("publisher", c["publisher"]["name"]), ("license", c["license"]),
                            ("accessRights", c["accessRights"]),
                            ("visibility", record["visibility"])]:
            counts[name][value] = counts[name].get(value, 0) + 1
    return counts


def assert_sees(client, visible: set[str]) -> None:
    """For every probe, ``client`` gets exactly the matching datasets among ``visible``:
    items, total and facets."""
    everyone = ok(client.get(URL, query_string={"page_size": 100}))
    assert {i["code"] for i in everyone["items"]} == visible
    assert everyone["paging"]["total"] == len(visible)
    assert facets(everyone) == expected_facets(visible)
    for probe in PROBES:
        full = ok(client.get(URL, query_string={**probe, "page_size": 100}))
        codes = {i["code"] for i in full["items"]}
        assert codes <= visible, probe
        assert full["paging"]["total"] == len(codes), probe
        assert facets(full) == expected_facets(codes), probe
        small = ok(client.get(URL, query_string={**probe, "page_size": 1}))
        assert small["paging"]["total"] == len(codes), probe
        assert facets(small) == facets(full), probe
    if "secret_one" in visible:
        found = ok(client.get(URL, query_string={"query": "confidential"}))
        assert [i["code"] for i in found["items"]] == ["secret_one"]


@pytest.fixture
def public_app(make_app):
    return make_app({"PUBLIC_MODE": True})


@pytest.fixture
def owner(public_app):
    """The data manager who created the world (and owns the private dataset)."""
    client = signed_in(public_app, "data-manager")
    for record in WORLD:
        ok(client.post("/api/datasets", json=record), 201)
    return client


def uuid_of(client) -> str:
    return ok(client.get("/api/user"))["uuid"]


def test_a_stranger_never_sees_the_private_dataset(public_app, owner):
    for role in ("standard", "observer", "data-manager"):
        assert_sees(signed_in(public_app, role), SIGNED_IN)


def test_the_owner_and_a_steward_see_it(public_app, owner):
    assert_sees(owner, EVERYTHING)
    assert_sees(signed_in(public_app, "data-steward"), EVERYTHING)


@pytest.mark.parametrize("via", ["user", "group"])
def test_a_viewer_sees_it_until_the_grant_goes(public_app, owner, via):
    viewer = signed_in(public_app, "standard")
    assert_sees(viewer, SIGNED_IN)
    if via == "user":
        grant = ok(owner.post("/api/datasets/secret_one/grants",
                              json={"user": uuid_of(viewer), "level": "viewer"}), 201)
    else:
        steward = signed_in(public_app, "data-steward")
        ok(steward.post("/api/groups", json={"code": "readers", "name": "Readers",
                                             "members": [{"uuid": uuid_of(viewer)}]}), 201)
        grant = ok(owner.post("/api/datasets/secret_one/grants",
                              json={"group": "readers", "level": "viewer"}), 201)
    assert_sees(viewer, EVERYTHING)
    response = owner.delete(f"/api/datasets/secret_one/grants/{grant['id']}")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert_sees(viewer, SIGNED_IN)


def test_visibility_changes_show_at_once(public_app, owner):
    stranger = signed_in(public_app, "standard")
    ok(owner.patch("/api/datasets/secret_one", json={"visibility": "internal"}))
    result = ok(stranger.get(URL, query_string={"query": "asthma"}))
    assert {i["code"] for i in result["items"]} == EVERYTHING
    assert result["paging"]["total"] == 3
    assert facets(result)["visibility"] == {"internal": 2, "public": 1}
    assert facets(result)["keyword"]["confidential"] == 1
    ok(owner.patch("/api/datasets/secret_one", json={"visibility": "private"}))
    assert_sees(stranger, SIGNED_IN)


def test_anonymous_in_public_mode_sees_only_public(public_app, owner):
    anonymous = public_app.test_client()
    assert_sees(anonymous, {"public_one"})
    assert_error(anonymous.get(URL, query_string={"query": "x", "index": "nope"}), 422)


def test_a_bad_token_is_401_even_in_public_mode(public_app, owner):
    response = public_app.test_client().get(
        URL, query_string={"query": "asthma"}, headers={"Authorization": "Bearer fh_wrong"})
    assert_error(response, 401)


def test_without_public_mode_a_token_is_needed(app):
    client = signed_in(app, "data-manager")
    ok(client.post("/api/datasets", json=WORLD[0]), 201)
    for query in ({"query": "asthma"}, {}, {"query": "", "visibility": "public"}):
        assert_error(app.test_client().get(URL, query_string=query), 401)
    assert ok(client.get(URL, query_string={"query": "asthma"}))["paging"]["total"] == 1
