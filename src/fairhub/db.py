"""The database handle shared by the core and every plugin, and its connection settings."""
from __future__ import annotations

import re
import sqlite3
import time
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    ARRAY,
    DateTime,
    Engine,
    MetaData,
    Select,
    any_,
    create_engine,
    event,
    literal,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import DeclarativeBase
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


# A pooled connection idle for longer than this is pinged before it is lent again.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "fairhub_idle_since"


def _mark_idle(_dbapi_connection, record) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_due(idle_since: float | None) -> bool:
    """Whether a connection idle since ``idle_since`` (monotonic; None: never given back)
    must be pinged before it is lent."""
    return idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE_SECONDS


def _pinger(dialect) -> Callable:
    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        """Check that a connection which sat in the pool is still alive, else have the pool
        replace it. A connection given back moments ago is lent without the round trip that
        ``pool_pre_ping`` costs on every checkout; should the server drop it meanwhile, its
        request fails and the pool replaces every connection older than the failure."""
        if not _ping_due(record.info.get(_IDLE_SINCE)):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("The connection did not answer a ping.") from exc

    return ping_if_idle


_READER = "fairhub_reader"
_READERS = "fairhub.readers"
_AT_DISPOSE = "fairhub.at_dispose"


class _Readers:
    """The connections an app reads through (see :func:`read_connection`), kept open between
    requests: a request takes the one given back last, or checks one out of the pool when
    none is free, and gives it back when it ends. Up to the pool's size stay here, so a
    request neither checks one out of the pool nor gives it back: that bookkeeping took about
    a twentieth of a sync worker's time reading a dataset. One that sat here for over
    ``PING_AFTER_IDLE_SECONDS`` is pinged before it is lent, as the pool's are."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        size = getattr(engine.pool, "size", None)
        self.keep = size() if callable(size) else 0
        self._free: list[tuple[Connection, float]] = []  # list operations are atomic

    def take(self) -> Connection:
        while True:
            try:
                connection, idle_since = self._free.pop()
            except IndexError:
                return self.engine.connect()
            if not _ping_due(idle_since):
                return connection
            try:
                connection.dialect.do_ping(connection.connection.dbapi_connection)
                return connection
            except Exception as exc:  # dropped while idle: let the pool replace it
                connection.invalidate(exc)
                connection.close()

    def give_back(self, connection: Connection) -> None:
        if connection.invalidated or len(self._free) >= self.keep:
            connection.close()
            return
        if connection.in_transaction():  # SQLAlchemy's begun one; nothing on the server
            connection.rollback()
        self._free.append((connection, time.monotonic()))

    def close(self) -> None:
        while self._free:
            self._free.pop()[0].close()

    def __len__(self) -> int:
        """How many are kept open."""
        return len(self._free)


def init_db(app: Flask) -> None:
    """Bind the database to ``app``; SQLite gets WAL, foreign keys and a busy timeout;
    PostgreSQL connections idle for a while are pinged before use."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # Statement parameters (password hashes, token digests) stay out of logged errors.
    options.setdefault("hide_parameters", True)
    postgresql = url.startswith("postgresql")
    if postgresql:
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "savepoint", _begin_before_savepoint)
        reader = engine
        if postgresql:
            # Reads in autocommit send no BEGIN and no ROLLBACK. They get a pool of their own
            # whose connections stay in autocommit: switching a shared connection to it and
            # back at every checkout cost a dataset read a tenth of its throughput. SQLite's
            # driver begins nothing for a read, so its reads keep the plain engine.
            reader = create_engine(engine.url, **{**options, "isolation_level": "AUTOCOMMIT"})
            if not options.get("pool_pre_ping"):
                for pinged in (engine, reader):
                    event.listen(pinged.pool, "checkin", _mark_idle)
                    event.listen(pinged.pool, "checkout", _pinger(pinged.dialect))
        app.extensions[_READERS] = _Readers(reader)
    app.teardown_appcontext(_close_reader)


def engines(app: Flask) -> set[Engine]:
    """Every engine of ``app``: its session's, and the one of its reads on PostgreSQL."""
    with app.app_context():
        return {*db.engines.values(), app.extensions[_READERS].engine}


def at_dispose(app: Flask, callback: Callable[[], None]) -> None:
    """Call ``callback()`` when :func:`dispose_engines` ends ``app``, before its connections
    go: to write what a plugin keeps to write later (the search log). It must not raise."""
    app.extensions.setdefault(_AT_DISPOSE, []).append(callback)


def dispose_engines(app: Flask) -> None:
    """Give back every pooled connection of ``app``, its session's and its reads', once what
    :func:`at_dispose` was given is called."""
    for callback in app.extensions.get(_AT_DISPOSE, ()):
        callback()
    with app.app_context():
        db.session.remove()
    app.extensions[_READERS].close()
    for engine in engines(app):
        engine.dispose()


def read_connection() -> Connection:
    """The connection of this request (or app context) for reads that need no transaction.

    It is taken at its first use and given back when the request ends, to be kept open for
    the next requests (see :class:`_Readers`). Each statement
    sees what was committed when it began, as in PostgreSQL's default isolation, and no
    BEGIN or ROLLBACK is sent for it. It does not see what ``db.session`` has not committed:
    read what a request writes through the session.
    """
    connection = g.get(_READER)
    if connection is None:
        connection = current_app.extensions[_READERS].take()
        setattr(g, _READER, connection)
    return connection


def _close_reader(_error: BaseException | None = None) -> None:
    connection = g.pop(_READER, None)
    if connection is not None:
        current_app.extensions[_READERS].give_back(connection)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # bound parameters in order, for positional drivers
    inline: tuple[str, ...]  # the SQL split around inline numbers: text, name, text, ...
    # On psycopg, the libpq statement of a text (fairhub.prepared.statement_for), else None.
    libpq: Callable[[str], Any] | None
    defaults: dict[str, Any]
    binders: tuple[tuple[str, Callable], ...]
    converters: tuple[Callable | None, ...]  # one per column (None: as the driver gives it)


class DirectSelect:
    """A Core SELECT for the statements every request runs (checking a token, reading a
    dataset), run on the driver's cursor of :func:`read_connection`.

    It is compiled once per dialect, and its rows are converted by the types of its columns,
    as SQLAlchemy's execution would do, without the rest of that execution's bookkeeping,
    which costs more than such statements themselves. On PostgreSQL (psycopg) it runs straight
    through libpq, prepared from its second run on a connection (see :mod:`fairhub.prepared`).

    Rows are named tuples of the selected columns' keys. IN lists are refused (SQLAlchemy
    rewrites them at every execution): write equalities or bind one value. NULL is read as
    None without calling a type's conversion, so a column whose type reads NULL as something
    else is refused too.

    A parameter bound with ``literal_execute=True`` takes a whole number, written into the
    statement as SQLAlchemy would write it: for a LIMIT and OFFSET, whose values PostgreSQL
    must know to plan a statement once and reuse the plan (bound, it plans every execution
    afresh). Each set of such numbers is its own statement: the ones run often (the first
    pages) keep their plans, and a connection deallocates the ones it has not run lately.
    """

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self.row = namedtuple("Row", [column.key for column in statement.selected_columns])
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def all(self, params: dict | None = None) -> list:
        """Every row the statement selects with ``params``."""
        connection = read_connection()
        compiled = self._compiled.get(connection.dialect) or self._compile(connection.dialect)
        values = {**compiled.defaults, **(params or {})}
        sql = compiled.sql if not compiled.inline else _inline(compiled.inline, values)
        for name, bind in compiled.binders:
            values[name] = bind(values[name])
        dbapi_connection = connection.connection.dbapi_connection
        cursor = None
        try:
            if compiled.libpq is not None:
                rows = compiled.libpq(sql).fetch(connection.connection, values)
            else:
                cursor = dbapi_connection.cursor()
                cursor.execute(sql, values if compiled.names is None else tuple(
                    values[name] for name in compiled.names))
                rows = cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as error:
            if connection.dialect.is_disconnect(error, dbapi_connection, cursor):
                connection.invalidate(error)
            raise
        finally:
            if cursor is not None:
                cursor.close()
        make = self.row._make
        if not compiled.converters:
            return [make(row) for row in rows]
        converters = compiled.converters
        return [make([value if convert is None or value is None else convert(value)
                      for convert, value in zip(converters, row)]) for row in rows]

    def first(self, params: dict | None = None) -> Any:
        """The first row the statement selects with ``params``, or None."""
        rows = self.all(params)
        return rows[0] if rows else None

    def _compile(self, dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.post_compile_params:
            raise ValueError("A DirectSelect cannot bind a list (IN); write equalities.")
        inline = frozenset(bind.key for bind in compiled.literal_execute_params)
        binders = []
        for name, bind in compiled.binds.items():
            if name in inline:
                continue
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders.append((name, process))
        converters = []
        for column in self.statement.selected_columns:
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None and process(None) is not None:
                raise ValueError(f"{column.key}: a DirectSelect reads NULL as None, but its "
                                 "type reads NULL as something else.")
            converters.append(process)
        if not any(converters):
            converters = []
        result = _Compiled(
            sql=compiled.string,
            names=tuple(name for name in compiled.positiontup if name not in inline)
            if dialect.positional else None,
            inline=tuple(_POSTCOMPILED.split(compiled.string)) if inline else (),
            libpq=_libpq(dialect),
            defaults=dict(compiled.params), binders=tuple(binders),
            converters=tuple(converters))
        self._compiled[dialect] = result
        return result


def _libpq(dialect) -> Callable[[str], Any] | None:
    if dialect.driver != "psycopg":
        return None
    from fairhub.prepared import statement_for  # psycopg is imported only where it is used

    return statement_for


_POSTCOMPILED = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


def _inline(parts: tuple[str, ...], values: dict) -> str:
    """The statement of ``parts`` (text, name, text, ...) with each name's whole number."""
    pieces = list(parts)
    for index in range(1, len(pieces), 2):
        value = values.pop(pieces[index])
        if type(value) is not int:
            raise TypeError(f"{pieces[index]}: a number written into the statement must be a "
                            f"whole number, not {type(value).__name__}.")
        pieces[index] = str(value)
    return "".join(pieces)


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


def flush_unique(conflict: str) -> None:
    """Flush pending rows; a unique value a concurrent request took since it was checked is a
    409 with the message ``conflict`` (the session is rolled back)."""
    from fairhub.errors import Conflict

    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict) from None
