"""``GET /api/health``: is the service up and can it reach its database."""
from __future__ import annotations

import json
import logging
from functools import lru_cache

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView

from fairhub.api import Blueprint
from fairhub.db import read_connection

log = logging.getLogger("fairhub.health")

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Service health.")


class DatabaseHealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "`ok` or `unavailable`."})


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "`ok` or `unavailable`."})
    version = ma.fields.String(required=True)
    database = ma.fields.Nested(DatabaseHealthSchema, required=True)


def database_ok() -> bool:
    """Whether a trivial query against the database succeeds."""
    try:
        # The request's connection for reads: the probe is polled often, so it skips the
        # ORM's session and, on PostgreSQL, any transaction.
        cursor = read_connection().connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        return True
    except Exception as exc:  # any driver error means unreachable
        log.warning("Database health check failed: %s", type(exc).__name__)
        return False


@blp.route("")
class Health(MethodView):
    @blp.public
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable.")
    def get(self):
        """Report the service status, its version and whether the database answers."""
        ok = database_ok()
        # A ready response: the schemas above document it, dumping adds nothing.
        return Response(_body(current_app.config["API_VERSION"], ok),
                        status=200 if ok else 503, mimetype="application/json")


@lru_cache(maxsize=8)
def _body(version: str, ok: bool) -> str:
    status = "ok" if ok else "unavailable"
    return json.dumps({"status": status, "version": version, "database": {"status": status}})
