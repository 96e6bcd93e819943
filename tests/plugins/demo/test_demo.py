"""``fairhub demo``: example datasets an instance can be tried with, through the API."""
from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from fairhub.testing import bearer

ADMIN = "steward@example.org"
DATA = resources.files("fairhub_demo") / "data"
CODES = ["demo_riverside_asthma", "demo_harbour_air", "demo_shift_sleep", "demo_upland_soil",
         "demo_school_meals"]
CATALOGUE_KEYS = ("title", "description", "identifier", "keyword", "creator", "contactPoint",
                  "publisher", "license", "rights", "versionInfo", "language", "accessRights",
                  "issued", "relation")


@pytest.fixture
def steward(fairhub_cli) -> dict:
    """Headers of the administrator's token from `fairhub init`."""
    result = fairhub_cli("init")
    assert result.exit_code == 0, result.output
    return bearer(re.search(r"fh_[A-Za-z0-9_-]+", result.stdout).group())


def demo(fairhub_cli, *args: str):
    result = fairhub_cli("demo", *args)
    assert result.exit_code == 0, result.output
    return result


def test_demo_fills_the_catalogue_with_example_datasets(fairhub_cli, steward, client):
    result = demo(fairhub_cli)
    assert [line.split()[:2] for line in result.stdout.splitlines()[:5]] == [
        ["Created", code] for code in CODES]
    assert "Created 5 example datasets owned by steward@example.org" in result.stdout

    listed = client.get("/api/datasets", headers=steward).get_json()
    assert [item["code"] for item in listed["items"]] == CODES
    assert {item["visibility"] for item in listed["items"]} == {"private", "internal", "public"}
    for item in listed["items"]:
        assert [a["email"] for a in item["approvers"]] == [ADMIN]
        assert "demo" in item["catalogue"]["keyword"] and "(demo)" in item["name"]
    asthma = listed["items"][0]
    assert all(asthma["catalogue"][key] is not None for key in CATALOGUE_KEYS)
    assert asthma["workflow_key"] == "basic_access_request"
    fields = [f for item in listed["items"] for d in item["dictionaries"] for f in d["fields"]]
    assert {f["type"] for f in fields} == {"boolean", "date", "datetime", "decimal", "integer",
                                           "text", "time"}
    lookups = [d["lookups"] for item in listed["items"] for d in item["dictionaries"]]
    assert all(lookups) and {"text", "integer"} <= {
        lookup["type"] for each in lookups for lookup in each.values()}


def test_search_finds_a_demo_dataset_by_a_keyword(fairhub_cli, steward, client):
    demo(fairhub_cli)
    found = client.get("/api/search/search?index=fair-index&query=spirometry",
                       headers=steward).get_json()
    assert [item["code"] for item in found["items"]] == ["demo_riverside_asthma"]
    soil = client.get("/api/search/search?index=fair-index&query=keyword:microbiome",
                      headers=steward).get_json()
    assert [item["code"] for item in soil["items"]] == ["demo_upland_soil"]


def test_tables_are_loaded_with_their_rows_and_attachments_download(fairhub_cli, steward,
                                                                    client):
    result = demo(fairhub_cli)
    assert "Loading demo_asthma_participants.csv: 24/24 (100%)" in result.stderr
    for dictionary, rows in (("demo_asthma_participants", 24), ("demo_asthma_visits", 62),
                             ("demo_air_readings", 192), ("demo_soil_samples", 18)):
        [load] = client.get(f"/api/files/dictionaries/{dictionary}/data",
                            headers=steward).get_json()["items"]
        assert (load["status"], load["rows"]) == ("complete", rows), load
        assert load["report"]["outside_lookups"] == {}  # the examples keep to their lookups
    assert client.get("/api/files/dictionaries/demo_meal_records/data",
                      headers=steward).get_json()["items"] == []  # one left to try loading

    [protocol] = client.get("/api/files/datasets/demo_riverside_asthma/attachments",
                            headers=steward).get_json()["items"]
    assert protocol["filename"] == "study-protocol.md"
    content = client.get(f"/api/files/{protocol['id']}/content", headers=steward)
    assert content.status_code == 200
    assert content.data == (DATA / "attachments" / "demo_riverside_asthma"
                            / "study-protocol.md").read_bytes()


def test_a_researcher_can_ask_for_the_demo_cohort(fairhub_cli, steward, client, auth_headers):
    demo(fairhub_cli)
    researcher = auth_headers("standard")
    seen = client.get("/api/datasets", headers=researcher).get_json()["items"]
    assert {item["code"] for item in seen} == set(CODES) - {"demo_shift_sleep"}  # private
    asked = client.post("/api/requests", headers=researcher, json={
        "dataset": "demo_riverside_asthma", "accept_rights": True,  # the dataset has rights
        "answers": {"project": {"project_name": "Trying the demo"}, "about": {}}})
    assert asked.status_code == 201, asked.get_json()
    to_decide = client.get("/api/requests?as=reviewer", headers=steward).get_json()["items"]
    assert [item["code"] for item in to_decide] == [asked.get_json()["code"]]


def test_running_the_demo_again_adds_nothing(fairhub_cli, steward, client):
    demo(fairhub_cli)
    again = demo(fairhub_cli)
    assert again.stdout.splitlines() == [
        *(f"Skipped {code}: a dataset with this code exists." for code in CODES),
        "Nothing to do: the example datasets exist already."]
    assert client.get("/api/datasets", headers=steward).get_json()["paging"]["total"] == 5
    loads = client.get("/api/files/dictionaries/demo_asthma_visits/data", headers=steward)
    assert len(loads.get_json()["items"]) == 1


def test_another_owner_and_a_missing_one(fairhub_cli, steward, client, make_user):
    missing = fairhub_cli("demo", "--owner", "nobody@example.org")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: No user has the email 'nobody@example.org'.\n"
    make_user("data-manager", email="curator@example.org")
    demo(fairhub_cli, "--owner", "curator@example.org")
    asthma = client.get("/api/datasets/demo_riverside_asthma", headers=steward).get_json()
    assert [a["email"] for a in asthma["approvers"]] == ["curator@example.org"]


def test_without_an_administrator_the_demo_says_what_to_do(fairhub_cli):
    result = fairhub_cli("demo")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: No user has the email {ADMIN!r}: run `fairhub init` "
                             "first, or name the owner with --owner.\n")


@pytest.mark.parametrize("fairhub_plugins", [["datasets", "demo"]])
def test_without_the_files_plugin_the_datasets_come_alone(fairhub_cli, steward, client):
    result = demo(fairhub_cli)
    assert result.stderr.startswith("The files plugin is not enabled: the datasets come "
                                    "without their tables' rows and attachments.")
    assert "Created 5 example datasets" in result.stdout and "search" not in result.stdout
    listed = client.get("/api/datasets", headers=steward).get_json()["items"]
    assert [item["code"] for item in listed] == CODES


@pytest.mark.parametrize("fairhub_plugins", [["demo"]])
def test_without_the_datasets_plugin_the_demo_refuses(fairhub_cli):
    result = fairhub_cli("demo")
    assert result.exit_code == 1
    assert result.stderr == ("Error: fairhub demo needs the datasets plugin, which is not "
                             "enabled (see FAIRHUB_PLUGINS).\n")


def test_the_example_data_is_package_data_in_the_posts_form():
    records = json.loads((DATA / "datasets.json").read_text("utf-8"))
    assert [record["code"] for record in records] == CODES
    tables = {item.name for item in (DATA / "tables").iterdir()}
    dictionaries = {d["code"] for record in records for d in record["dictionaries"]}
    assert {name.removesuffix(".csv") for name in tables} < dictionaries
