"""Named prepared statements run straight through libpq, for DirectSelect on psycopg.

psycopg's cursor reads a result through generators that wait on the socket from Python, and
decides at every execution whether to prepare the statement; for the one-row reads every
request makes (checking a token, reading a dataset) that costs more than the database does.
Here a statement is prepared once per connection, under a name made from its text, and run
with libpq's blocking ``PQexecPrepared``; psycopg's own adapters still turn parameters into
text and the result's values into Python.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

# The names of the statements a connection has prepared, kept with the pooled connection.
_NAMES = "fairhub_prepared"
# Beyond this many statements on one connection, further ones run unprepared: a plugin
# building statements per request must not fill the server's memory.
MAX_PER_CONNECTION = 200

_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")


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
        pgconn = driver.pgconn
        transformer = Transformer(driver)
        arguments = transformer.dump_sequence([values[name] for name in self.names],
                                              [PyFormat.TEXT] * len(self.names))
        prepared = connection.info.setdefault(_NAMES, set())
        if self.name in prepared or len(prepared) < MAX_PER_CONNECTION:
            result = self._run_prepared(pgconn, driver, prepared, arguments)
            if _state(result) == _DEALLOCATED:
                # Something dropped the connection's prepared statements (psycopg does after
                # a schema change): they are all gone, so prepare this one again.
                prepared.clear()
                result = self._run_prepared(pgconn, driver, prepared, arguments)
        else:
            result = pgconn.exec_params(self.sql, arguments)
        _check(result, driver)
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)

    def _run_prepared(self, pgconn: Any, driver: Any, prepared: set, arguments: list) -> Any:
        if self.name not in prepared:
            _check(pgconn.prepare(self.name, self.sql), driver)
            prepared.add(self.name)
        return pgconn.exec_prepared(self.name, arguments)


_DEALLOCATED = b"26000"  # invalid_sql_statement_name: no such prepared statement


def _state(result: Any) -> bytes | None:
    return result.error_field(pq.DiagnosticField.SQLSTATE)


def _check(result: Any, driver: Any) -> None:
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise errors.error_from_result(result, encoding=driver.info.encoding)
