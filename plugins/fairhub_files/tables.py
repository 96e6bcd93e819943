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
import secrets
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Callable, TextIO
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from .config import TABLE_SETTINGS
from .lookups import LookupCheck, options_of

FIELD_TYPES = ("boolean", "date", "datetime", "decimal", "integer", "text", "time")
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
WIDER = {"integer": "decimal", "date": "datetime"}
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's limit; longer names would be cut silently
MAX_SHOWN_VALUE = 100
MEMO_SIZE = 1 << 15
SQLITE_BUSY_SECONDS = 300  # another process's load of the same file may hold the write lock
_STAGING = "$load_"  # no table name made by table_name() starts with "$"
_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_I64 = 1 << 63


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
        self.value = _shown(value) if value is not None else None


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


# Converters: each takes a non-empty cell and returns the value to store, or raises.

def _integer(value: str) -> int:
    number = int(value)
    if not -_I64 <= number < _I64 or "_" in value or not value.isascii():
        raise ValueError(value)
    return number


def _float(value: str) -> float:
    number = float(value)
    if number - number != 0 or "_" in value or not value.isascii():  # NaN, infinity
        raise ValueError(value)
    return number


def _numeric(value: str) -> str:
    """A decimal for PostgreSQL, passed as written so that ``numeric`` keeps every digit."""
    number = float(value)
    if number - number != 0 or "_" in value or not value.isascii():
        raise ValueError(value)
    return value


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_BOOLEAN_SPELLINGS = {**_BOOLEANS, "TRUE": True, "FALSE": False}


def _boolean(value: str) -> bool:
    found = _BOOLEAN_SPELLINGS.get(value)
    return found if found is not None else _BOOLEANS[value.lower()]


def _date(value: str) -> str:
    date.fromisoformat(value)
    if len(value) != 10 or value[5] == "W":  # only YYYY-MM-DD, not other ISO 8601 forms
        raise ValueError(value)
    return value


def _datetime(value: str) -> str:
    """A date-time as ``YYYY-MM-DD HH:MM:SS[.ffffff]``, in UTC when it had an offset."""
    moment = datetime.fromisoformat(value)
    if value[7] != "-" or value[4] != "-":  # only YYYY-MM-DD dates, as in date columns
        raise ValueError(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    elif len(value) == 19 and value[13] == ":":
        return value.replace("T", " ")  # the common form, made canonical without isoformat()
    return moment.isoformat(sep=" ")


def _timestamp(value: str) -> str:
    """A date-time for PostgreSQL, which reads ``YYYY-MM-DD[T ]HH:MM:SS`` as it is."""
    moment = datetime.fromisoformat(value)
    if len(value) == 19 and value[13] == ":" and value[7] == value[4] == "-" \
            and moment.tzinfo is None:
        return value
    return _datetime(value)


def _time(value: str) -> str:
    """A time of day as ``HH:MM:SS[.ffffff]``."""
    moment = time.fromisoformat(value)
    if moment.tzinfo is not None:
        raise ValueError(value)
    if len(value) == 8 and value[2] == ":":
        return value
    return value + ":00" if len(value) == 5 and value[2] == ":" else moment.isoformat()


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError(value)
    return value


CONVERTERS = {"boolean": _boolean, "date": _date, "datetime": _datetime, "decimal": _float,
              "integer": _integer, "text": _text, "time": _time}
EXPECTED = {
    "boolean": "a boolean (true, false, 1 or 0)",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601, such as 2024-03-02T14:30:00)",
    "decimal": "a number",
    "integer": "an integer",
    "time": "a time of day (HH:MM or HH:MM:SS, without a time zone)",
}


class _Memo(dict):
    """A column's converter that remembers its answers: a value seen before costs one dict
    lookup in C. Once it holds ``MEMO_SIZE`` values, ``on_full`` swaps it for the plain
    converter, as a column of mostly distinct values gains nothing from it."""

    __slots__ = ("convert", "on_full")

    def __init__(self, convert: Callable[[str], Any], on_full: Callable[[], None]) -> None:
        super().__init__()
        self.convert, self.on_full = convert, on_full

    def __missing__(self, value: str) -> Any:
        result = self.convert(value)
        if len(self) < MEMO_SIZE:
            self[value] = result
        else:
            self.on_full()
        return result


def _shown(value: str) -> str:
    return value if len(value) <= MAX_SHOWN_VALUE else value[:MAX_SHOWN_VALUE] + "..."


def quote_name(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    if not name or "\x00" in name:
        raise ValueError(f"{name!r} cannot name a table or a column.")
    return '"' + name.replace('"', '""') + '"'


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


def _listed(names: list[str], most: int = 10) -> str:
    shown = ", ".join(repr(name) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _match_header(header: list[str], types: dict[str, str],
                  line: int = 1) -> tuple[list[str], list[str]]:
    """The field each header cell names, in file order, and the fields the file lacks."""
    folded = {name.lower(): name for name in types}
    columns: list[str] = []
    unknown: list[str] = []
    for position, cell in enumerate(header, 1):
        given = cell.strip()
        if not given:
            raise LoadFailed(f"Column {position} of the header has no name.", line=line)
        name = given if given in types else folded.get(given.lower())
        if name is None:
            unknown.append(given)
        elif name in columns:
            raise LoadFailed(f"The header names column {name!r} twice.", column=name,
                             line=line)
        else:
            columns.append(name)
    if unknown:
        raise LoadFailed(
            f"The dictionary does not define the column{'s' if len(unknown) > 1 else ''} "
            f"{_listed(unknown)}; its fields are {_listed(list(types), 50)}.",
            column=unknown[0], line=line)
    return columns, [name for name in types if name not in columns]


class _Cells:
    """Converts the rows of one file, widening columns when a value asks for it.

    :attr:`row` converts a whole record: made once per load, it unpacks the record and calls
    each column's converter by name, a quarter cheaper than zipping converters and cells. The
    converters are its globals, so that a column that widens (or a memo that fills up) gets
    another one. A record it cannot convert goes to :meth:`slowly`.
    """

    def __init__(self, columns: list[str], types: dict[str, str], backend: str,
                 path: Path, lookups: list[LookupCheck] | None = None,
                 strict_lookups: bool = False) -> None:
        self.names, self.path = columns, path
        self.lookups, self.strict_lookups = lookups or [], strict_lookups
        self.kinds = [types[name] for name in columns]
        self.converters = {**CONVERTERS, "decimal": _numeric, "datetime": _timestamp} \
            if backend == "postgresql" else CONVERTERS
        self.convert: dict[str, Callable[[str], Any]] = {}  # f0, f1...: the row's globals
        for index, kind in enumerate(self.kinds):
            self._use(index, kind)
        cells = "".join(f"c{index}, " for index in range(len(columns)))
        values = ", ".join(f"f{index}(c{index}) if c{index} else None"
                           for index in range(len(columns)))
        # Only generated names go into the source, never a name or a value from the upload.
        exec(f"def row(record):\n    {cells}= record\n    return [{values}]\n", self.convert)
        self.row: Callable[[list[str]], list] = self.convert.pop("row")
        self.widened: dict[str, str] = {}
        self.new_widenings: list[tuple[str, str]] = []

    def _use(self, index: int, kind: str) -> None:
        """Convert column ``index`` as ``kind`` from now on, remembering repeated values."""
        plain = self.converters[kind]
        if kind == "text":
            self.convert[f"f{index}"] = plain
            return

        def unmemo() -> None:
            self.convert[f"f{index}"] = plain

        self.convert[f"f{index}"] = _Memo(plain, unmemo).__getitem__

    def slowly(self, record: list[str], row: int) -> list:
        """Convert a row the fast path could not: spaces, a widening, or a misfit to report."""
        if len(record) != len(self.names):
            raise self._failure(row, None, None, f"has {len(record)} cells; the header has "
                                                 f"{len(self.names)}.")
        return [self._cell(index, cell, row) for index, cell in enumerate(record)]

    def _cell(self, index: int, cell: str, row: int) -> Any:
        if not cell:
            return None
        kind = self.kinds[index]
        stripped = cell if kind == "text" else cell.strip()
        if not stripped:
            return None
        try:
            return self.convert[f"f{index}"](stripped)
        except Exception:
            pass
        wider = WIDER.get(kind)
        if wider is not None:
            try:
                value = self.converters[wider](stripped)
            except Exception:
                pass
            else:
                name = self.names[index]
                self.kinds[index] = wider
                self._use(index, wider)
                self.widened[name] = wider
                self.new_widenings.append((name, wider))
                return value
        problem = ("the value holds a NUL character, which a table cannot store." if
                   kind == "text" else f"{_shown(cell)!r} is not {EXPECTED[kind]}.")
        raise self._failure(row, self.names[index], cell, problem)

    def check_lookups(self, batch: list[list], first_row: int) -> None:
        """Note the cells of ``batch`` (data rows from ``first_row``) outside their lookups, or
        fail at the first one when lookups are strict."""
        first: tuple[int, LookupCheck] | None = None
        for check in self.lookups:
            bad = check.outside(batch)
            if not bad:
                continue
            if not self.strict_lookups:
                check.note(batch, bad, first_row)
                continue
            position = check.first(batch, bad)
            if first is None or position < first[0]:
                first = (position, check)
        if first is not None:
            row, check = first_row + first[0], first[1]
            line, record = _locate(self.path, {row})[0][row]
            value = record[check.index]
            raise self._failure(row, check.column, value, (
                f"{_shown(value)!r} is not an option of the lookup {check.lookup!r} "
                f"({_listed(check.names)})."), line)

    def lookup_report(self) -> dict[str, dict]:
        """What :meth:`check_lookups` noted, per column."""
        noted = [check for check in self.lookups if check.count]
        if not noted:
            return {}
        located = _locate(self.path, set().union(*(check.rows() for check in noted)))[0]
        return {check.column: check.report(located, _shown) for check in noted}

    def _failure(self, row: int, column: str | None, value: str | None,
                 problem: str, line: int | None = None) -> LoadFailed:
        line = line or _start_line(self.path, row)
        where = f"Row {row} (line {line} of the file)"
        where += f", column {column!r}: " if column else " "
        return LoadFailed(where + problem, row=row, column=column, value=value, line=line)


def _start_line(path: Path, row: int) -> int:
    """The line of ``path`` where data row ``row`` starts (read again: only for errors)."""
    found, last_line = _locate(path, {row})
    return found[row][0] if row in found else last_line


def _locate(path: Path, rows: set[int]) -> tuple[dict[int, tuple[int, list[str]]], int]:
    """The line of ``path`` where each data row of ``rows`` starts with its cells, and the
    last line read (the file is read again: only for reports and errors)."""
    found: dict[int, tuple[int, list[str]]] = {}
    last = max(rows, default=0)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        seen, previous = -1, 0  # the header is row 0
        for record in reader:
            if record:
                seen += 1
                if seen in rows:
                    found[seen] = (previous + 1, record)
                    if seen == last:
                        break
            previous = reader.line_num
    return found, previous


def _first_bad_line(path: Path) -> int:
    """The first line of ``path`` that is not UTF-8."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


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
            event.listen(self._writer, "connect", _sqlite_writer_pragmas)
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
                line = _first_bad_line(path)
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
        columns, missing = _match_header(header, types, reader.line_num)
        checks = [LookupCheck(index, name, constrained[name][0], types[name],
                              constrained[name][1])
                  for index, name in enumerate(columns) if name in constrained]
        cells = _Cells(columns, types, self.backend, path, checks, strict_lookups)
        writer = (_SqliteLoad if self.backend == "sqlite" else _PostgresLoad)(
            self, table, types, columns)
        try:
            writer.start()
            rows = self._copy(reader, cells, writer, progress)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        return LoadResult(rows=rows, columns=list(types), missing=missing,
                          widened=dict(cells.widened), outside_lookups=cells.lookup_report())

    def _copy(self, reader, cells: _Cells, writer,
              progress: Callable[[int], None] | None) -> int:
        """Convert and write every data row, a batch at a time; return how many there were."""
        convert, size = cells.row, self.batch_rows
        batch: list[list] = []
        done = 0
        try:
            for record in reader:
                try:
                    batch.append(convert(record))
                except Exception:  # also a blank line or a ragged row, which do not unpack
                    if record:
                        batch.append(cells.slowly(record, done + len(batch) + 1))
                if len(batch) >= size:
                    done = self._write(writer, cells, batch, done, progress)
                    batch = []
        except csv.Error as exc:
            raise LoadFailed(f"Line {reader.line_num} of the file is not valid CSV: {exc}.",
                             line=reader.line_num) from None
        return self._write(writer, cells, batch, done, progress) if batch else done

    @staticmethod
    def _write(writer, cells: _Cells, batch: list, done: int,
               progress: Callable[[int], None] | None) -> int:
        if cells.lookups:
            cells.check_lookups(batch, done + 1)
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
            writer = (_SqliteLoad if self.backend == "sqlite" else _PostgresLoad)(
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


_collections = {"loads": 0, "thresholds": gc.get_threshold()}
_collections_lock = threading.Lock()


@contextmanager
def _fewer_collections():
    """Run Python's cyclic garbage collector rarely while loads run (process-wide, restored
    when the last one ends): a load allocates a list per row, none in a cycle, and the
    default thresholds rescan them over and over, a sixth of a load's time."""
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


def _sqlite_writer_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA cache_size=-65536")  # 64 MiB: big loads spill less


class _SqliteLoad:
    """One load into the SQLite file: a single write transaction, begun at once."""

    def __init__(self, store: TableStore, table: str, types: dict[str, str],
                 columns: list[str]) -> None:
        self.store, self.table, self.types, self.columns = store, table, types, columns
        self.staging = _STAGING + secrets.token_hex(8)
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


class _PostgresLoad:
    """One load into the PostgreSQL schema: COPY into a staging table, one transaction.

    Loads of the same table take turns on a transaction-level advisory lock. A widening ends
    the COPY, changes the column's type (rewriting the rows so far, once) and copies on.
    """

    def __init__(self, store: TableStore, table: str, types: dict[str, str],
                 columns: list[str]) -> None:
        self.store, self.table, self.types, self.columns = store, table, types, columns
        self.staging = store.quoted(_STAGING + secrets.token_hex(8))
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
                self._end_copy(LoadFailed("The load was abandoned."))
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
