"""DirectSelect: the same rows as SQLAlchemy's execution, on the request's read connection;
insert_many: plain rows straight through the driver."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Integer, bindparam, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from fairhub import DirectSelect, read_connection, utcnow
from fairhub.identity.models import ApiToken, User


@pytest.fixture
def tokens_of_a_user(app, make_user, make_token):
    owner = make_user("standard", first_name="Ada")
    make_token(owner, allowed_ips=["10.0.0.0/8"])
    make_token(owner, single_use=True)
    return owner


def test_rows_are_converted_as_sqlalchemy_converts_them(app, tokens_of_a_user):
    statement = (
        select(ApiToken.id, ApiToken.valid_to, ApiToken.allowed_ips, ApiToken.single_use,
               ApiToken.revoked_at, User.uuid, User.first_name, User.approved,
               literal("fixed").label("constant"))
        .join(User, User.id == ApiToken.owner_id)
        .where(User.uuid == bindparam("uuid"), ApiToken.valid_to > bindparam("now"),
               or_(User.role == "standard", User.role == bindparam("role")))
        .order_by(ApiToken.id)
    )
    params = {"uuid": tokens_of_a_user, "now": utcnow() - timedelta(days=1), "role": "none"}
    with app.test_request_context():
        expected = [tuple(row) for row in read_connection().execute(statement, params)]
        rows = DirectSelect(statement).all(params)
    assert [tuple(row) for row in rows] == expected
    assert len(rows) == 2
    first = rows[0]
    assert first.valid_to.tzinfo is not None and first.allowed_ips == ["10.0.0.0/8"]
    assert first.single_use is False and first.approved is True and first.revoked_at is None
    assert rows[1].single_use is True and first.first_name == "Ada"
    assert first.constant == "fixed"


def test_first_is_none_without_rows(app):
    with app.test_request_context():
        assert DirectSelect(select(User.id).where(User.id == -1)).first() is None


def test_lists_are_refused(app):
    with app.test_request_context(), pytest.raises(ValueError, match="IN"):
        DirectSelect(select(User.id).where(User.role.in_(["a", "b"]))).all()


def test_insert_many_writes_plain_rows_and_can_skip_taken_keys(app):
    from sqlalchemy import Column, Integer, MetaData, String, Table, event

    from fairhub import db, insert_many

    pairs = Table("insert_many_pairs", MetaData(), Column("name", String(20), primary_key=True),
                  Column("number", Integer), Column("note", String(20)))
    with app.app_context():
        connection = db.session.connection()
        pairs.create(connection)
        insert_many(connection, pairs, ("name", "number", "note"),
                    [("o'hare", 1, None), ("bar", 2, "x;--")])
        statements = []  # whether each was an executemany
        event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[5]))
        inserted = insert_many(connection, pairs, ("name", "number", "note"),
                               [("bar", 3, "skipped"), ("baz", 4, "new"), ("qux", None, None),
                                ("baz", 5, "twice: the first stays")],
                               skip_existing=True, returning="name")
        assert statements == [False]  # one statement, not one per row
        assert sorted(inserted) == ["baz", "qux"]  # what went in, not what was given
        assert insert_many(connection, pairs, ("name",), [], skip_existing=True,
                           returning="name") == []
        with pytest.raises(ValueError, match="skip_existing"):
            insert_many(connection, pairs, ("name",), [("new",)], returning="name")
        assert sorted(connection.execute(select(pairs))) == [
            ("bar", 2, "x;--"), ("baz", 4, "new"), ("o'hare", 1, None), ("qux", None, None)]
        with pytest.raises(IntegrityError):  # without skip_existing, a taken key is an error
            insert_many(connection, pairs, ("name",), [("bar",)])
        db.session.rollback()


def test_insert_many_on_sqlite_writes_many_rows_a_statement_within_its_limits(
        app, fairhub_backend):
    """Many rows a statement (a trigger then runs in one statement, not one per row), split
    at SQLITE_STATEMENT_PARAMETERS or SQLite's own limit of parameters if lower."""
    if fairhub_backend != "sqlite":
        pytest.skip("SQLite's limit of parameters")
    import sqlite3

    from sqlalchemy import Column, Integer, MetaData, String, Table, event

    from fairhub import db, insert_many
    from fairhub.db import SQLITE_STATEMENT_PARAMETERS

    pairs = Table("insert_many_limits", MetaData(), Column("name", String(20), primary_key=True),
                  Column("number", Integer), Column("note", String(20)))
    statements = []  # the number of parameters of each
    with app.app_context():
        connection = db.session.connection()
        pairs.create(connection)
        event.listen(connection, "before_cursor_execute",
                     lambda *args: statements.append(len(args[3])))
        per = SQLITE_STATEMENT_PARAMETERS // 3
        insert_many(connection, pairs, ("name", "number", "note"),
                    [(f"a{n}", n, None) for n in range(2 * per + 1)])
        assert statements == [3 * per, 3 * per, 3]
        driver = connection.connection.driver_connection
        limit = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # two rows of three
        try:
            statements.clear()
            insert_many(connection, pairs, ("name", "number", "note"),
                        [(f"b{n}", n, "x") for n in range(5)])
            inserted = insert_many(connection, pairs, ("name", "number", "note"),
                                   [("b4", 0, "taken"), ("b5", 5, "new"), ("b0", 0, "taken")],
                                   skip_existing=True, returning="name")
            assert statements == [6, 6, 3, 6, 3]
            assert inserted == ["b5"]  # gathered over the statements
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
        assert connection.execute(select(func.count()).select_from(pairs)).scalar() \
            == 2 * per + 1 + 6
        assert connection.execute(select(pairs.c.note).where(pairs.c.name == "b4")).scalar() \
            == "x"
        db.session.rollback()


def test_in_values_binds_one_array_on_postgresql_and_a_list_on_sqlite(
        app, fairhub_backend, make_user):
    from sqlalchemy import event

    from fairhub import db, in_values

    make_user("standard")
    wanted = ["standard", "o'brien", "admin; DROP TABLE users", *(f"r{n}" for n in range(1500))]
    with app.app_context():
        connection = db.session.connection()
        statements = []
        event.listen(connection, "before_cursor_execute",
                     lambda *args: statements.append((args[2], args[3])))
        found = connection.execute(
            select(User.role).where(in_values(connection, User.role, wanted)).distinct()).all()
        assert found == [("standard",)]
        assert connection.execute(select(func.count()).select_from(User).where(
            in_values(connection, User.role, ["standard"]))).scalar() == \
            connection.execute(select(func.count()).select_from(User).where(
                User.role == "standard")).scalar()
        assert connection.execute(select(User.id).where(
            in_values(connection, User.role, []))).all() == []
        sql, params = statements[0]
        if fairhub_backend == "postgresql":
            assert "= ANY" in sql and len(params) == 1  # the statement does not grow
        else:
            assert len(params) == len(wanted)


def test_a_column_whose_type_reads_null_as_a_value_is_refused(app):
    from sqlalchemy import Integer, TypeDecorator

    class NullAsZero(TypeDecorator):
        impl = Integer
        cache_ok = True

        def process_result_value(self, value, dialect):
            return 0 if value is None else value

    with app.test_request_context(), pytest.raises(ValueError, match="reads NULL"):
        DirectSelect(select(User.id, literal(None, NullAsZero()).label("zero"))).all()


def _users_page():
    return (select(User.email).order_by(User.id)
            .limit(bindparam("limit", type_=Integer, literal_execute=True))
            .offset(bindparam("offset", type_=Integer, literal_execute=True)))


def test_inline_numbers_are_written_into_the_statement(app, make_user):
    for number in range(5):
        make_user("standard", email=f"page-{number}@example.org")
    statement = _users_page()
    direct = DirectSelect(statement)
    with app.test_request_context():
        for limit, offset in ((2, 0), (2, 2), (10, 3), (0, 0)):
            params = {"limit": limit, "offset": offset}
            expected = [tuple(row) for row in read_connection().execute(statement, params)]
            assert [tuple(row) for row in direct.all(params)] == expected
        assert [row.email for row in direct.all({"limit": 2, "offset": 1})] == [
            "page-1@example.org", "page-2@example.org"]


@pytest.mark.parametrize("value", ["1; DROP TABLE users", "2", 1.5, True, None])
def test_inline_numbers_must_be_whole_numbers(app, value):
    with app.test_request_context(), pytest.raises(TypeError, match="whole number"):
        DirectSelect(_users_page()).all({"limit": value, "offset": 0})


@pytest.fixture
def postgresql_only(fairhub_backend):
    if fairhub_backend != "postgresql":
        pytest.skip("prepared statements through libpq are PostgreSQL's")


def _prepared_here() -> list[str]:
    return list(read_connection().exec_driver_sql(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'fairhub\\_%%'").scalars())


def test_a_statement_is_prepared_once_per_connection(app, postgresql_only, tokens_of_a_user):
    import psycopg
    statement = DirectSelect(select(User.email, User.first_name).where(
        User.uuid == bindparam("uuid")))
    with app.test_request_context():
        assert statement.first({"uuid": tokens_of_a_user}).first_name == "Ada"
        assert _prepared_here() == []  # run once: not prepared, it may be a one-off
        for _ in range(3):
            assert statement.all({"uuid": tokens_of_a_user})[0].first_name == "Ada"
        assert len(_prepared_here()) == 1
        # Gone behind its back (psycopg deallocates everything after a schema change):
        # prepared again, and the rows come all the same.
        read_connection().exec_driver_sql("DEALLOCATE ALL")
        assert statement.first({"uuid": tokens_of_a_user}).first_name == "Ada"
        assert len(_prepared_here()) == 1
        # A migration changing what it selects, while the statement is prepared: prepared
        # anew, and the rows come in their new type.
        read_connection().exec_driver_sql(
            "ALTER TABLE users ALTER COLUMN first_name TYPE varchar(300)")
        assert statement.first({"uuid": tokens_of_a_user}).first_name == "Ada"
        # Errors come as the driver raises them.
        with pytest.raises(psycopg.errors.InvalidTextRepresentation,
                           match="invalid input syntax for type integer"):
            DirectSelect(select(User.id).where(User.id == bindparam("id"))).all({"id": "x"})


def test_statements_not_run_lately_are_deallocated(app, postgresql_only, make_user,
                                                   monkeypatch):
    from fairhub import prepared

    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 2)
    for number in range(4):
        make_user("standard", email=f"page-{number}@example.org")
    page = DirectSelect(_users_page())
    with app.test_request_context():
        for offset in (0, 0, 1, 1, 2, 2, 0):
            rows = page.all({"limit": 1, "offset": offset})
            assert [row.email for row in rows] == [f"page-{offset}@example.org"]
            assert len(_prepared_here()) <= 2
        # Offset 2 stays prepared; 1 was the oldest, and was dropped when 0 came back, which
        # (forgotten by then) ran once more unprepared.
        assert len(_prepared_here()) == 1
        # A statement already dropped by something else is let go quietly.
        read_connection().exec_driver_sql("DEALLOCATE ALL")
        for offset in (3, 3, 1, 1):
            assert page.first({"limit": 1, "offset": offset}).email == f"page-{offset}@example.org"
        assert len(_prepared_here()) == 2


def test_nothing_is_prepared_when_prepared_statements_are_off(make_app, postgresql_only):
    """As behind pgbouncer in transaction mode: psycopg's prepare_threshold set to None."""
    app = make_app({"SQLALCHEMY_ENGINE_OPTIONS": {
        "connect_args": {"prepare_threshold": None}}})
    with app.app_context():
        from fairhub import db

        db.session.add(User(email="off@example.org", first_name="Off", role="standard"))
        db.session.commit()
    statement = DirectSelect(select(User.first_name).where(User.email == bindparam("email")))
    with app.test_request_context():
        for _ in range(3):
            assert statement.first({"email": "off@example.org"}).first_name == "Off"
        assert _prepared_here() == []
