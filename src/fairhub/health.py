"""``GET /api/health``: is the service up and can it reach its database."""
from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy import literal_column, select

from fairhub.api import Blueprint
from fairhub.db import CompiledSelect

log = logging.getLogger("fairhub.health")

_PROBE = CompiledSelect(select(literal_column("1").label("one")))
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
        _PROBE.all()
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
        status = "ok" if database_ok() else "unavailable"
        body = {"status": status, "version": current_app.config["API_VERSION"],
                "database": {"status": status}}
        return body, 200 if status == "ok" else 503
