"""API conventions every plugin reuses: the Api, Blueprint, error schema and list paging."""
from __future__ import annotations

from functools import cache
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import current_app
from sqlalchemy import Select, func, select
from webargs.flaskparser import FlaskParser, abort

from fairhub.db import db
from fairhub.errors import handle_http_exception
from fairhub.inputs import contains_nul

SECURITY_SCHEME = "bearerAuth"


class ErrorDetailSchema(ma.Schema):
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status code."})
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable code."})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong."})
    details = ma.fields.Raw(
        allow_none=True, metadata={"description": "Per-field messages, or other context."}
    )


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class JsonParser(FlaskParser):
    """Parses request bodies, turning over-deep JSON into a 400 rather than a crash."""

    def _raw_load_json(self, req):
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            abort(400, message="The request body is nested too deeply.",
                  messages={"json": ["Nested too deeply."]})
        if contains_nul(data):
            abort(400, message="The request body contains a NUL character.",
                  messages={"json": ["Text may not contain NUL characters."]})
        return data


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint with fairhub's request parser."""

    ARGUMENTS_PARSER = JsonParser()


class Api(flask_smorest.Api):
    """The app's flask-smorest Api, answering errors in fairhub's shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


# Paging


def _max_page_size() -> int:
    return int(current_app.config["MAX_PAGE_SIZE"])


class PageArgsSchema(ma.Schema):
    """Query arguments of every list: ``page`` (1-based) and ``page_size``."""

    page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1, max=10_000_000),
        metadata={"description": "Page number, starting at 1."},
    )
    page_size = ma.fields.Integer(
        validate=ma.validate.Range(min=1),
        metadata={"description": "Items per page; capped at the server's MAX_PAGE_SIZE."},
    )

    @ma.post_load
    def cap(self, data: dict, **_: Any) -> dict:
        size = data.get("page_size") or int(current_app.config["DEFAULT_PAGE_SIZE"])
        data["page_size"] = min(size, _max_page_size())
        return data


class PagingSchema(ma.Schema):
    total = ma.fields.Integer(required=True, metadata={"description": "Items in all pages."})
    page = ma.fields.Integer(required=True)
    page_size = ma.fields.Integer(required=True)


@cache
def list_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list response schema ``{"items": [...], "paging": {...}}`` for ``item_schema``."""
    name = item_schema.__name__.removesuffix("Schema") + "ListSchema"
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "paging": ma.fields.Nested(PagingSchema, required=True),
        },
        name=name,
    )


def paginate(statement: Select, page: int, page_size: int, scalars: bool = True) -> dict:
    """Run ``statement`` for one page and count its total, returning the list shape."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement.limit(page_size).offset((page - 1) * page_size)
    result = db.session.execute(paged)
    items = list(result.scalars() if scalars else result.mappings())
    return {"items": items, "paging": {"total": total, "page": page, "page_size": page_size}}


def page_of(items: list, page: int, page_size: int) -> dict:
    """The list shape for a list already in memory (small, fixed collections only)."""
    start = (page - 1) * page_size
    return {
        "items": items[start:start + page_size],
        "paging": {"total": len(items), "page": page, "page_size": page_size},
    }

