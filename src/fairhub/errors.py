"""Typed API errors and the one JSON error shape every path answers with."""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("fairhub.errors")


class ApiError(Exception):
    """An error the API reports to its caller with a status, a code and a sentence."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class ValidationError(ApiError):
    status, code = 422, "validation_error"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


# Where webargs and the services file field errors: a detail's path leaves them out.
_LOCATIONS = frozenset({"json", "query", "form", "headers", "cookies", "files", "path"})


def readable(error: ApiError) -> str:
    """An error for a person at a terminal: its sentence, then each detail on a line of its
    own (``  allowed_ips.1: '10.0.0.300' is not an IP address...``), never raw JSON. A detail
    that only repeats the sentence is left out."""
    lines = [error.message]
    for path, text in _leaves(error.details, "", top=True):
        if text != error.message:
            lines.append(f"  {path}: {text}" if path else f"  {text}")
    return "\n".join(lines)


def _leaves(value: Any, path: str, top: bool = False):
    """``(path, text)`` for each leaf of a details value; a list of plain values is one."""
    if isinstance(value, dict):
        for key, item in value.items():
            located = top and key in _LOCATIONS
            yield from _leaves(item, path if located else f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
        if value:  # sentences one after the other, names (permissions...) as a list
            texts = [str(v) for v in value]
            sentences = all(text.endswith(".") for text in texts)
            yield path, (" " if sentences else ", ").join(texts)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index))
    elif value is not None:
        yield path, str(value)


def error_body(status: int, code: str, message: str, details: Any = None) -> dict:
    """Build the error payload: ``{"error": {status, code, message, details}}``."""
    return {"error": {"status": status, "code": code, "message": message,
                      "details": _text_keys(details)}}


def _text_keys(value: Any) -> Any:
    """``value`` with every dict key as text, as JSON writes it. marshmallow keys a list's
    errors by index beside a schema's ``_schema``, and keys of both kinds in one dict cannot
    be sorted, which the JSON encoder does."""
    if isinstance(value, dict):
        return {str(key): _text_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_text_keys(item) for item in value]
    return value


def error_response(status: int, code: str, message: str, details: Any = None, headers=None):
    """Build a Flask response carrying the error payload."""
    response = jsonify(error_body(status, code, message, details))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _http_message(error: HTTPException) -> str:
    if error.code == 404:
        return f"No route matches {request.method} {request.path}."
    if error.code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or []))
        return f"Method {request.method} is not allowed on {request.path}; allowed: {allowed}."
    if error.code == 413:
        limit = request.max_content_length
        return f"The request body is larger than the limit of {limit} bytes."
    data = getattr(error, "data", None) or {}
    if "message" in data:
        return data["message"]
    if error.code == 400 and "json" in (data.get("messages") or {}):
        return "The request body is not valid JSON."
    if error.code == 422:
        return "The request is not valid; see details for each field."
    return error.description or error.name


def handle_http_exception(error: HTTPException):
    """Render a werkzeug HTTP exception (routing, webargs validation, 413...) in our shape."""
    data = getattr(error, "data", None) or {}
    details = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    code = "validation_error" if error.code == 422 else _snake(error.name)
    return error_response(error.code or 500, code, _http_message(error), details, headers)


def handle_api_error(error: ApiError):
    """Render an :class:`ApiError`."""
    return error_response(error.status, error.code, error.message, error.details, error.headers)


# How long a client is told to wait while the database is unreachable.
DATABASE_RETRY_AFTER_SECONDS = 5


def handle_database_unreachable(error: Exception):
    """Answer 503 with ``Retry-After`` when the database cannot be reached or dropped the
    connection (restarted, stopped, unreachable): the request may succeed if sent again once
    it is back; the pool replaces the connections it lost then."""
    log.warning("The database is unreachable on %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", error)).__name__)
    return error_response(
        503, "service_unavailable", "The database is not available right now; try again in a "
        "few seconds.", headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def handle_unexpected(error: Exception):
    """Log an unhandled exception and answer 500 without leaking its text."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(
        500, "internal_error", "The server hit an unexpected error; it has been logged."
    )


def register_error_handlers(app: Flask) -> None:
    """Route every error an app can raise to the one JSON shape."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(OperationalError, handle_database_unreachable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
