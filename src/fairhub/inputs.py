"""Input hygiene shared by every route: text no database can store is refused up front."""
from __future__ import annotations

import json
import math
from itertools import chain
from typing import Any

from flask import Flask, request

from fairhub.errors import BadRequest

NUL = "\x00"


def _problem(text: str) -> str | None:
    """What keeps a database from storing ``text``: a NUL, or a lone surrogate (not UTF-8)."""
    if NUL in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that cannot be encoded as UTF-8"
    return None


def unstorable(value: Any, text: str | bytes | None = None) -> str | None:
    """What is wrong with the first string or key of a decoded JSON value no database can
    store (NUL characters, lone surrogates such as ``"\\ud800"``); None when all are fine.

    Given the JSON ``text`` the value was parsed from, a text without a ``\\u`` escape is
    not walked: only an escape puts a NUL or a lone surrogate in parsed JSON (the parser
    refuses raw control characters, and text decoded from UTF-8 holds no surrogates)."""
    if text is not None and ("\\u" if isinstance(text, str) else b"\\u") not in text:
        return None
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = _problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class NotStandardJson(json.JSONDecodeError):
    """JSON text that Python's parser reads but the JSON standard (RFC 8259) does not allow,
    or a number no JSON column can hold; a ``JSONDecodeError``, so it is answered as any
    malformed body is."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason, text, 0)

    def __str__(self) -> str:
        return self.msg  # no position: the parser does not give one for these


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"The number {text[:20]}{'...' if len(text) > 20 else ''} is too "
                         "large")
    return number


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # longer than Python converts (4,300 digits by default)
        raise ValueError(f"An integer of {len(text)} digits is too long") from None


def parse_json(text: str | bytes) -> Any:
    """Parse standard JSON only. Python's parser also reads ``NaN``, ``Infinity`` and
    ``-Infinity``, turns numbers beyond a float's range (``1e999``) into infinity, and fails
    on integers of thousands of digits with a ``ValueError``: written back, the first two are
    not JSON (PostgreSQL refuses them, SQLite stores them and answers them back). All are
    refused here as :class:`NotStandardJson`. Bytes are read as UTF-8."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite,
                          parse_int=_integer)
    except json.JSONDecodeError:
        raise
    except ValueError as error:
        raise NotStandardJson(str(error), text) from None


def _plain(text: str) -> bool:
    return text.isascii() and NUL not in text


def refuse_unstorable_url() -> None:
    """Refuse a path or query string carrying NUL or text that is not UTF-8: PostgreSQL
    cannot compare or store it."""
    environ = request.environ
    query = environ.get("QUERY_STRING", "")
    if _plain(environ.get("PATH_INFO", "")) and _plain(query) and "%" not in query:
        return  # plain ASCII, nothing escaped: nothing to decode or refuse
    try:
        texts = [request.path, *chain.from_iterable(request.args.items(multi=True))]
    except UnicodeDecodeError:
        raise BadRequest("The query string is not valid UTF-8.") from None
    problem = unstorable(texts)
    if problem:
        raise BadRequest(f"The URL contains {problem}.")


def install_input_checks(app: Flask) -> None:
    """Check every request's URL before it reaches a view."""
    app.before_request(refuse_unstorable_url)
