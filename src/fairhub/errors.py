"""Typed API errors and the one JSON error shape every path answers with."""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, jsonify, request
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
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
