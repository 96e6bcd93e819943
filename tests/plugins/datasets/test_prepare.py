"""The ``fairhub_dataset_prepare`` hook: a plugin works out what it needs of each new dataset
where records are validated, and gets it back on the dataset's create event."""
from __future__ import annotations

import json
import os

import pytest
from fairhub_datasets import importer

from fairhub import hookimpl


class Probe:
    """A plugin preparing each new dataset's title and table names, and noting where."""

    FAIRHUB_PLUGIN_NAME = "probe"

    def __init__(self) -> None:
        self.created: list[tuple[str, object]] = []

    @hookimpl(optionalhook=True)
    def fairhub_dataset_prepare(self, dataset):
        if dataset.catalogue["title"] == "Skip me":
            return None
        return "probe", (dataset.catalogue["title"].upper(),
                         [table.name for table in dataset.dictionaries], os.getpid())

    @hookimpl
    def fairhub_event(self, event):
        if event.name == "dataset.create":
            self.created.append((event.subject.code, event.subject.prepared.get("probe")))


def record(code: str, title: str) -> str:
    return json.dumps({"code": code, "catalogue": {"title": title, "description": "About."},
                       "dictionaries": [{"code": f"{code}_t", "fields": []}]})


@pytest.mark.parametrize("jobs", [0, 1], ids=["in-process", "worker"])
def test_what_is_prepared_comes_back_on_the_create_event(make_app, tmp_path, jobs):
    probe = Probe()
    app = make_app(plugins=["datasets", probe])
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join([record("one", "First"), record("two", "Skip me")]))
    with app.app_context():
        with importer.checker(jobs) as check:
            outcomes = list(importer.import_checked(
                check(importer.read_records(path)), update=False, owner_id=None))
    assert [outcome for _, outcome in outcomes] == ["created", "created"]
    (code, (title, tables, pid)), skipped = probe.created
    assert (code, title, tables) == ("one", "FIRST", ["one_t"])
    assert (pid == os.getpid()) == (jobs == 0)  # prepared in the worker process, if any
    assert skipped == ("two", None)


class Broken:
    FAIRHUB_PLUGIN_NAME = "broken"

    @hookimpl(optionalhook=True)
    def fairhub_dataset_prepare(self, dataset):
        raise RuntimeError("cannot prepare")


def test_a_plugin_failing_to_prepare_is_logged_and_the_rest_goes_on(make_app, tmp_path,
                                                                    caplog):
    probe = Probe()
    app = make_app(plugins=["datasets", Broken(), probe])
    path = tmp_path / "records.jsonl"
    path.write_text(record("one", "First"))
    with app.app_context(), importer.checker(0) as check:
        outcomes = list(importer.import_checked(
            check(importer.read_records(path)), update=False, owner_id=None))
    assert [outcome for _, outcome in outcomes] == ["created"]
    assert probe.created[0][1][:2] == ("FIRST", ["one_t"])
    assert "Plugin broken failed on a new dataset to prepare" in caplog.text


def test_a_dataset_created_through_the_api_has_nothing_prepared(make_app):
    from fairhub.testing import signed_in

    probe = Probe()
    app = make_app(plugins=["datasets", probe])
    response = signed_in(app, "data-steward").post("/api/datasets", json=json.loads(
        record("api_made", "Made here")))
    assert response.status_code == 201, response.json
    assert probe.created == [("api_made", None)]


def test_the_workers_start_with_the_checker(app):
    """Before the command opens a connection: forked later, a worker would share it."""
    import multiprocessing

    before = set(multiprocessing.active_children())
    with app.app_context(), importer.checker(2):
        assert len(set(multiprocessing.active_children()) - before) == 2
