"""The database handle shared by the core and every plugin, and its connection settings."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from flask import Flask, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    ARRAY,
    DateTime,
    Engine,
    MetaData,
    any_,
    event,
    literal,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can alter and drop constraints on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every fairhub table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored; pass an aware UTC datetime.")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _begin_before_savepoint(connection: Connection, _name: str | None) -> None:
    """Open SQLite's transaction before a savepoint that would otherwise open it.

    Python's sqlite3 begins a transaction only before a write, so a savepoint taken before
    the session's first write would be the outermost transaction, and releasing it would
    commit everything written since, whatever the session did next (roll back included).
    """
    driver_connection = connection.connection.driver_connection
    if not driver_connection.in_transaction:
        driver_connection.execute("BEGIN")


_AT_DISPOSE = "fairhub.at_dispose"


def init_db(app: Flask) -> None:
    """Bind the database to ``app``. SQLite gets WAL, foreign keys and a busy timeout;
    PostgreSQL connections are pinged before each use (one that the server dropped is
    replaced instead of failing a request) and the pool lends the one given back last,
    so a worker keeps reusing one warm connection."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # Statement parameters (password hashes, token digests) stay out of logged errors.
    options.setdefault("hide_parameters", True)
    if url.startswith("postgresql"):
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_use_lifo", True)
    db.init_app(app)
    app.teardown_appcontext(_close_read_connection)
    if url.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", _begin_before_savepoint)


_READ = "fairhub_read_connection"


def read_connection() -> Connection:
    """This request's connection for reads that need no transaction of the session's:
    statements run on it straight (SQLAlchemy Core), and on PostgreSQL in autocommit, so no
    BEGIN or ROLLBACK travels with them. It is taken from the pool at its first use and given
    back when the request (or app context) ends.

    Each statement sees what was committed when it began. It does not see what ``db.session``
    has not committed: read what a request writes through the session.
    """
    connection = g.get(_READ)
    if connection is None:
        connection = db.engine.connect()
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        setattr(g, _READ, connection)
    return connection


def _close_read_connection(_error: BaseException | None = None) -> None:
    connection = g.pop(_READ, None)
    if connection is not None:
        connection.close()


def engines(app: Flask) -> set[Engine]:
    """Every engine of ``app``."""
    with app.app_context():
        return set(db.engines.values())


def at_dispose(app: Flask, callback: Callable[[], None]) -> None:
    """Call ``callback()`` when :func:`dispose_engines` ends ``app``, before its connections
    go: to write what a plugin keeps to write later (the search log). It must not raise."""
    app.extensions.setdefault(_AT_DISPOSE, []).append(callback)


def dispose_engines(app: Flask) -> None:
    """Give back every pooled connection of ``app``, once what :func:`at_dispose` was given
    is called."""
    for callback in app.extensions.get(_AT_DISPOSE, ()):
        callback()
    with app.app_context():
        db.session.remove()
    for engine in engines(app):
        engine.dispose()


# Parameters of one statement of insert_many on SQLite.
SQLITE_STATEMENT_PARAMETERS = 1000


def insert_many(connection: Connection, table: Any, columns: tuple[str, ...],
                rows: list[tuple], *, typed: tuple[str, ...] = (),
                constants: dict[str, Any] | None = None, skip_existing: bool = False,
                returning: str | None = None) -> list | None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` straight through
    the driver: on PostgreSQL a COPY (or, to skip existing rows, one INSERT of column arrays),
    on SQLite statements of many rows each (errors are raised as SQLAlchemy raises them,
    ``IntegrityError`` for a taken key).

    For bulk writes of narrow rows, where building SQLAlchemy's parameters for every row costs
    more than the database does. Values are sent as they are (plain ``str``, ``int``,
    ``float`` or ``None``; a JSON column takes JSON text), but for the ``typed`` columns,
    converted by their column's type (a time, a JSON value). ``constants`` are columns with
    one value for every row, converted once. ``skip_existing`` leaves rows whose key is
    taken alone; with it, ``returning`` names a column whose values, as the driver reads
    them, are returned for the rows inserted (in no particular order).
    """
    if returning is not None and not skip_existing:
        raise ValueError("insert_many returns values only with skip_existing.")
    if not rows:
        return [] if returning is not None else None
    dialect = connection.dialect
    if typed:
        convert = [_converter(table.c[name], dialect) if name in typed else None
                   for name in columns]
        rows = [tuple(value if to is None else to(value) for to, value in zip(convert, row))
                for row in rows]
    if constants:
        extra = tuple(value if (to := _converter(table.c[name], dialect)) is None else to(value)
                      for name, value in constants.items())
        columns, rows = (*columns, *constants), [row + extra for row in rows]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(map(quote, columns))
    if dialect.name == "postgresql" and not skip_existing:
        # COPY: one stream instead of a statement per row, for the server as for the client.
        statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        try:
            with connection.connection.driver_connection.cursor() as cursor, \
                    cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it (IntegrityError...)
            raise DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=dialect) from error
        return
    target = f"INSERT INTO {quote(table.name)} ({names})"
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if returning is not None:
        tail += f" RETURNING {quote(returning)}"
    if dialect.name == "postgresql":
        # Rows that may be taken: one statement over an array per column (typed by the
        # table's columns), not a statement per row: about a third less time in all.
        arrays = ", ".join(f"%s::{table.c[name].type.compile(dialect=dialect)}[]"
                           for name in columns)
        result = connection.exec_driver_sql(f"{target} SELECT * FROM unnest({arrays}){tail}",
                                            tuple(map(list, zip(*rows))))
        return result.scalars().all() if returning is not None else None
    values = f"({', '.join('?' * len(columns))})"
    # SQLite: many rows a statement. A table's triggers then run in one statement's
    # savepoint, not one per row (an FTS5 table flushes its pending terms at every
    # savepoint: twice the work), and narrow rows skip the per-row cost of executemany (two
    # to three times faster). Statements stay small, as the driver keeps the last ones it
    # compiled (about 150 bytes a parameter).
    per = max(1, min(SQLITE_STATEMENT_PARAMETERS, connection.connection.driver_connection
                     .getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) // len(columns))
    inserted = []
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        result = connection.exec_driver_sql(
            f"{target} VALUES {', '.join([values] * len(chunk))}{tail}",
            tuple(value for row in chunk for value in row))
        if returning is not None:
            inserted += result.scalars().all()
    return inserted if returning is not None else None


def _converter(column: Any, dialect: Any) -> Callable | None:
    """What turns a value into what the driver takes for ``column``: its type's conversions."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def reserve_ids(connection: Connection, table: Any, count: int) -> list[int]:
    """``count`` ids for new rows of ``table``, taken from the numbering of its integer key
    as inserting them would: never given to another row, before or after.

    So rows that hold their own or each other's ids (a stored document, a child's parent)
    go in with one INSERT each, without reading ids back. On SQLite the table must be
    ``sqlite_autoincrement`` (its numbering is kept in ``sqlite_sequence``), and reserving
    takes the database's write lock until the transaction ends; on PostgreSQL the key's
    sequence gives them.
    """
    if count <= 0:
        return []
    (key,) = table.primary_key.columns
    if connection.dialect.name == "postgresql":
        # The sequence is looked up once (OFFSET 0 keeps the subquery apart), not at each id
        # as nextval(pg_get_serial_sequence(...)) would: ten times the cost per id.
        return list(connection.execute(
            text("SELECT nextval(s.sequence) FROM (SELECT pg_get_serial_sequence(:table, :key)"
                 "::regclass AS sequence OFFSET 0) s, generate_series(1, :count)"),
            {"table": table.name, "key": key.name, "count": count}).scalars())
    if not table.dialect_options["sqlite"]["autoincrement"]:
        raise ValueError(f"Ids of {table.name} can be reserved only with sqlite_autoincrement.")
    quote = connection.dialect.identifier_preparer.quote
    # The larger of the numbering and the largest id, should anything have set the key
    # past the numbering; the UPDATE takes the write lock before the count is read.
    connection.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
        (table.name, table.name))
    connection.exec_driver_sql(
        f"UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max({quote(key.name)}), 0) "
        f"FROM {quote(table.name)})) + ? WHERE name = ?", (count, table.name))
    last = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                      (table.name,)).scalar_one()
    return list(range(last - count + 1, last + 1))


def in_values(connection: Connection, column: Any, values: Iterable) -> Any:
    """``column IN values`` for many values: on PostgreSQL one array parameter (``= ANY``),
    because a statement of a thousand parameters costs the driver and the server more to read
    than to run; SQLite takes them as an IN list (within its limit of parameters)."""
    values = list(values)
    if connection.dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (use ``escape="\\"``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# Work queued for the outermost commit of a session (see at_commit).
_QUEUES = "fairhub_at_commit"
_WRITERS: dict[str, Callable[[Session, list], None]] = {}
_LAST: set[str] = set()  # queues written after the others


def at_commit(queue: str, item: Any, write: Callable[[Session, list], None],
              last: bool = False) -> None:
    """Queue ``item`` for ``write(session, items)``, called once with every item of ``queue``
    just before the session's outermost commit, inside its transaction.

    Many small writes (an audit row, an index entry per dataset of an import) so become one
    statement; an item queued in a transaction or savepoint that rolls back is dropped.
    Queues are written in the order they were first used, those queued with ``last`` after
    the others: an update of a row every writer updates (a counter) then holds its lock only
    for the end of the transaction, instead of making concurrent writers wait for the whole.
    """
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        session.connection()  # begins the transaction the item belongs to
        transaction = session.get_transaction()
    _WRITERS[queue] = write
    if last:
        _LAST.add(queue)
    session.info.setdefault(_QUEUES, {}).setdefault(queue, []).append((transaction, item))


def _write_queued(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its items wait for the transaction's commit
    queues = session.info.pop(_QUEUES, {})
    for queue, entries in sorted(queues.items(), key=lambda queue: queue[0] in _LAST):
        if entries:
            _WRITERS[queue](session, [item for _transaction, item in entries])


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    for queue, entries in session.info.get(_QUEUES, {}).items():
        entries[:] = [(t, item) for t, item in entries if not _within(t, previous_transaction)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


event.listen(db.session, "before_commit", _write_queued)
event.listen(db.session, "after_soft_rollback", _drop_rolled_back)


def flush_unique(conflict: str) -> None:
    """Flush pending rows; a unique value a concurrent request took since it was checked is a
    409 with the message ``conflict`` (the session is rolled back)."""
    from fairhub.errors import Conflict

    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict) from None
