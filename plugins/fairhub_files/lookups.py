"""Checking a loaded column against its field's lookup.

A field whose ``constraints`` names a lookup of its dictionary takes the lookup's options'
names and nothing else. Values are compared as the column types them: an integer option
``1`` (or ``"1"``) matches the cells ``1``, ``01`` and ``+1``; a decimal option ``2.5``
matches ``2.50``; date, date-time and time options match the same moment however the cell
writes it (a date-time with an offset as its time in UTC); text matches exactly, case and
spaces included. NULL (an empty cell) is never outside a lookup.

A :class:`LookupCheck` looks at each batch of converted rows once: the batch's distinct values
in its column, each judged once per load. What it finds is kept within bounds: the count of
cells outside the lookup, the first :data:`MAX_VALUES` distinct values with their count and
first :data:`MAX_ROWS` data rows.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, Callable

MAX_VALUES = 10  # distinct values outside a lookup reported per column
MAX_ROWS = 10  # data rows reported per value
MAX_JUDGED = 1 << 15  # verdicts a column remembers; a column of distinct values gains nothing


def _number(value: Any) -> Decimal:
    # A float becomes the decimal it was read from (0.1, not 0.1000000000000000055...).
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _day(value: str) -> date | datetime:
    # A date column widened to date-times holds both; a date-time is no date of a lookup.
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


# How a converted cell of each field type is compared (converted cells are numbers or text:
# see cells.CONVERTERS; a column widened from integer or date holds the wider values too).
COMPARED: dict[str, Callable[[Any], Any]] = {
    "integer": _number, "decimal": _number, "date": _day, "datetime": _moment,
    "time": time.fromisoformat, "text": str,
}


def option_value(kind: str, name: Any) -> Any:
    """A lookup option's name (a string or a number) as a cell of ``kind`` compares."""
    if kind == "text":
        return str(name)
    if kind in ("integer", "decimal"):
        return _number(name) if isinstance(name, float) else Decimal(str(name).strip())
    return COMPARED[kind](str(name).strip())


def options_of(lookup: Any) -> list:
    """The options of a stored lookup, in either accepted form."""
    options = lookup.get("options") if isinstance(lookup, dict) else lookup
    return [o for o in options or [] if isinstance(o, dict) and "name" in o]


class LookupCheck:
    """Finds the cells of one column that are not options of its lookup, and reports them."""

    def __init__(self, index: int, column: str, lookup: str, kind: str, options: list) -> None:
        self.index, self.column, self.lookup = index, column, lookup
        self.compared = COMPARED[kind]
        self.names = [str(option["name"]) for option in options]
        self.allowed: set = set()
        for option in options:
            try:
                self.allowed.add(option_value(kind, option["name"]))
            except (ValueError, TypeError, ArithmeticError):
                pass  # an option no cell can equal (the datasets plugin checks them)
        self.verdicts: dict[Any, bool] = {}
        self.count = 0
        self.found: dict[Any, list[int]] = {}  # compared value -> its first rows
        self.counts: dict[Any, int] = {}
        self.more = False

    def outside(self, batch: list[list]) -> set:
        """The converted values of this column in ``batch`` that are not options."""
        index, verdicts = self.index, self.verdicts
        values = {row[index] for row in batch}
        values.discard(None)
        bad = set()
        for value in values:
            fits = verdicts.get(value)
            if fits is None:
                fits = self._fits(value)
                if len(verdicts) < MAX_JUDGED:
                    verdicts[value] = fits
            if not fits:
                bad.add(value)
        return bad

    def _fits(self, value: Any) -> bool:
        try:
            return self.compared(value) in self.allowed
        except (ValueError, TypeError, ArithmeticError):
            return False

    def first(self, batch: list[list], bad: set) -> int:
        """The position in ``batch`` of the first row holding one of ``bad``."""
        index = self.index
        return next(n for n, row in enumerate(batch) if row[index] in bad)

    def note(self, batch: list[list], bad: set, first_row: int) -> None:
        """Count and remember the cells of ``batch`` (data rows from ``first_row``) in ``bad``."""
        index = self.index
        for offset, row in enumerate(batch):
            value = row[index]
            if value is None or value not in bad:
                continue
            self.count += 1
            key = self.compared(value)
            rows = self.found.get(key)
            if rows is None:
                if len(self.found) == MAX_VALUES:
                    self.more = True
                    continue
                rows = self.found[key] = []
                self.counts[key] = 0
            self.counts[key] += 1
            if len(rows) < MAX_ROWS:
                rows.append(first_row + offset)

    def rows(self) -> set[int]:
        """The data rows the report names."""
        return {row for rows in self.found.values() for row in rows}

    def report(self, located: dict[int, tuple[int, list[str]]],
               shown: Callable[[str], str]) -> dict:
        """What was found, with each value as its first row writes it and the rows' lines."""
        values = []
        for key, rows in self.found.items():
            record = located[rows[0]][1]
            values.append({"value": shown(record[self.index]), "count": self.counts[key],
                           "rows": rows, "lines": [located[row][0] for row in rows]})
        return {"lookup": self.lookup, "count": self.count, "values": values,
                "more_values": self.more}
