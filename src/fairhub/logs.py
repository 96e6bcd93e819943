"""Logging: text or JSON lines, each record carrying the request id."""
from __future__ import annotations

import logging
import os
import re
import sys

from flask import Flask, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_HEADER = "HTTP_X_REQUEST_ID"
ENVIRON_KEY = "fairhub.request_id"
# A client's request id is kept only when it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HANDLER_FLAG = "_fairhub_handler"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or ``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request.environ.get(ENVIRON_KEY, "-") if has_request_context() else "-"
        return True


def configure_logging(app: Flask) -> None:
    """Give the ``fairhub`` logger one handler in the configured format and level."""
    logger = logging.getLogger("fairhub")
    logger.setLevel(str(app.config["LOG_LEVEL"]).upper())
    if str(app.config["LOG_FORMAT"]).lower() == "json":
        formatter: logging.Formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        )
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    handler = next((h for h in logger.handlers if getattr(h, _HANDLER_FLAG, False)), None)
    if handler is None:
        handler = StderrHandler()
        setattr(handler, _HANDLER_FLAG, True)
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
    handler.setFormatter(formatter)

    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)


class RequestIdMiddleware:
    """Gives each request an id: the client's ``X-Request-ID`` when plain, else a fresh one.

    The id is kept in the WSGI environ for log records and echoed on the response.
    """

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        given = environ.get(ENVIRON_HEADER, "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else os.urandom(16).hex()
        environ[ENVIRON_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_id)
