"""Input hygiene shared by every route: text no database can store is refused up front."""
from __future__ import annotations

from typing import Any

from flask import Flask, request

from fairhub.errors import BadRequest

NUL = "\x00"


def contains_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL character in any string or key."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def refuse_nul_in_url() -> None:
    """Refuse a path or query string carrying NUL: PostgreSQL cannot compare or store it."""
    if NUL in request.path or any(NUL in k or NUL in v for k, v in request.args.items(multi=True)):
        raise BadRequest("The URL contains a NUL character.")


def install_input_checks(app: Flask) -> None:
    """Check every request's URL before it reaches a view."""
    app.before_request(refuse_nul_in_url)
