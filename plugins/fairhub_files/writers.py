"""The writers of a load: each streams converted rows into a staging table that replaces the
old table when the load finishes, all in one transaction (see :mod:`.tables`)."""
from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tables import TableStore

# Column types of each dictionary type: (SQLite, PostgreSQL).
SQL_TYPES = {
    "boolean": ("BOOLEAN", "boolean"),
    "date": ("DATE", "date"),
    "datetime": ("DATETIME", "timestamp without time zone"),
    "decimal": ("REAL", "numeric"),
    "integer": ("INTEGER", "bigint"),
    "text": ("TEXT", "text"),
    "time": ("TIME", "time without time zone"),
}
STAGING = "$load_"  # no table name made by table_name() starts with "$"


def quote_name(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    if not name or "\x00" in name:
        raise ValueError(f"{name!r} cannot name a table or a column.")
    return '"' + name.replace('"', '""') + '"'


def sqlite_writer_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA cache_size=-65536")  # 64 MiB: big loads spill less


class SqliteLoad:
    """One load into the SQLite file: a single write transaction, begun at once."""

    def __init__(self, store: TableStore, table: str, types: dict[str, str],
                 columns: list[str]) -> None:
        self.store, self.table, self.types, self.columns = store, table, types, columns
        self.staging = STAGING + secrets.token_hex(8)
        self.widened: dict[str, str] = {}
        self.raw = None

    def _begin(self):
        self.raw = self.store._writer.raw_connection()
        self.db = self.raw.driver_connection
        self.db.execute("BEGIN IMMEDIATE")

    def start(self) -> None:
        self._begin()
        self.db.execute(self._create(self.staging, self.types))
        marks = ", ".join("?" * len(self.columns))
        names = ", ".join(map(quote_name, self.columns))
        self.insert = f"INSERT INTO {quote_name(self.staging)} ({names}) VALUES ({marks})"

    @staticmethod
    def _create(table: str, types: dict[str, str]) -> str:
        columns = ", ".join(f"{quote_name(name)} {SQL_TYPES[kind][0]}"
                            for name, kind in types.items())
        return f"CREATE TABLE {quote_name(table)} ({columns})"

    def write(self, batch: list, widenings: list[tuple[str, str]]) -> None:
        # SQLite's column types hold wider values already; finish() declares the new types.
        self.widened.update(widenings)
        if batch:
            self.db.executemany(self.insert, batch)

    def finish(self) -> None:
        staging = self.staging
        if self.widened:
            staging = self._retyped()
        self.db.execute(f"DROP TABLE IF EXISTS {quote_name(self.table)}")
        self.db.execute(f"ALTER TABLE {quote_name(staging)} RENAME TO {quote_name(self.table)}")
        self.db.execute("COMMIT")
        self.raw.close()

    def _retyped(self) -> str:
        """Copy the staging table into one declaring the widened types; return its name."""
        retyped = self.staging + "w"
        self.db.execute(self._create(retyped, {**self.types, **self.widened}))
        values = []
        for name in self.types:
            column = quote_name(name)
            if self.widened.get(name) == "datetime":  # dates so far gain a midnight
                column = f"CASE WHEN length({column}) = 10 THEN {column} || ' 00:00:00' " \
                         f"ELSE {column} END"
            values.append(column)
        self.db.execute(f"INSERT INTO {quote_name(retyped)} SELECT {', '.join(values)} "
                        f"FROM {quote_name(self.staging)}")
        self.db.execute(f"DROP TABLE {quote_name(self.staging)}")
        return retyped

    def abort(self) -> None:
        if self.raw is None:
            return
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        finally:
            self.raw.close()

    def drop(self) -> None:
        self._begin()
        self.db.execute(f"DROP TABLE IF EXISTS {quote_name(self.table)}")
        self.db.execute("COMMIT")
        self.raw.close()


class PostgresLoad:
    """One load into the PostgreSQL schema: COPY into a staging table, one transaction.

    Loads of the same table take turns on a transaction-level advisory lock. A widening ends
    the COPY, changes the column's type (rewriting the rows so far, once) and copies on.
    """

    def __init__(self, store: TableStore, table: str, types: dict[str, str],
                 columns: list[str]) -> None:
        self.store, self.table, self.types, self.columns = store, table, types, columns
        self.staging = store.quoted(STAGING + secrets.token_hex(8))
        self.raw = None
        self._copying = None
        self._copy = None

    def _begin(self) -> None:
        self.raw = self.store._writer.raw_connection()
        self.db = self.raw.driver_connection
        self.store._ensure_schema(self.db)
        self.cursor = self.db.cursor()
        key = hashlib.sha256(f"{self.store.schema}.{self.table}".encode()).digest()[:8]
        self.cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                            (int.from_bytes(key, "big", signed=True),))

    def start(self) -> None:
        self._begin()
        columns = ", ".join(f"{quote_name(name)} {SQL_TYPES[kind][1]}"
                            for name, kind in self.types.items())
        self.cursor.execute(f"CREATE TABLE {self.staging} ({columns})")

    def write(self, batch: list, widenings: list[tuple[str, str]]) -> None:
        if widenings:
            self._end_copy()
            for name, kind in widenings:
                self.cursor.execute(
                    f"ALTER TABLE {self.staging} ALTER COLUMN {quote_name(name)} TYPE "
                    f"{SQL_TYPES[kind][1]} USING {quote_name(name)}::{SQL_TYPES[kind][1]}")
        if not batch:
            return
        if self._copy is None:
            names = ", ".join(map(quote_name, self.columns))
            self._copying = self.cursor.copy(f"COPY {self.staging} ({names}) FROM STDIN")
            self._copy = self._copying.__enter__()
        write_row = self._copy.write_row
        for row in batch:
            write_row(row)

    def _end_copy(self, error: BaseException | None = None) -> None:
        copying, self._copying, self._copy = self._copying, None, None
        if copying is not None:
            copying.__exit__(type(error) if error else None, error, None)

    def finish(self) -> None:
        self._end_copy()
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.store.quoted(self.table)}")
        self.cursor.execute(f"ALTER TABLE {self.staging} RENAME TO {quote_name(self.table)}")
        self.db.commit()
        self.raw.close()

    def abort(self) -> None:
        if self.raw is None:
            return
        try:
            try:
                self._end_copy(RuntimeError("The load was abandoned."))
            except Exception:
                pass  # the COPY's own error, raised again: the rollback below ends it
            self.db.rollback()
        except Exception:
            pass  # the connection is broken: closing it ends the transaction
        finally:
            self.raw.close()

    def drop(self) -> None:
        self._begin()
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.store.quoted(self.table)}")
        self.db.commit()
        self.raw.close()
