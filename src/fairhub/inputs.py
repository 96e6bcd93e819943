"""Input hygiene shared by every route: text no database can store is refused up front."""
from __future__ import annotations

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


def unstorable(value: Any) -> str | None:
    """What is wrong with the first string or key of a decoded JSON value no database can
    store (NUL characters, lone surrogates such as ``"\\ud800"``); None when all are fine."""
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
