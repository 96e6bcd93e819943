"""Workflows, their forms, and answers checked against a form."""
from __future__ import annotations

import pytest

from fairhub.testing import assert_error

FORM = {
    "project": [
        {"name": "project_name", "type": "string", "label": "Project",
         "validation": {"required": True, "maximum": 20}},
        {"name": "summary", "type": "markdown", "label": "Summary"},
        {"name": "intro", "type": "label", "label": "Tell us about the project."},
    ],
    "about": [
        {"name": "phone", "type": "phone", "label": "Phone", "validation": {"required": True}},
        {"name": "start", "type": "date", "label": "Start"},
    ],
}


def test_the_built_in_workflow_and_its_default_form(client, person):
    researcher = person()
    listed = client.get("/api/workflows", headers=researcher.headers).get_json()
    assert [w["key"] for w in listed["items"]] == ["basic_access_request"]
    workflow = client.get("/api/workflows/basic_access_request",
                          headers=researcher.headers).get_json()
    project = {f["name"]: f for f in workflow["form"]["project"]}
    assert project["project_name"]["validation"]["required"] is True
    assert [f["name"] for f in workflow["form"]["about"]] == ["position"]
    assert_error(client.get("/api/workflows/nope", headers=researcher.headers), 404)


def test_only_workflow_editors_replace_the_form(client, person):
    url = "/api/workflows/basic_access_request/form"
    assert_error(client.put(url, json=FORM, headers=person("data-manager").headers), 403)
    replaced = client.put(url, json=FORM, headers=person("data-steward").headers)
    assert replaced.status_code == 200, replaced.get_json()
    assert [f["name"] for f in replaced.get_json()["form"]["about"]] == ["phone", "start"]
    assert replaced.get_json()["updated_at"]


@pytest.mark.parametrize("form, field", [
    ({"project": [{"name": "other", "type": "string", "label": "x"}]}, "form"),
    ({"project": [{"name": "project_name", "type": "string", "label": "x"},
                  {"name": "project_name", "type": "text", "label": "y"}]}, "form"),
    ({"project": [{"name": "project_name", "type": "checkbox", "label": "x"}]}, "project"),
    ({"project": [{"name": "bad name", "type": "string", "label": "x"}]}, "project"),
])
def test_bad_forms_are_refused(client, person, form, field):
    answer = client.put("/api/workflows/basic_access_request/form", json=form,
                        headers=person("data-steward").headers)
    error = assert_error(answer, 422)
    assert field in error["details"]["json"]


@pytest.fixture
def strict_form(client, person):
    answer = client.put("/api/workflows/basic_access_request/form", json=FORM,
                        headers=person("data-steward").headers)
    assert answer.status_code == 200


@pytest.mark.parametrize("answers, section, field, message", [
    ({"project": {"project_name": "P"}, "about": {}}, "about", "phone", "required"),
    ({"project": {"project_name": "P" * 21}, "about": {"phone": "+44 20 7946 0000"}},
     "project", "project_name", "Longer than 20"),
    ({"project": {"project_name": "P", "budget": "1"}, "about": {"phone": "123"}},
     "project", "budget", "Unknown field"),
    ({"project": {"project_name": 42}, "about": {"phone": "123"}},
     "project", "project_name", "string"),
    ({"project": {"project_name": "P"}, "about": {"phone": "call me"}},
     "about", "phone", "telephone"),
    ({"project": {"project_name": "P"}, "about": {"phone": "123", "start": "31/12/2026"}},
     "about", "start", "date"),
    ({"project": {"project_name": "P", "intro": "x"}, "about": {"phone": "123"}},
     "project", "intro", "Unknown field"),
])
def test_answers_must_fit_the_form(client, cast, ask, strict_form, answers, section, field,
                                   message):
    error = assert_error(ask(cast["researcher"], cast["dataset"], answers=answers), 422)
    problems = error["details"]["json"]["answers"][section][field]
    assert any(message in text for text in problems), problems


def test_unknown_sections_and_non_object_answers(client, cast, ask):
    error = assert_error(ask(cast["researcher"], cast["dataset"],
                             answers={"project": {"project_name": "P"}, "extra": {}}), 422)
    assert "extra" in error["details"]["json"]["answers"]
    assert_error(ask(cast["researcher"], cast["dataset"], answers={"project": "P"}), 422)
    assert_error(ask(cast["researcher"], cast["dataset"], answers=["P"]), 422)


def test_fitting_answers_are_kept_and_drafts_may_be_incomplete(client, cast, ask, strict_form):
    full = {"project": {"project_name": " P ", "summary": "**Big**"},
            "about": {"phone": "+44 20 7946 0000", "start": "2027-01-31"}}
    created = ask(cast["researcher"], cast["dataset"], answers=full)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["answers"]["project"] == {"project_name": "P", "summary": "**Big**"}
    draft = ask(cast["researcher"], cast["dataset"], status="draft", answers={"project": {}})
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"


def test_what_makes_a_dataset_requestable(client, person, make_dataset, ask):
    owner, researcher = person("data-manager"), person()
    no_workflow = make_dataset(owner, workflow=None)
    assert "does not take" in assert_error(ask(researcher, no_workflow), 422)["message"]
    no_tables = make_dataset(owner, tables=0)
    assert "no tables" in assert_error(ask(researcher, no_tables), 422)["message"]
    private = make_dataset(owner, visibility="private")
    assert_error(ask(researcher, private), 404)
    fine = make_dataset(owner)
    assert_error(ask(researcher, fine, dictionaries=["elsewhere"]), 422)
    assert_error(ask(researcher, fine, output="raw"), 422)


def test_rights_must_be_accepted(client, person, make_dataset, ask):
    owner, researcher = person("data-manager"), person()
    code = make_dataset(owner, rights="https://example.org/terms")
    error = assert_error(ask(researcher, code), 422)
    assert "accept_rights" in error["details"]["json"]
    accepted = ask(researcher, code, accept_rights=True)
    assert accepted.status_code == 201
    assert accepted.get_json()["rights_accepted"] == "https://example.org/terms"
