"""Table data: a dictionary's CSV file loaded into a table of its own.

The tables live apart from the application's: in their own SQLite file (default
``<instance>/tables.db``) or in their own PostgreSQL schema (default ``fairhub_tables`` in the
application's database), and the selection API reads them through
:meth:`TableStore.read_only_engine`.

How :meth:`TableStore.load_csv` reads a file (the API contract, section 7):

- The file is UTF-8 (a byte-order mark is skipped) with standard CSV quoting: a quoted cell may
  hold commas, line breaks and doubled quotes. Blank lines are skipped.
- The header row names the columns. A name matches a dictionary field exactly or, failing that,
  ignoring case and surrounding spaces, in any order. Fields the file lacks load as NULL and are
  reported; a column the dictionary does not define, a column without a name, or a name given
  twice fails the load. A file with no header row fails; a header alone loads 0 rows.
- A row with more or fewer cells than the header fails the load.
- Types come from the dictionary. Empty cells are NULL in every column, and so are cells of
  spaces in columns other than text; other cells may have spaces around the value. Booleans
  are ``true``, ``false``, ``1`` and ``0`` in any case (``TRUE``, ``True``...). Integers are
  64-bit, decimals are written with a point and an optional exponent (not NaN or infinity),
  dates are ``YYYY-MM-DD``, date-times are ISO 8601 (one with an offset is stored in UTC,
  without it), times are ``HH:MM[:SS[.ffffff]]`` without a time zone. Text may not hold NUL.
- A value that fits the next wider type widens its column, and :attr:`LoadResult.widened` says
  so: an integer column takes decimals (and integers beyond 64 bits) as ``decimal``, a date
  column takes date-times as ``datetime``. Any other misfit fails the load with
  :class:`LoadFailed` naming the row (data rows count from 1 after the header; the message
  gives the file's line as well), the column and the value.
- A field whose ``constraints`` names a lookup takes that lookup's options (see
  :mod:`.lookups`): other values are reported in :attr:`LoadResult.outside_lookups`, or fail
  the load when ``strict_lookups`` is on.

A load streams the file in batches, converting each cell with a function chosen once per
column, into a staging table that replaces the old table in the same transaction: a failed
load leaves the previous table exactly as it was, and readers see the old table or the new one.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import re
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from .cells import FIELD_TYPES, Cells, Misfit, shown
from .config import TABLE_SETTINGS
from .csvfile import first_bad_line, listed, locate, match_header, start_line
from .lookups import LookupCheck, options_of
from .writers import SQL_TYPES, PostgresLoad, SqliteLoad, quote_name, sqlite_writer_pragmas

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's limit; longer names would be cut silently
SQLITE_BUSY_SECONDS = 300  # another process's load of the same file may hold the write lock
_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class LoadResult:
    """What a load did: the rows loaded, the table's columns (the dictionary's fields, in its
    order), the fields the file lacked (loaded as NULL), the columns widened, with their
    new types, and the columns holding values outside their lookup (see
    :meth:`.lookups.LookupCheck.report`)."""

    rows: int
    columns: list[str]
    missing: list[str] = field(default_factory=list)
    widened: dict[str, str] = field(default_factory=dict)
    outside_lookups: dict[str, dict] = field(default_factory=dict)


class LoadFailed(Exception):
    """A file that cannot be loaded as it is; the previous table is unchanged.

    ``row`` is the data row (1 is the first row after the header), ``line`` the file's line
    where that row starts; either is None when the problem is not in one row.
    """

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 value: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.row, self.column, self.line = message, row, column, line
        self.value = shown(value) if value is not None else None


def table_name(dictionary_code: str) -> str:
    """The name of a dictionary's table: the code itself when it is lower case and short.

    Other codes (with capitals, longer than PostgreSQL's 63 bytes, or starting with SQLite's
    reserved ``sqlite_``) become their lower-cased start (after a ``_`` for ``sqlite_``),
    ``$`` and 16 hex digits of their SHA-256, so codes differing only in case stay apart on
    SQLite, whose names ignore case. A code never contains ``$``: the two forms never meet.
    """
    if not _CODE.match(dictionary_code):
        raise ValueError(f"{dictionary_code!r} is not a dictionary code.")
    lower = dictionary_code.lower()
    reserved = lower.startswith("sqlite_")
    if dictionary_code == lower and len(lower) <= MAX_IDENTIFIER_BYTES and not reserved:
        return dictionary_code
    digest = hashlib.sha256(dictionary_code.encode()).hexdigest()[:16]
    start = ("_" + lower if reserved else lower)[:MAX_IDENTIFIER_BYTES - 17]
    return f"{start}${digest}"


def _field_types(fields: list[dict]) -> dict[str, str]:
    """The dictionary's fields as ``{name: type}``, in order, checked."""
    types: dict[str, str] = {}
    folded: set[str] = set()
    for item in fields:
        name, kind = item["name"], item["type"]
        if kind not in FIELD_TYPES:
            raise ValueError(f"Field {name!r} has type {kind!r}, not one of {FIELD_TYPES}.")
        if len(name.encode()) > MAX_IDENTIFIER_BYTES or name.lower() in folded:
            raise ValueError(f"Field {name!r} is too long or given twice.")
        quote_name(name)
        types[name] = kind
        folded.add(name.lower())
    if not types:
        raise ValueError("A table needs at least one field.")
    return types


def _constrained(fields: list[dict], types: dict[str, str],
                 lookups: dict) -> dict[str, tuple[str, list]]:
    """``{field: (lookup, options)}`` for the fields whose constraints name a lookup."""
    found = {}
    for item in fields:
        lookup = item.get("constraints")
        if lookup is not None and lookup in lookups and types[item["name"]] != "boolean":
            found[item["name"]] = (lookup, options_of(lookups[lookup]))
    return found


class TableStore:
    """The loaded tables of one app: load, replace and drop them, and read them read-only."""

    EXTENSION = "fairhub_files.tables"

    def __init__(self, url: str, schema: str = "fairhub_tables", read_url: str | None = None,
                 batch_rows: int = 20000) -> None:
        parsed = make_url(_with_psycopg(url))
        self.backend = parsed.get_backend_name()
        if self.backend not in ("sqlite", "postgresql"):
            raise ValueError(f"Tables are kept on SQLite or PostgreSQL, not {self.backend!r}.")
        self.url = parsed
        self.schema = schema if self.backend == "postgresql" else None
        self.read_url = make_url(_with_psycopg(read_url)) if read_url else parsed
        self.batch_rows = max(int(batch_rows), 1)
        self._reader: Engine | None = None
        self._reader_made = threading.Lock()
        self._schema_ready = False
        # Loads into one SQLite file take turns; on PostgreSQL each table has its own lock.
        self._sqlite_turn = threading.Lock() if self.backend == "sqlite" else None
        if self.backend == "sqlite":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._writer = create_engine(parsed, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                         connect_args={"timeout": SQLITE_BUSY_SECONDS})
            event.listen(self._writer, "connect", sqlite_writer_pragmas)
        else:
            self._writer = create_engine(parsed, poolclass=NullPool,
                                         connect_args={"connect_timeout": 10})

    @classmethod
    def from_app(cls, app) -> TableStore:
        """The app's store (made once), configured by the ``FILES_TABLES_*`` settings."""
        store = app.extensions.get(cls.EXTENSION)
        if store is None:
            setting = {s.name: app.config.get(s.name, s.default) for s in TABLE_SETTINGS}
            url = setting["FILES_TABLES_URL"]
            if not url:
                url = app.config["SQLALCHEMY_DATABASE_URI"]
                if not url.startswith("postgresql"):
                    url = "sqlite:///" + str(Path(app.instance_path) / "tables.db")
            store = app.extensions.setdefault(cls.EXTENSION, cls(
                url, setting["FILES_TABLES_SCHEMA"], setting["FILES_TABLES_READ_URL"],
                setting["FILES_TABLES_BATCH_ROWS"]))
        return store

    def quoted(self, table: str) -> str:
        """The table's name for SQL: quoted, and on PostgreSQL qualified by the schema."""
        return f"{quote_name(self.schema)}.{quote_name(table)}" if self.schema \
            else quote_name(table)

    def load_csv(self, table: str, fields: list[dict], path: str | Path,
                 progress: Callable[[int], None] | None = None, lookups: dict | None = None,
                 strict_lookups: bool = False) -> LoadResult:
        """Replace ``table`` with the CSV file at ``path``, typed by the dictionary ``fields``.

        A field whose ``constraints`` names one of the dictionary's ``lookups`` is checked
        against it: cells outside it are reported, or with ``strict_lookups`` fail the load.
        ``progress(rows)`` is called after each batch written. Raises :class:`LoadFailed` when
        the file cannot be loaded as it is; the table is then as it was before.
        """
        _check_table(table)
        types = _field_types(fields)
        path = Path(path)
        constrained = _constrained(fields, types, lookups or {})
        with self._sqlite_turn or nullcontext(), _fewer_collections(), \
                open(path, encoding="utf-8-sig", newline="") as handle:
            try:
                return self._load(table, types, handle, path, progress, constrained,
                                  strict_lookups)
            except UnicodeDecodeError:
                line = first_bad_line(path)
                raise LoadFailed(f"The file is not UTF-8 text: line {line} holds bytes that "
                                 "UTF-8 does not allow. Save it as UTF-8 and upload it again.",
                                 line=line) from None

    def _load(self, table: str, types: dict[str, str], handle: TextIO, path: Path,
              progress: Callable[[int], None] | None, constrained: dict[str, tuple[str, list]],
              strict_lookups: bool) -> LoadResult:
        reader = csv.reader(handle, strict=True)
        try:
            header = next((record for record in reader if record), None)
        except csv.Error as exc:
            raise LoadFailed(f"Line {reader.line_num} of the file is not valid CSV: {exc}.",
                             line=reader.line_num) from None
        if header is None:
            raise LoadFailed("The file is empty: a CSV file needs a header row naming its "
                             "columns.")
        try:
            columns, missing = match_header(header, types)
        except Misfit as misfit:
            raise LoadFailed(misfit.problem, column=misfit.column,
                             line=reader.line_num) from None
        cells = Cells(columns, [types[name] for name in columns], self.backend)
        lookups = _Lookups([LookupCheck(index, name, constrained[name][0], types[name],
                                        constrained[name][1])
                            for index, name in enumerate(columns) if name in constrained],
                           strict_lookups, path)
        writer = (SqliteLoad if self.backend == "sqlite" else PostgresLoad)(
            self, table, types, columns)
        try:
            writer.start()
            rows = self._copy(reader, path, cells, lookups, writer, progress)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        return LoadResult(rows=rows, columns=list(types), missing=missing,
                          widened=dict(cells.widened), outside_lookups=lookups.report())

    def _copy(self, reader, path: Path, cells: Cells, lookups: _Lookups, writer,
              progress: Callable[[int], None] | None) -> int:
        """Convert and write every data row, a batch at a time; return how many there were."""
        convert, size = cells.row, self.batch_rows
        batch: list[list] = []
        done = 0
        try:
            for record in reader:
                try:
                    batch.append(convert(record))
                except Exception:  # also a blank line or a ragged row
                    if record:
                        batch.append(cells.slowly(record))
                if len(batch) >= size:
                    done = self._write(writer, cells, lookups, batch, done, progress)
                    batch = []
        except csv.Error as exc:
            raise LoadFailed(f"Line {reader.line_num} of the file is not valid CSV: {exc}.",
                             line=reader.line_num) from None
        except Misfit as misfit:  # from slowly(), before its row joined the batch
            raise _row_failed(path, done + len(batch) + 1, misfit) from None
        return self._write(writer, cells, lookups, batch, done, progress) if batch else done

    @staticmethod
    def _write(writer, cells: Cells, lookups: _Lookups, batch: list, done: int,
               progress: Callable[[int], None] | None) -> int:
        lookups.check(batch, done + 1)
        widenings, cells.new_widenings = cells.new_widenings, []
        writer.write(batch, widenings)
        done += len(batch)
        if progress is not None:
            progress(done)
        return done

    def drop(self, table: str) -> None:
        """Drop ``table`` if it exists."""
        _check_table(table)
        with self._sqlite_turn or nullcontext():
            writer = (SqliteLoad if self.backend == "sqlite" else PostgresLoad)(
                self, table, {}, [])
            try:
                writer.drop()
            except BaseException:
                writer.abort()
                raise

    def columns(self, table: str) -> dict[str, str] | None:
        """The stored table's columns and their dictionary types; None if it does not exist."""
        _check_table(table)
        if self.backend == "sqlite":
            sql = text(f"PRAGMA table_info({quote_name(table)})")
            found = [(row[1], row[2]) for row in self._read(sql, {})]
            kinds = {sqlite: kind for kind, (sqlite, _pg) in SQL_TYPES.items()}
        else:
            sql = text("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = :schema AND table_name = :table "
                       "ORDER BY ordinal_position")
            found = list(self._read(sql, {"schema": self.schema, "table": table}))
            kinds = {pg: kind for kind, (_sqlite, pg) in SQL_TYPES.items()}
        return {name: kinds.get(declared, declared) for name, declared in found} or None

    def _read(self, sql, params: dict) -> list:
        with self.read_only_engine().connect() as connection:
            return connection.execute(sql, params).all()

    def read_only_engine(self) -> Engine:
        """An engine that can only read the tables (SQLite ``mode=ro``; PostgreSQL
        ``default_transaction_read_only``). Made once; :meth:`dispose` releases it."""
        with self._reader_made:
            if self._reader is None:
                self._reader = self._read_only()
            return self._reader

    def _read_only(self) -> Engine:
        if self.backend == "sqlite":
            self._writer.connect().close()  # the file exists, in WAL mode
            path = quote(str(Path(self.read_url.database).resolve()))
            return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                                 connect_args={"timeout": 30})
        given = self.read_url.query.get("options", "")
        options = f"{given} -c default_transaction_read_only=on".strip()
        return create_engine(self.read_url.update_query_dict({"options": options}),
                             pool_pre_ping=True)

    def dispose(self) -> None:
        """Close the read-only engine's pooled connections (loads keep none open)."""
        if self._reader is not None:
            self._reader.dispose()
            self._reader = None
        self._writer.dispose()

    def _ensure_schema(self, connection) -> None:
        """Create the tables' PostgreSQL schema once; a concurrent creator is no error."""
        if self._schema_ready:
            return
        import psycopg

        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_name(self.schema)}")
            connection.commit()
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
            connection.rollback()
        self._schema_ready = True


class _Lookups:
    """The lookup checks of one load's columns: cells outside a lookup are noted, or fail the
    load at the first one when lookups are strict."""

    def __init__(self, checks: list[LookupCheck], strict: bool, path: Path) -> None:
        self.checks, self.strict, self.path = checks, strict, path

    def check(self, batch: list[list], first_row: int) -> None:
        """Note the cells of ``batch`` (data rows from ``first_row``) outside their lookups, or
        fail at the first one when lookups are strict."""
        first: tuple[int, LookupCheck] | None = None
        for check in self.checks:
            bad = check.outside(batch)
            if not bad:
                continue
            if not self.strict:
                check.note(batch, bad, first_row)
                continue
            position = check.first(batch, bad)
            if first is None or position < first[0]:
                first = (position, check)
        if first is not None:
            row, check = first_row + first[0], first[1]
            line, record = locate(self.path, {row})[0][row]
            value = record[check.index]
            raise _row_failed(self.path, row, Misfit(
                f"{shown(value)!r} is not an option of the lookup {check.lookup!r} "
                f"({listed(check.names)}).", check.column, value), line)

    def report(self) -> dict[str, dict]:
        """What :meth:`check` noted, per column."""
        noted = [check for check in self.checks if check.count]
        if not noted:
            return {}
        located = locate(self.path, set().union(*(check.rows() for check in noted)))[0]
        return {check.column: check.report(located, shown) for check in noted}


def _row_failed(path: Path, row: int, misfit: Misfit, line: int | None = None) -> LoadFailed:
    """The failure of data row ``row``, found at its line in the file."""
    line = line or start_line(path, row)
    where = f"Row {row} (line {line} of the file)"
    where += f", column {misfit.column!r}: " if misfit.column else " "
    return LoadFailed(where + misfit.problem, row=row, column=misfit.column, value=misfit.value,
                      line=line)


_collections = {"loads": 0, "thresholds": gc.get_threshold()}
_collections_lock = threading.Lock()


@contextmanager
def _fewer_collections():
    """Run Python's cyclic garbage collector rarely while loads run (process-wide, restored
    when the last one ends). Kept for speed alone: a load allocates a list per row, none in
    a cycle, and the default thresholds rescan a batch's rows over and over; with them a
    load takes 7-16% longer (``bench/bench_load.py``'s file, SQLite and PostgreSQL)."""
    with _collections_lock:
        if _collections["loads"] == 0:
            _collections["thresholds"] = gc.get_threshold()
            gc.set_threshold(50_000, *_collections["thresholds"][1:])
        _collections["loads"] += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections["loads"] -= 1
            if _collections["loads"] == 0:
                gc.set_threshold(*_collections["thresholds"])


def _with_psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _check_table(table: str) -> None:
    quote_name(table)
    if (len(table.encode()) > MAX_IDENTIFIER_BYTES or table.startswith("$")
            or table.lower().startswith("sqlite_")):
        raise ValueError(f"{table!r} cannot name a loaded table; use table_name(code).")
