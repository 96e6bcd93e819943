"""A table's CSV file: its header matched to the dictionary's fields, and its lines found
again for reports and errors (a load reads the file once; these read it again)."""
from __future__ import annotations

import csv
from pathlib import Path

from .cells import Misfit


def listed(names: list[str], most: int = 10) -> str:
    """The first ``most`` of ``names``, quoted, and how many more there are."""
    shown = ", ".join(repr(name) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def match_header(header: list[str], types: dict[str, str]) -> tuple[list[str], list[str]]:
    """The field each header cell names, in file order, and the fields the file lacks; raises
    :class:`.cells.Misfit` for a header that does not fit."""
    folded = {name.lower(): name for name in types}
    columns: list[str] = []
    unknown: list[str] = []
    for position, cell in enumerate(header, 1):
        given = cell.strip()
        if not given:
            raise Misfit(f"Column {position} of the header has no name.")
        name = given if given in types else folded.get(given.lower())
        if name is None:
            unknown.append(given)
        elif name in columns:
            raise Misfit(f"The header names column {name!r} twice.", column=name)
        else:
            columns.append(name)
    if unknown:
        raise Misfit(
            f"The dictionary does not define the column{'s' if len(unknown) > 1 else ''} "
            f"{listed(unknown)}; its fields are {listed(list(types), 50)}.",
            column=unknown[0])
    return columns, [name for name in types if name not in columns]


def start_line(path: Path, row: int) -> int:
    """The line of ``path`` where data row ``row`` starts."""
    found, last_line = locate(path, {row})
    return found[row][0] if row in found else last_line


def locate(path: Path, rows: set[int]) -> tuple[dict[int, tuple[int, list[str]]], int]:
    """The line of ``path`` where each data row of ``rows`` starts with its cells, and the
    last line read."""
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


def first_bad_line(path: Path) -> int:
    """The first line of ``path`` that is not UTF-8."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0
