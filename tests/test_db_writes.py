"""Writing through the core's helpers: transactions that hold on SQLite as on PostgreSQL,
reserved ids and bulk inserts with constant columns."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, func, select

from fairhub import UTCDateTime, db, insert_many, reserve_ids, utcnow

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


def test_reserved_ids_are_never_given_to_another_row(tables):
    with tables.app_context():
        connection = db.session.connection()
        first = reserve_ids(connection, things, 3)  # on an empty table
        assert len(set(first)) == 3 and first == sorted(first)
        connection.execute(things.insert(), [{"id": first[0], "name": "a"},
                                             {"id": first[2], "name": "c"}])
        numbered = connection.execute(things.insert().values(name="n")).inserted_primary_key[0]
        db.session.commit()
        connection = db.session.connection()
        second = reserve_ids(connection, things, 2)
        assert numbered > max(first) and min(second) > numbered
        assert reserve_ids(connection, things, 0) == []
        db.session.commit()
        later = db.session.execute(things.insert().values(name="z")).inserted_primary_key[0]
        assert later > max(second)
        db.session.commit()


def test_sqlite_reserves_ids_only_where_it_never_reuses_them(tables, fairhub_backend):
    """A SQLite key without AUTOINCREMENT may hand a deleted row's id out again: refused.
    PostgreSQL numbers every serial key with a sequence."""
    with tables.app_context():
        connection = db.session.connection()
        if fairhub_backend == "sqlite":
            with pytest.raises(ValueError, match="sqlite_autoincrement"):
                reserve_ids(connection, plain, 2)
        else:
            assert len(set(reserve_ids(connection, plain, 2))) == 2
        db.session.rollback()


def test_insert_many_converts_typed_columns_and_constants_through_their_type(tables):
    now, then = utcnow(), utcnow() - timedelta(days=1)
    with tables.app_context():
        connection = db.session.connection()
        insert_many(connection, things, ("name", "details"),  # JSON as text, sent as it is
                    [("a", '{"k": [1, 2]}'), ("b", "null")], constants={"made_at": now})
        insert_many(connection, things, ("name", "details", "made_at"),  # values converted
                    [("c", {"k": "é"}, then), ("d", None, None)],
                    typed=("details", "made_at"))
        db.session.commit()
        rows = db.session.execute(select(things.c.name, things.c.made_at, things.c.details)
                                  .order_by(things.c.name)).all()
        assert rows == [("a", now, {"k": [1, 2]}), ("b", now, None), ("c", then, {"k": "é"}),
                        ("d", None, None)]
        assert rows[0].made_at.tzinfo is not None


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
