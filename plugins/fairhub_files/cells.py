"""The cells of a table's CSV file converted to the values stored.

Each dictionary type has a converter (:data:`CONVERTERS`; PostgreSQL takes decimals and
date-times in its own spelling). A load converts a row with :class:`Cells`: one converter per
column, chosen once by the column's type. The rules the converters follow are the API
contract in :mod:`.tables`.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from operator import call
from typing import Any, Callable

FIELD_TYPES = ("boolean", "date", "datetime", "decimal", "integer", "text", "time")
WIDER = {"integer": "decimal", "date": "datetime"}
MAX_SHOWN_VALUE = 100
_I64 = 1 << 63


def shown(value: str) -> str | None:
    """``value`` as an error message shows it: cut after :data:`MAX_SHOWN_VALUE` characters."""
    return value if len(value) <= MAX_SHOWN_VALUE else value[:MAX_SHOWN_VALUE] + "..."


# Converters: each takes a cell and returns the value to store (None for an empty cell), or
# raises.

def _integer(value: str) -> int | None:
    if not value:
        return None
    number = int(value)
    if not -_I64 <= number < _I64 or "_" in value or not value.isascii():
        raise ValueError(value)
    return number


def _float(value: str) -> float | None:
    if not value:
        return None
    number = float(value)
    if number - number != 0 or "_" in value or not value.isascii():  # NaN, infinity
        raise ValueError(value)
    return number


def _numeric(value: str) -> str | None:
    """A decimal for PostgreSQL, passed as written so that ``numeric`` keeps every digit."""
    if not value:
        return None
    number = float(value)
    if number - number != 0 or "_" in value or not value.isascii():
        raise ValueError(value)
    return value


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_BOOLEAN_SPELLINGS = {**_BOOLEANS, "TRUE": True, "FALSE": False}


def _boolean(value: str) -> bool | None:
    if not value:
        return None
    found = _BOOLEAN_SPELLINGS.get(value)
    return found if found is not None else _BOOLEANS[value.lower()]


def _date(value: str) -> str | None:
    if not value:
        return None
    date.fromisoformat(value)
    if len(value) != 10 or value[5] == "W":  # only YYYY-MM-DD, not other ISO 8601 forms
        raise ValueError(value)
    return value


def _datetime(value: str) -> str | None:
    """A date-time as ``YYYY-MM-DD HH:MM:SS[.ffffff]``, in UTC when it had an offset."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if value[7] != "-" or value[4] != "-":  # only YYYY-MM-DD dates, as in date columns
        raise ValueError(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    elif len(value) == 19 and value[13] == ":":
        return value.replace("T", " ")  # the common form, made canonical without isoformat()
    return moment.isoformat(sep=" ")


def _timestamp(value: str) -> str | None:
    """A date-time for PostgreSQL, which reads ``YYYY-MM-DD[T ]HH:MM:SS`` as it is."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if len(value) == 19 and value[13] == ":" and value[7] == value[4] == "-" \
            and moment.tzinfo is None:
        return value
    return _datetime(value)


def _time(value: str) -> str | None:
    """A time of day as ``HH:MM:SS[.ffffff]``."""
    if not value:
        return None
    moment = time.fromisoformat(value)
    if moment.tzinfo is not None:
        raise ValueError(value)
    if len(value) == 8 and value[2] == ":":
        return value
    return value + ":00" if len(value) == 5 and value[2] == ":" else moment.isoformat()


def _text(value: str) -> str | None:
    if "\x00" in value:
        raise ValueError(value)
    return value or None


CONVERTERS = {"boolean": _boolean, "date": _date, "datetime": _datetime, "decimal": _float,
              "integer": _integer, "text": _text, "time": _time}
POSTGRES_CONVERTERS = {**CONVERTERS, "decimal": _numeric, "datetime": _timestamp}
EXPECTED = {
    "boolean": "a boolean (true, false, 1 or 0)",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601, such as 2024-03-02T14:30:00)",
    "decimal": "a number",
    "integer": "an integer",
    "time": "a time of day (HH:MM or HH:MM:SS, without a time zone)",
}


class Misfit(ValueError):
    """A row that cannot be loaded: ``problem`` says why, ``column`` and ``value`` name the
    cell (None when the row as a whole is wrong). The load reports it with the row's line."""

    def __init__(self, problem: str, column: str | None = None,
                 value: str | None = None) -> None:
        super().__init__(problem)
        self.problem, self.column, self.value = problem, column, value


class Cells:
    """Converts the rows of one file, widening columns when a value asks for it.

    :attr:`converters` holds one converter per column of the file, chosen by the column's
    type; a column that widens gets the wider type's converter in its place.
    """

    def __init__(self, columns: list[str], kinds: list[str], backend: str) -> None:
        self.names, self.kinds = columns, list(kinds)
        self.by_type = POSTGRES_CONVERTERS if backend == "postgresql" else CONVERTERS
        self.converters: list[Callable[[str], Any]] = [self.by_type[kind] for kind in kinds]
        self.widened: dict[str, str] = {}
        self.new_widenings: list[tuple[str, str]] = []

    def row(self, record: list[str]) -> list:
        """The values of ``record``: each column's converter called on its cell. A row out of
        the common way (ragged, spaces around a value, a widening, a misfit) raises: then
        :meth:`slowly` converts it."""
        if len(record) != len(self.converters):
            raise ValueError("a ragged row")
        return list(map(call, self.converters, record))

    def slowly(self, record: list[str]) -> list:
        """Convert a row that :meth:`row` could not; raise :class:`Misfit` if it does not fit."""
        if len(record) != len(self.names):
            raise Misfit(f"has {len(record)} cells; the header has {len(self.names)}.")
        return [self._cell(index, cell) for index, cell in enumerate(record)]

    def _cell(self, index: int, cell: str) -> Any:
        if not cell:
            return None
        kind = self.kinds[index]
        stripped = cell if kind == "text" else cell.strip()
        if not stripped:
            return None
        try:
            return self.converters[index](stripped)
        except Exception:
            pass
        wider = WIDER.get(kind)
        if wider is not None:
            try:
                value = self.by_type[wider](stripped)
            except Exception:
                pass
            else:
                name = self.names[index]
                self.kinds[index] = wider
                self.converters[index] = self.by_type[wider]
                self.widened[name] = wider
                self.new_widenings.append((name, wider))
                return value
        problem = ("the value holds a NUL character, which a table cannot store." if
                   kind == "text" else f"{shown(cell)!r} is not {EXPECTED[kind]}.")
        raise Misfit(problem, self.names[index], cell)
