"""The read path of hot routes: a thread's read connection kept between its requests, and
statements compiled once and run on the driver's cursor, reading what SQLAlchemy reads."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import (JSON, Boolean, Column, Integer, MetaData, String, Table, bindparam,
                        select)
from sqlalchemy.exc import DBAPIError

from fairhub import CompiledSelect, UTCDateTime, db, read_connection
from fairhub.db import dispose_engines, engines

metadata = MetaData()
things = Table("read_path_things", metadata, Column("id", Integer, primary_key=True),
               Column("name", String(20)), Column("made_at", UTCDateTime),
               Column("done", Boolean), Column("details", JSON))
MADE = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)


@pytest.fixture
def tables(app):
    with app.app_context():
        metadata.create_all(db.engine)
        db.session.execute(things.insert(), [
            {"id": 1, "name": "one", "made_at": MADE, "done": True, "details": {"a": [1]}},
            {"id": 2, "name": "two", "made_at": None, "done": False, "details": None},
            {"id": 3, "name": "three", "made_at": MADE, "done": None, "details": [2, 3]}])
        db.session.commit()
    yield app
    with app.app_context():
        metadata.drop_all(db.engine)
        db.session.commit()


def test_a_compiled_select_reads_what_sqlalchemy_reads(tables):
    statement = (select(things).where(things.c.id >= bindparam("low"),
                                      things.c.name != "none of them")
                 .order_by(things.c.id))
    compiled = CompiledSelect(statement)
    with tables.test_request_context():
        for low in (1, 2, 4):
            expected = read_connection().execute(statement, {"low": low}).all()
            rows = compiled.all({"low": low})
            assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
            assert [row._asdict() for row in rows] == [row._asdict() for row in expected]
        assert compiled.all({"low": 1})[0].made_at == MADE  # aware, in UTC, on SQLite too
        # Parameters go through their types too: an aware time is stored as UTC.
        by_time = CompiledSelect(select(things.c.id).where(things.c.made_at == bindparam("at")))
        assert [row.id for row in by_time.all({"at": MADE})] == [1, 3]


def test_a_compiled_select_refuses_a_list_for_in(tables):
    listed = CompiledSelect(select(things.c.id).where(things.c.id.in_(bindparam("ids",
                                                                               expanding=True))))
    with tables.test_request_context(), pytest.raises(ValueError, match="IN"):
        listed.all({"ids": [1, 2]})


def test_a_driver_error_is_raised_as_sqlalchemys(tables):
    missing = Table("read_path_missing", MetaData(), Column("id", Integer))
    with tables.test_request_context(), pytest.raises(DBAPIError):
        CompiledSelect(select(missing.c.id)).all()


def test_a_thread_keeps_its_read_connection_until_the_app_is_disposed_of(tables):
    def connection_of_a_request():
        with tables.test_request_context():
            return read_connection()

    first, again = connection_of_a_request(), connection_of_a_request()
    assert again is first
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(connection_of_a_request()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not first
    assert sum(engine.pool.checkedout() for engine in engines(tables)) == 2
    dispose_engines(tables)
    assert all(engine.pool.checkedout() == 0 for engine in engines(tables))


def test_a_read_connection_idle_for_long_is_checked_out_afresh(tables, monkeypatch):
    import importlib

    database = importlib.import_module("fairhub.db")  # fairhub.db is also the handle
    with tables.test_request_context():
        first = read_connection()
    monkeypatch.setattr(database, "KEEP_IDLE_SECONDS", 0)
    with tables.test_request_context():
        again = read_connection()
    assert again is not first and first.closed
    assert sum(engine.pool.checkedout() for engine in engines(tables)) == 1
