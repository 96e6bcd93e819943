"""The database handle shared by the core and every plugin, and its connection settings."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone

from flask import Flask, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
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
