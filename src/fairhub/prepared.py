"""Named prepared statements run straight through libpq, for DirectSelect on psycopg.

psycopg's cursor reads a result through generators that wait on the socket from Python, and
decides at every execution whether to prepare the statement; for the one-row reads every
request makes (checking a token, reading a dataset) that costs more than the database does.
Here a statement is run with libpq's blocking calls, and prepared on its second run on a
connection (so PostgreSQL can reuse its plan), under a name made from its text; psycopg's own
adapters still turn parameters into text and the result's values into Python.

Behind a pooler that shares server sessions between clients (pgbouncer in transaction mode),
turn prepared statements off as psycopg has it: ``prepare_threshold`` None in the engine's
``connect_args``. Statements then run unprepared, here as in psycopg.
"""
from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

# Per connection, the statements seen lately, oldest first: name -> whether it is prepared.
_SEEN = "fairhub_prepared"
# How many statements a connection remembers; the oldest prepared one beyond is deallocated,
# so statements made per request (a page's numbers) cannot fill the server's memory.
MAX_PER_CONNECTION = 100

_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")
_DEALLOCATED = b"26000"  # invalid_sql_statement_name: no such prepared statement
_PLAN_CHANGED = b"0A000"  # "cached plan must not change result type"


class Statement:
    """A statement in psycopg's ``%(name)s`` style, rewritten for libpq (``$1``...)."""

    __slots__ = ("name", "sql", "names")

    def __init__(self, text: str) -> None:
        order: dict[str, int] = {}

        def number(match: re.Match) -> str:
            if match.group(1) is None:
                return "%"
            return f"${order.setdefault(match.group(1), len(order) + 1)}"

        self.sql = _PLACEHOLDER.sub(number, text).encode()
        self.names = tuple(order)
        self.name = b"fairhub_" + hashlib.blake2b(self.sql, digest_size=8).hexdigest().encode()

    def fetch(self, connection: Any, values: dict) -> list[tuple]:
        """Every row, as tuples, of the statement run with ``values`` on ``connection``
        (SQLAlchemy's pooled connection of a psycopg connection in autocommit)."""
        driver = connection.dbapi_connection
        transformer = Transformer(driver)
        arguments = transformer.dump_sequence([values[name] for name in self.names],
                                              [PyFormat.TEXT] * len(self.names))
        result = self._run(connection, driver, arguments)
        _check(result, driver)
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)

    def _run(self, connection: Any, driver: Any, arguments: list) -> Any:
        pgconn = driver.pgconn
        if driver.prepare_threshold is None:  # prepared statements are off (a pooler)
            return pgconn.exec_params(self.sql, arguments)
        seen: OrderedDict = connection.info.setdefault(_SEEN, OrderedDict())
        prepared = seen.pop(self.name, None)
        if prepared is None:  # first seen: run once, unprepared
            result = pgconn.exec_params(self.sql, arguments)
        else:
            if not prepared:
                _check(pgconn.prepare(self.name, self.sql), driver)
            result = pgconn.exec_prepared(self.name, arguments)
            state = result.error_field(pq.DiagnosticField.SQLSTATE)
            if state in (_DEALLOCATED, _PLAN_CHANGED):
                if state == _DEALLOCATED:
                    # Something dropped the connection's prepared statements (psycopg does
                    # after a schema change): they are all gone.
                    seen = OrderedDict((name, False) for name in seen)
                    connection.info[_SEEN] = seen
                else:  # a migration changed what the statement selects: prepare it anew
                    _check(pgconn.exec_(b"DEALLOCATE " + self.name), driver)
                _check(pgconn.prepare(self.name, self.sql), driver)
                result = pgconn.exec_prepared(self.name, arguments)
        seen[self.name] = prepared is not None
        while len(seen) > MAX_PER_CONNECTION:
            name, was_prepared = seen.popitem(last=False)
            if was_prepared:
                dropped = pgconn.exec_(b"DEALLOCATE " + name)
                if dropped.error_field(pq.DiagnosticField.SQLSTATE) != _DEALLOCATED:
                    _check(dropped, driver)
        return result


statement_for = lru_cache(maxsize=1024)(Statement)
"""The Statement of a text, made once while it is in use."""


def _check(result: Any, driver: Any) -> None:
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise errors.error_from_result(result, encoding=driver.info.encoding)
