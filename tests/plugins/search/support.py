"""What the search plugin's API tests share: a made-up catalogue, a data steward to load
it, and searches to run on it."""
from __future__ import annotations

import pytest
from fairhub.testing import signed_in

URL = "/api/search/search"
PUBLISHERS = {"oxford": "Oxford Lung Institute", "leeds": "Leeds Data Trust",
              "geneva": "Université de Genève", "cambridge": "Cambridge Brain Unit"}


def dataset(code, title, description, keyword, publisher, license, access, visibility="internal",
            tables=()):
    """A POST body; ``tables`` are ``(name, [(field name, label), ...])``."""
    return {"code": code, "visibility": visibility, "catalogue": {
        "title": title, "description": description, "keyword": list(keyword),
        "publisher": {"name": PUBLISHERS[publisher]}, "license": license,
        "accessRights": access},
        "dictionaries": [{"code": f"{code}_{name.lower()}", "name": name,
                          "description": f"The {name.lower()} table.", "lookups": {},
                          "fields": [{"name": n, "label": label, "type": "text",
                                      "constraints": None} for n, label in fields]}
                         for name, fields in tables]}


# Made-up catalogue. "asthma" is in one title (and keyword) and two descriptions; "eczema" in
# one title and one description; "genetics" in one keyword and one description; only one
# dataset says "study".
CORPUS = [
    dataset("asthma_cohort", "Asthma cohort", "Children followed for wheeze and lung function.",
            ["asthma", "respiratory"], "oxford", "CC-BY-4.0", "open", "public",
            [("Spirometry", [("fev1", "Forced expiratory volume"), ("visit_date", "Visit")])]),
    dataset("allergy_registry", "Allergy registry", "Patients with eczema, hay fever or asthma.",
            ["allergy", "respiratory"], "leeds", "CC0-1.0", "restricted", "internal",
            [("Referrals", [("referral_reason", "Reason for referral")])]),
    dataset("air_pollution", "Urban air pollution",
            "Daily particulate matter and asthma admissions.", ["environment"], "leeds",
            "CC-BY-4.0", "open", "public", [("Monitors", [("pm25", "Fine particles")])]),
    dataset("cafe_workers", "Café workers survey",
            "Working hours of baristas: night work and shift patterns.", ["occupation"],
            "geneva", "CC-BY-4.0", "open"),
    dataset("sleep_shift", "Sleep of nurses", "Rotating night shift nurses wearing wrist "
            "monitors.", ["sleep", "occupation"], "geneva", "CC0-1.0", "restricted", "internal",
            [("Actigraphy", [("wake_minutes", "Minutes awake")])]),
    dataset("dementia_trial", "Dementia prevention trial",
            "Randomised trial of exercise in older adults.", ["dementia", "alzheimer"],
            "cambridge", "CC-BY-4.0", "restricted", "internal",
            [("Assessments", [("mmse_total", "Mini mental state")])]),
    dataset("diabetes_study", "Type 2 diabetes study",
            "Insulin resistance and the genetics of obesity.", ["diabetes"], "leeds",
            "CC-BY-4.0", "restricted"),
    dataset("genome_panel", "Reference genome panel", "Whole genome sequences of volunteers.",
            ["genetics"], "cambridge", "CC0-1.0", "restricted"),
    dataset("skin_eczema", "Eczema in infants", "Skin barrier measurements.", ["dermatology"],
            "oxford", "CC0-1.0", "open"),
]
ALL = {d["code"] for d in CORPUS}
ASTHMA = {"asthma_cohort", "allergy_registry", "air_pollution"}


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def search(client, query: str = "", status: int = 200, **params):
    return ok(client.get(URL, query_string={"index": "fair-index", "query": query, **params}),
              status)


def found(client, query: str = "", **params) -> list[str]:
    return [item["code"] for item in search(client, query, page_size=100, **params)["items"]]


def mismatches(client, cases, check) -> dict:
    """Run every case; the ones whose result ``check`` rejects, with what came back."""
    wrong = {}
    for query, expected in cases:
        codes = found(client, query)
        if not check(codes, expected):
            wrong[query] = codes
    return wrong


@pytest.fixture
def steward(app):
    return signed_in(app, "data-steward")


@pytest.fixture
def corpus(steward):
    for body in CORPUS:
        ok(steward.post("/api/datasets", json=body), 201)
    return steward


def facet(body, name) -> dict:
    return {entry["value"]: entry["count"] for entry in body["facets"][name]}
