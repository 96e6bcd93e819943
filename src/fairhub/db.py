"""The database handle shared by the core and every plugin, and its connection settings."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, Select, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
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
    app.extensions[_KEPT] = _Kept({})
    app.teardown_appcontext(_end_read)
    if url.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", _begin_before_savepoint)


_READ = "fairhub_read_connection"
_KEPT = "fairhub.read_connections"
# A read connection used within this many seconds is used again as it is; one idle for
# longer goes back to the pool and the request checks one out afresh, which the pool pings
# on PostgreSQL (``pool_pre_ping``), so a connection that a database restart left dead is
# replaced before a request uses it.
KEEP_IDLE_SECONDS = 1.0


class _Kept(threading.local):
    """A thread's read connection, kept between the requests it serves; ``opened`` holds
    every thread's, to close when the app is disposed of."""

    connection: Connection | None = None
    pid: int = 0
    used: float = 0.0

    def __init__(self, opened: dict) -> None:
        self.opened = opened


def read_connection() -> Connection:
    """This request's connection for reads that need no transaction of the session's:
    statements run on it straight (SQLAlchemy Core), and on PostgreSQL in autocommit, so no
    BEGIN or ROLLBACK travels with them.

    Each thread keeps its connection for its next request while requests keep coming (see
    ``KEEP_IDLE_SECONDS``): checking one out of the pool and giving it back at every request
    cost a dataset read about a quarter of its time (bench/README.md).

    Each statement sees what was committed when it began. It does not see what ``db.session``
    has not committed: read what a request writes through the session.
    """
    connection = g.get(_READ)
    if connection is None:
        connection = _kept_connection(current_app.extensions[_KEPT])
        setattr(g, _READ, connection)
    return connection


def _kept_connection(kept: _Kept) -> Connection:
    now = time.monotonic()
    connection = kept.connection
    if (connection is None or connection.invalidated or kept.pid != os.getpid()
            or now - kept.used > KEEP_IDLE_SECONDS):
        if connection is not None and kept.pid == os.getpid():
            kept.opened.pop(connection, None)
            connection.close()  # back to the pool; a forked worker's copy is not its own
        connection = db.engine.connect()
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        kept.connection, kept.pid = connection, os.getpid()
        kept.opened[connection] = kept.pid
    kept.used = now
    return connection


def _release_kept(app: Flask) -> None:
    kept = app.extensions.get(_KEPT)
    if kept is not None:
        for connection, pid in list(kept.opened.items()):
            if pid == os.getpid():  # a forked worker leaves its parent's alone
                connection.close()
        kept.opened.clear()
        kept.connection = None


def _end_read(error: BaseException | None = None) -> None:
    connection = g.pop(_READ, None)
    if error is not None and connection is not None and not connection.invalidated:
        connection.rollback()  # nothing of a failed request's stays on the kept connection


class CompiledSelect:
    """A Core SELECT that every request runs (reading a dataset, a page of them), run on the
    driver's cursor of :func:`read_connection`: compiled once per dialect, its parameters and
    rows converted by their types as SQLAlchemy's execution would convert them, without the
    rest of that execution's bookkeeping, which costs more than such a statement itself (a
    dataset read spent about a third of its time there; bench/README.md).

    Rows are named tuples of the selected columns' keys. Lists bound for IN are refused
    (SQLAlchemy writes them into the statement at every execution). A driver's error is
    raised as SQLAlchemy raises it, so a lost database answers 503 as everywhere else.
    """

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self.row = namedtuple("Row", [column.key for column in statement.selected_columns])
        self._compiled: dict[str, _Compiled] = {}

    def all(self, params: dict | None = None) -> list:
        """Every row the statement selects with ``params``."""
        connection = read_connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        values = {**compiled.defaults, **(params or {})}
        for name, bind in compiled.binders:
            values[name] = bind(values[name])
        if compiled.positions is not None:
            values = tuple(values[name] for name in compiled.positions)
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
            if invalidated:
                connection.invalidate(error)
            raise DBAPIError.instance(compiled.sql, None, error, dialect.loaded_dbapi.Error,
                                      hide_parameters=True,
                                      connection_invalidated=invalidated,
                                      dialect=dialect) from error
        finally:
            cursor.close()
        make, converters = self.row._make, compiled.converters
        if not any(converters):
            return [make(row) for row in rows]
        return [make([value if convert is None or value is None else convert(value)
                      for convert, value in zip(converters, row)]) for row in rows]

    def _compile(self, dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.post_compile_params:
            raise ValueError("A CompiledSelect cannot bind a list (IN); bind one value.")
        binders = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders.append((name, process))
        made = self._compiled[dialect.name] = _Compiled(
            sql=compiled.string,
            positions=compiled.positiontup,
            defaults={name: bind.value for name, bind in compiled.binds.items()
                      if not bind.required},
            binders=binders,
            converters=[column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in self.statement.selected_columns])
        return made


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: list[str] | None  # for drivers whose parameters are positional (SQLite)
    defaults: dict[str, Any]  # the values bound in the statement itself
    binders: list[tuple[str, Callable[[Any], Any]]]
    converters: list[Callable[[Any], Any] | None]


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
    _release_kept(app)
    with app.app_context():
        db.session.remove()
    for engine in engines(app):
        engine.dispose()


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
