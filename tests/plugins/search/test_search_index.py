"""Spec section 6: the search index follows every change, in the same transaction, and the
commands that build it (reindex, the migrations, imports).

The same expectations hold on SQLite (FTS5) and PostgreSQL (tsvector): run the suite with and
without ``--fairhub-db=postgresql``.
"""
from __future__ import annotations

import json

import pytest
from fairhub import db, hookimpl
from fairhub.testing import signed_in
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from .support import (  # noqa: F401  (corpus and steward are fixtures)
    ALL, CORPUS, PUBLISHERS, corpus, dataset, facet, found, mismatches, ok, search, steward)
from .test_search_api import FIRST, MATCHES


# The index follows every change, in the same transaction.


def test_index_follows_create_patch_dictionary_change_and_delete(corpus):
    ok(corpus.post("/api/datasets", json=dataset(
        "new_one", "Tuberculosis screening", "Chest X-rays.", ["infection"], "oxford", "CC0-1.0",
        "open", tables=[("Scans", [("xray_id", "X-ray")])])), 201)
    assert found(corpus, "tuberculosis") == ["new_one"]
    assert found(corpus, "field:xray") == ["new_one"]

    ok(corpus.patch("/api/datasets/new_one", json={"catalogue": {"title": "Malaria screening",
                                                                 "keyword": ["malaria"]}}))
    assert found(corpus, "tuberculosis") == []
    assert found(corpus, "malaria") == ["new_one"]
    assert found(corpus, "title:malaria") == ["new_one"]
    assert facet(search(corpus, ""), "keyword").get("infection") is None

    # Dictionaries changed through the dataset...
    dataset_now = ok(corpus.get("/api/datasets/new_one"))
    table = dataset_now["dictionaries"][0]
    ok(corpus.patch("/api/datasets/new_one", json={"dictionaries": [
        {"id": table["id"], "code": table["code"], "name": "Radiographs",
         "description": "Images."},
        {"code": "new_one_labs", "name": "Laboratory", "lookups": {},
         "fields": [{"name": "sputum_culture", "label": "Culture", "type": "text",
                     "constraints": None}]}]}))
    assert found(corpus, "dictionary:radiographs") == ["new_one"]
    assert found(corpus, "dictionary:scans") == []
    assert found(corpus, "field:sputum") == ["new_one"]
    # ... and through the dictionaries' own endpoint.
    ok(corpus.patch("/api/dictionaries/new_one_labs", json={
        "name": "Microbiology", "fields": [{"name": "smear_result", "label": "Smear",
                                            "type": "text", "constraints": None}],
        "lookups": {}}))
    assert found(corpus, "dictionary:microbiology") == ["new_one"]
    assert found(corpus, "field:smear") == ["new_one"]
    assert found(corpus, "field:sputum") == []

    ok(corpus.patch("/api/datasets/new_one", json={"visibility": "public"}))
    assert "new_one" in found(corpus, visibility="public")

    assert corpus.delete("/api/datasets/new_one").status_code == 204
    assert found(corpus, "malaria") == []
    assert found(corpus, "field:smear") == []
    assert search(corpus, "")["paging"]["total"] == len(ALL)
    assert "malaria" not in facet(search(corpus, ""), "keyword")


def test_a_rejected_change_leaves_the_index_alone(corpus):
    response = corpus.patch("/api/datasets/asthma_cohort",
                            json={"catalogue": {"title": "Renamed", "publisher": {"x": 1}}})
    assert response.status_code in (400, 422)
    assert found(corpus, "title:asthma") == ["asthma_cohort"]
    assert found(corpus, "renamed") == []


# Commands.


@pytest.fixture
def api(make_app, fairhub_cli):
    """An app on the CLI's (migrated) database."""
    return make_app(create_tables=False)


def test_reindex_rebuilds_the_index(fairhub_cli, api):
    steward = signed_in(api, "data-steward")
    for body in CORPUS:
        ok(steward.post("/api/datasets", json=body), 201)
    before = {query: found(steward, query) for query, _ in FIRST + MATCHES}
    with api.app_context():  # lose the index behind the app's back
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.execute(text("DELETE FROM search_words"))
        db.session.commit()
    assert found(steward, "asthma") == []
    result = fairhub_cli("search", "reindex")
    assert result.exit_code == 0, result.output
    assert f"{len(CORPUS)} datasets indexed." in result.stderr
    assert {query: found(steward, query) for query, _ in FIRST + MATCHES} == before
    again = fairhub_cli("search", "reindex")  # twice is harmless
    assert again.exit_code == 0, again.output
    assert found(steward, "azthna~2") == before["azthna~2"]


def fts_problem(app) -> str | None:
    """What FTS5's own check finds wrong between SQLite's full-text index and the documents
    it indexes (a document missing, or one gone but still indexed); None when they agree."""
    with app.app_context():
        try:
            db.session.execute(text(
                "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
        except DatabaseError as error:
            return str(error.orig)
        finally:
            db.session.rollback()
    return None


def index_rows(app) -> dict:
    """Every dataset's search document, visibility and facet values, and the vocabulary."""
    with app.app_context():
        run = lambda sql: db.session.execute(text(sql)).all()  # noqa: E731
        values = dict(run("SELECT id, facet || '=' || value FROM search_facet_values"))
        return {
            "documents": sorted(tuple(row) for row in run(
                "SELECT dataset_id, title, description, keyword, publisher, creator, "
                "dictionary, field_names, field_text, extra FROM search_documents")),
            "entries": sorted((row.dataset_id, row.visibility, sorted(
                values[int(i)] for i in (row.facets + row.keywords).split()))
                for row in run("SELECT * FROM search_entries")),
            "words": sorted(run("SELECT word FROM search_words")),
            "grams": sorted(run("SELECT gram, word FROM search_grams")),
        }


def test_what_changes_index_is_what_reindex_writes(fairhub_cli, api, fairhub_backend, tmp_path):
    """Creates, imports and PATCHes index the dataset as written (the event's subject), not
    read back: the same rows a reindex reads back and writes. On SQLite the FTS5 table, kept
    by triggers as documents go in many rows a statement, agrees with the documents."""
    steward = signed_in(api, "data-steward")
    for body in CORPUS[:3]:
        ok(steward.post("/api/datasets", json=body), 201)
    path = tmp_path / "rest.jsonl"
    path.write_text("\n".join(json.dumps(body) for body in CORPUS[3:]), encoding="utf-8")
    assert fairhub_cli("datasets", "import", str(path)).exit_code == 0
    code, (table, *_) = CORPUS[0]["code"], CORPUS[0]["dictionaries"]
    ok(steward.patch(f"/api/datasets/{code}", json={
        "catalogue": {"keyword": ["wheeze"], "creator": "Lung team"},
        "dictionaries": [{"code": table["code"], "name": "Lung function"},
                         {"code": "asthma_extra", "name": "Extra", "fields": [
                             {"name": "peak_flow", "label": "Peak flow", "type": "decimal"}]}]}))
    ok(steward.patch(f"/api/dictionaries/{CORPUS[1]['dictionaries'][0]['code']}",
                     json={"description": "Referred by a general practitioner."}))
    written = index_rows(api)
    assert len(written["documents"]) == len(CORPUS)
    assert written["documents"][0][6] == "Lung function The spirometry table. Extra"
    assert fairhub_backend != "sqlite" or fts_problem(api) is None
    assert fairhub_cli("search", "reindex").exit_code == 0
    assert index_rows(api) == written
    if fairhub_backend == "sqlite":
        with api.app_context():  # what the check finds: text indexed for no document
            db.session.execute(text("INSERT INTO search_fts (rowid, title) VALUES (-1, 'x')"))
            db.session.commit()
        assert "malformed" in fts_problem(api)


class NotesPlugin:
    """Adds a note to each dataset's searchable text."""

    FAIRHUB_PLUGIN_NAME = "notes"

    @hookimpl(optionalhook=True)
    def fairhub_search_text(self, dataset):
        return f"noted {dataset.code}"


class BrokenTextPlugin:
    FAIRHUB_PLUGIN_NAME = "broken_text"

    @hookimpl(optionalhook=True)
    def fairhub_search_text(self, dataset):
        raise RuntimeError("no text")


def test_other_plugins_add_searchable_text_and_one_failing_is_left_out(make_app, caplog):
    app = make_app(plugins=["datasets", "search", BrokenTextPlugin(), NotesPlugin()])
    steward = signed_in(app, "data-steward")
    ok(steward.post("/api/datasets", json=CORPUS[0]), 201)
    assert found(steward, "noted") == [CORPUS[0]["code"]]
    assert "Plugin broken_text failed on the search text of 'asthma_cohort'" in caplog.text


def test_upgrading_indexes_the_datasets_already_there(fairhub_cli, api):
    """The migration that added facet entries and letter pairs fills them from the index."""
    steward = signed_in(api, "data-steward")
    for body in CORPUS:
        ok(steward.post("/api/datasets", json=body), 201)
    probes = [{"query": q} for q in ("", "asthma", "asthna~", "azthna~2", "genetocs~")] + [
        {"keyword": "respiratory"}, {"publisher": PUBLISHERS["geneva"]}, {"visibility": "public"}]
    before = [search(steward, page_size=100, **probe) for probe in probes]
    for args in (("db", "downgrade", "search_0001"), ("db", "upgrade")):
        result = fairhub_cli(*args)
        assert result.exit_code == 0, result.output
    assert [search(steward, page_size=100, **probe) for probe in probes] == before


def test_imported_datasets_are_searchable(fairhub_cli, api, tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(body) for body in CORPUS), encoding="utf-8")
    result = fairhub_cli("datasets", "import", str(path))
    assert result.exit_code == 0, result.output
    steward = signed_in(api, "data-steward")
    assert mismatches(steward, MATCHES, lambda codes, expected: set(codes) == expected) == {}
    assert found(steward, "asthna~")[0] == "asthma_cohort"
    changed = {**CORPUS[0], "catalogue": {**CORPUS[0]["catalogue"], "title": "Wheeze cohort"}}
    path.write_text(json.dumps(changed), encoding="utf-8")
    result = fairhub_cli("datasets", "import", "--update", str(path))
    assert result.exit_code == 0, result.output
    assert found(steward, "title:wheeze") == ["asthma_cohort"]
    assert found(steward, "title:asthma") == []
