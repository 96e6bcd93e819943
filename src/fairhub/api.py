"""API conventions every plugin reuses: the Api, Blueprint, error schema and list paging."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from functools import cache, lru_cache
from typing import Any

import flask_smorest
import orjson
import marshmallow as ma
from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import Select, func, select
from webargs.core import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter

from fairhub.db import db
from fairhub.errors import handle_http_exception
from fairhub.inputs import parse_json, unstorable

SECURITY_SCHEME = "bearerAuth"
# Attribute on a view function naming the permissions it requires (None: a public route).
PERMISSIONS_ATTR = "_fairhub_permissions"
# Attribute on a view function open to anyone (routes are closed unless they say so).
PUBLIC_ATTR = "_fairhub_public"
# Attribute on a public view function that must not look at the caller's credentials.
IGNORES_CREDENTIALS_ATTR = "_fairhub_ignores_credentials"


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


BAD_BODY = ("The body is not standard JSON (malformed, NaN or Infinity, a number out of "
            "range), is nested too deeply, or holds text no database stores (a NUL, a lone "
            "surrogate).")


class JsonParser(FlaskParser):
    """Parses requests strictly: unknown query parameters are errors, not typos ignored;
    a JSON route needs a JSON body, sanely nested."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE, "querystring": ma.RAISE,
    }

    def load_json(self, req, schema):
        if not req.get_data(cache=True):
            abort(422, message="This request needs a JSON body.",
                  messages={"json": ["A JSON body is required."]})
        if not req.is_json:
            abort(415, message="Send the request body as application/json.")
        return super().load_json(req, schema)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        body = req.get_data(cache=True)
        try:
            data = parse_json(body)  # standard JSON only: no NaN
        except RecursionError:
            abort(400, message="The request body is nested too deeply.",
                  messages={"json": ["Nested too deeply."]})
        problem = unstorable(data, body)
        if problem:
            abort(400, message=f"The request body contains {problem}.",
                  messages={"json": [f"Contains {problem}."]})
        return data

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        reason = str(error) if isinstance(error, json.JSONDecodeError) else "Not UTF-8."
        abort(400, exc=error, messages={"json": [reason]})


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint with fairhub's request parser and permission checks."""

    ARGUMENTS_PARSER = JsonParser()

    def require_permission(self, *permissions: str):
        """Let only callers holding every one of ``permissions`` in; none: any signed-in caller.

        The check runs before the request is parsed (401 without a token, 403 without the
        permission), and the OpenAPI document shows the security requirement and both errors.
        """

        def decorator(func):
            func = self.doc(security=[{SECURITY_SCHEME: []}])(func)
            func = self.alt_response(401, response="UNAUTHORIZED")(func)
            func = self.alt_response(403, response="FORBIDDEN")(func)
            setattr(func, PERMISSIONS_ATTR, tuple(permissions))
            if permissions:
                note = "Needs the permission" + ("s " if len(permissions) > 1 else " ")
                func.__doc__ = (func.__doc__ or "") + "\n\n" + note + ", ".join(
                    f"`{p}`" for p in permissions) + "."
            return func

        return decorator

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's ``arguments``; a schema class is made into its instance once here,
        where the parser would make a new one for every request. A JSON body's route also
        documents the 400 its parser answers (see :class:`JsonParser`)."""
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse
        refuse = self.alt_response(400, schema=ErrorSchema, description=BAD_BODY)
        return lambda func: refuse(parse(func))

    @staticmethod
    def public(func):
        """Open a route to anyone, signed in or not.

        Every route must say either this or :meth:`require_permission`; a route that says
        neither stops start-up.
        """
        setattr(func, PUBLIC_ATTR, True)
        return func

    @classmethod
    def ignore_credentials(cls, func):
        """Open a route to anyone and ignore any Authorization header (logging in)."""
        setattr(func, IGNORES_CREDENTIALS_ATTR, True)
        return cls.public(func)


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:name>``: a database id in a URL; out-of-range numbers are a plain 404."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def id_field(**kwargs) -> ma.fields.Integer:
    """An integer field for a database id: 1 up to the largest id the databases store."""
    return ma.fields.Integer(strict=False, validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class Api(flask_smorest.Api):
    """The app's flask-smorest Api, answering errors in fairhub's shape.

    Blueprints are documented in the OpenAPI document when it is first read (the docs
    routes, ``fairhub openapi``), not when they are registered: documenting every route
    takes about half of building the app, which every command, worker and test does.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app, **kwargs) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._documenting = threading.Lock()
        app.url_map.converters["id"] = IdConverter
        super().__init__(app, **kwargs)
        self.register_converter(IdConverter, lambda _converter: {
            "type": "integer", "minimum": 1, "maximum": MAX_ID})
        self.spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer"})
        for name, description in (
            ("UNAUTHORIZED", "No token, or a token that is invalid, expired, used up, "
                             "deactivated or refused for this address."),
            ("FORBIDDEN", "The token is valid but lacks the permission."),
        ):
            self.spec.components.response(name, {
                "description": description,
                "content": {"application/json": {"schema": ErrorSchema}},
            })

    @property
    def spec(self):
        """The OpenAPI document, with every blueprint registered so far."""
        if self._undocumented:
            with self._documenting:
                while self._undocumented:
                    blp, name, parameters = self._undocumented[0]
                    blp.register_views_in_doc(self, self._app, self._spec, name=name,
                                              parameters=parameters)
                    self._spec.tag({"name": name, "description": blp.description})
                    del self._undocumented[0]
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """Register ``blp`` in the app now, in the document at its first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def handle_http_exception(self, error):
        return handle_http_exception(error)


def to_json(value: Any) -> bytes:
    """``value`` as JSON, times written as :func:`timestamp` writes them. orjson writes
    integers of up to 64 bits: larger ones (a catalogue may hold them) go through json."""
    try:
        return orjson.dumps(value, default=_timestamp_or_fail,
                            option=orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value).encode()


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, written by orjson: several times faster, keys in the order the schemas
    dump them, and parts dumped ahead (:class:`Dumped`) put in as they are."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return to_json(obj).decode() if not kwargs else super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        body = to_json(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(body, mimetype="application/json")


class Dumped(ma.fields.Nested):
    """A nested object documented by its schema that a service may have dumped already, as
    JSON text (``orjson.Fragment(to_json(dumped))``): written out as it is. Anything else is
    dumped by the schema as usual. Lists' items (:func:`list_schema`) are such fields."""

    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(nested_obj, orjson.Fragment):
            return nested_obj
        return super()._serialize(nested_obj, attr, obj, **kwargs)


class PreDumpedSchema(ma.Schema):
    """A response schema whose object a service may have dumped already (see
    :class:`Dumped`): answered as it is."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if isinstance(obj, orjson.Fragment):
            return obj
        return super().dump(obj, many=many)


class Strings(ma.fields.List):
    """A list of strings (documented as such), given as it is when every item is a string:
    ``List(String())`` serializes each item through the String field, which made most of
    ``GET /api/user``'s answer (a role's permissions; bench/README.md)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ma.fields.String(), **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, (list, tuple)) and all(type(item) is str for item in value):
            return list(value)
        return super()._serialize(value, attr, obj, **kwargs)


class JsonBoolean(ma.fields.Boolean):
    """A boolean in a JSON body: only ``true`` or ``false``, not 0, 1 or strings."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


@lru_cache(maxsize=64)  # a batch writes its one time into every row's document, many times
def timestamp(value: datetime | None) -> str | None:
    """``value`` as the API writes times: ``2026-11-25T10:00:00.000Z`` (naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _timestamp_or_fail(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable.")


_ENCODER = json.JSONEncoder(default=_timestamp_or_fail, separators=(",", ":"))


class Timestamp(ma.fields.DateTime):
    """A UTC time written as ``2026-11-25T10:00:00.000Z``; read from any ISO-8601 form."""

    def _serialize(self, value, attr, obj, **kwargs):
        return timestamp(value)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            result = result.replace(tzinfo=timezone.utc)
        try:
            return result.astimezone(timezone.utc)
        except OverflowError:  # e.g. year 9999 at a negative offset
            raise self.make_error("invalid", input=value, obj_type="datetime") from None


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
            "items": ma.fields.List(Dumped(item_schema), required=True),
            "paging": ma.fields.Nested(PagingSchema, required=True),
        },
        name=name,
    )


def paginate(statement: Select, page: int, page_size: int, scalars: bool = True,
             params: dict | None = None) -> dict:
    """Run ``statement`` (with bound ``params``) for one page and count its total, returning
    the list shape."""
    counting = select(func.count()).select_from(statement.order_by(None).subquery())
    total = db.session.scalar(counting, params)
    paged = statement.limit(page_size).offset((page - 1) * page_size)
    result = db.session.execute(paged, params)
    items = list(result.scalars() if scalars else result.mappings())
    return {"items": items, "paging": {"total": total, "page": page, "page_size": page_size}}


def page_of(items: list, page: int, page_size: int) -> dict:
    """The list shape for a list already in memory (small, fixed collections only)."""
    start = (page - 1) * page_size
    return {
        "items": items[start:start + page_size],
        "paging": {"total": len(items), "page": page, "page_size": page_size},
    }

