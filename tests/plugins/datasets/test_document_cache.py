"""The stored documents each worker keeps by version (fairhub_datasets.cache)."""
from __future__ import annotations

import json

import pytest
from fairhub.testing import assert_error

from conftest import signed_in
from plugins.datasets.test_datasets_api import catalogue, create, get, ok, patch


def cache_of(app):
    from fairhub_datasets import cache

    with app.app_context():
        return cache.documents()


def stored(app, code: str):
    """The id and version of dataset ``code`` in the database (a row with both)."""
    from fairhub import db
    from fairhub_datasets.models import Dataset
    from sqlalchemy import select

    with app.app_context():
        return db.session.execute(select(Dataset.id, Dataset.version)
                                  .where(Dataset.code == code)).one()


# The cache itself


def test_a_document_is_kept_for_its_version_only():
    from fairhub_datasets.cache import DocumentCache

    kept = DocumentCache(limit=100)
    kept.put(1, 3, '{"a": 1}')
    assert kept.get(1, 3) == '{"a": 1}'
    assert kept.get(1, 2) is None and kept.get(1, 4) is None and kept.get(2, 3) is None
    kept.put(1, 4, '{"a": 22}')  # a newer version replaces the older
    assert kept.get(1, 3) is None and kept.get(1, 4) == '{"a": 22}'
    kept.put(1, 3, '{"a": 1}')  # a slower reader's older version does not
    assert kept.get(1, 4) == '{"a": 22}' and kept.get(1, 3) is None
    assert len(kept) == 1 and kept.size == len('{"a": 22}')


def test_the_cache_keeps_within_its_limit_dropping_the_oldest_first():
    from fairhub_datasets.cache import DocumentCache

    kept = DocumentCache(limit=25)
    for dataset_id in range(1, 6):
        kept.put(dataset_id, 1, "x" * 10)
        assert kept.size <= 25
    assert [kept.get(i, 1) is not None for i in range(1, 6)] == [False] * 3 + [True] * 2
    kept.put(9, 1, "y" * 26)  # larger than the whole cache: not kept, nothing dropped
    assert kept.get(9, 1) is None and len(kept) == 2
    kept.put(4, 2, "z" * 20)  # replacing one frees its room first
    assert kept.get(4, 2) == "z" * 20 and kept.get(5, 1) is None and kept.size == 20


def test_a_cache_of_nothing_keeps_nothing():
    from fairhub_datasets.cache import DocumentCache

    kept = DocumentCache(limit=0)
    kept.put(1, 1, "{}")
    assert kept.get(1, 1) is None and len(kept) == 0


@pytest.mark.parametrize("setting", [-1, "16", None, True, float("inf"), float("nan")])
def test_a_bad_cache_setting_stops_the_app_with_a_clear_error(make_app, setting):
    with pytest.raises(ValueError, match="DATASETS_DOCUMENT_CACHE_MB must be a number"):
        make_app({"DATASETS_DOCUMENT_CACHE_MB": setting})


# Reads through the cache


def test_reads_keep_the_documents_they_read_and_serve_them_again(app):
    manager = signed_in(app, "data-manager")
    for n in range(3):
        create(manager, code=f"ds_{n}", catalogue=catalogue(f"Study {n}"))
    kept = cache_of(app)
    kept_before = len(kept)
    first = ok(manager.get("/api/datasets"))
    assert len(kept) == kept_before + 3
    assert ok(manager.get("/api/datasets")) == first
    # What is kept is what is served: a document kept for the current version is answered
    # without reading the database (the cache's whole point), one for another version is not.
    dataset_id, version = stored(app, "ds_1")
    real = get(manager, "ds_1")
    marked = {**real, "name": "from the cache"}
    del marked["approvers"]
    kept.put(dataset_id, version, json.dumps(marked))
    assert get(manager, "ds_1")["name"] == "from the cache"
    listed = {d["code"]: d for d in ok(manager.get("/api/datasets"))["items"]}
    assert listed["ds_1"]["name"] == "from the cache"
    kept.put(dataset_id, version + 1, json.dumps(marked))  # another version: not used
    assert get(manager, "ds_1") == real


def test_a_change_is_served_at_once_by_every_worker(make_app):
    app = make_app()
    other_worker = make_app(create_tables=False)  # another process on the same database
    manager = signed_in(app, "data-manager")
    create(manager, code="ds_1", catalogue=catalogue("Before"), visibility="internal")
    reader = signed_in(other_worker, "standard")
    assert get(reader, "ds_1")["catalogue"]["title"] == "Before"
    assert ok(reader.get("/api/datasets"))["items"][0]["catalogue"]["title"] == "Before"

    patch(manager, "ds_1", catalogue={"title": "After"})
    assert get(reader, "ds_1")["catalogue"]["title"] == "After"
    assert ok(reader.get("/api/datasets"))["items"][0]["catalogue"]["title"] == "After"
    # A new dictionary changes the document, and so does a change through the dictionary's
    # own route.
    patch(manager, "ds_1", dictionaries=[{"code": "t_one", "name": "One", "fields": []}])
    assert [d["code"] for d in get(reader, "ds_1")["dictionaries"]] == ["t_one"]
    ok(manager.patch("/api/dictionaries/t_one", json={"name": "Renamed"}))
    assert [d["name"] for d in get(reader, "ds_1")["dictionaries"]] == ["Renamed"]
    # Hidden from the reader, then deleted: gone from their reads at once.
    patch(manager, "ds_1", visibility="private")
    assert_error(reader.get("/api/datasets/ds_1"), 404, "not_found")
    assert ok(reader.get("/api/datasets"))["items"] == []
    patch(manager, "ds_1", visibility="internal")
    assert get(reader, "ds_1")["catalogue"]["title"] == "After"
    assert manager.delete("/api/datasets/ds_1").status_code == 204
    assert_error(reader.get("/api/datasets/ds_1"), 404, "not_found")


def test_a_dataset_made_again_under_its_code_is_never_served_as_the_old_one(make_app):
    app = make_app()
    other_worker = make_app(create_tables=False)
    manager = signed_in(app, "data-manager")
    reader = signed_in(other_worker, "standard")
    create(manager, code="ds_1", catalogue=catalogue("First"), visibility="internal")
    first_id, _ = stored(app, "ds_1")
    assert get(reader, "ds_1")["catalogue"]["title"] == "First"
    assert manager.delete("/api/datasets/ds_1").status_code == 204
    create(manager, code="ds_1", catalogue=catalogue("Second"), visibility="internal")
    # The new dataset starts at version 1 again, under a new id: ids are never reused.
    assert stored(app, "ds_1") != (first_id, 1) and stored(app, "ds_1")[1] == 1
    assert get(reader, "ds_1")["catalogue"]["title"] == "Second"
    assert ok(reader.get("/api/datasets"))["items"][0]["catalogue"]["title"] == "Second"


def test_documents_missing_from_the_cache_are_read_through_the_callers_filter(app):
    """Between a page's statement and the reading of documents it lacks, a dataset may change,
    be deleted or be hidden from the caller: it then comes at its new version, or not at all."""
    from fairhub import current_actor
    from fairhub_datasets import access, service

    manager = signed_in(app, "data-manager")
    for code in ("kept", "changed", "hidden", "deleted"):
        create(manager, code=code, catalogue=catalogue(code.title()), visibility="internal")
    rows = {code: stored(app, code) for code in ("kept", "changed", "hidden", "deleted")}
    patch(manager, "changed", name="Changed since")
    patch(manager, "hidden", visibility="private")
    assert manager.delete("/api/datasets/deleted").status_code == 204

    reader = signed_in(app, "standard")
    token = reader.environ_base["HTTP_AUTHORIZATION"]
    with app.test_request_context(headers={"Authorization": token}):
        actor = current_actor()
        found = service._documents(actor, access.audience(actor), list(rows.values()))
    assert set(found) == {rows["kept"].id, rows["changed"].id}
    version, text = found[rows["changed"].id]
    assert version == stored(app, "changed")[1] > rows["changed"].version
    assert json.loads(text)["name"] == "Changed since"
