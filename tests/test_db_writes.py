"""Writing through the core's helpers: transactions that hold on SQLite as on PostgreSQL,
work queued for the commit, and what plugins keep to write when an app is disposed."""
from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, func, select

from fairhub import UTCDateTime, db

metadata = MetaData()
things = Table("db_writes_things", metadata, Column("id", Integer, primary_key=True),
               Column("name", String(20)), Column("made_at", UTCDateTime),
               Column("details", JSON), sqlite_autoincrement=True)
plain = Table("db_writes_plain", metadata, Column("id", Integer, primary_key=True))


@pytest.fixture
def tables(app):
    with app.app_context():
        metadata.create_all(db.engine)
    yield app
    with app.app_context():
        metadata.drop_all(db.engine)


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(things))


@pytest.mark.parametrize("end", ["rollback", "commit"])
def test_a_savepoint_before_the_first_write_belongs_to_the_transaction(tables, end):
    """On SQLite a savepoint released before anything else was written must not commit."""
    with tables.app_context():
        db.session.execute(select(things.c.id))  # a read first: no transaction on SQLite yet
        with db.session.begin_nested():
            db.session.execute(things.insert().values(name="inside"))
        db.session.execute(things.insert().values(name="after"))
        getattr(db.session, end)()
    assert count(tables) == (2 if end == "commit" else 0)


def test_a_savepoint_rolled_back_keeps_the_rest(tables):
    with tables.app_context():
        db.session.execute(things.insert().values(name="before"))
        with pytest.raises(RuntimeError), db.session.begin_nested():
            db.session.execute(things.insert().values(name="dropped"))
            raise RuntimeError
        db.session.commit()
        assert db.session.scalars(select(things.c.name)).all() == ["before"]




def test_what_a_plugin_keeps_to_write_later_is_written_as_the_app_is_disposed(tables):
    from fairhub import at_dispose
    from fairhub.testing import dispose_app

    kept = [{"name": "kept"}]

    def write_kept():
        if kept:
            with tables.app_context(), db.engine.begin() as connection:
                connection.execute(things.insert(), kept)
            kept.clear()

    at_dispose(tables, write_kept)
    assert count(tables) == 0
    dispose_app(tables)
    assert count(tables) == 1
