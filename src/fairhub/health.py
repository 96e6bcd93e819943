"""``GET /api/health``: is the service up and can it reach its database."""
from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app, jsonify
from flask.views import MethodView

from fairhub.api import Blueprint
from fairhub.db import db

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
        # A raw pooled connection: the probe is polled often, so it skips the ORM's layers.
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            connection.close()
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
        status = "ok" if ok else "unavailable"
        body = {
            "status": status,
            "version": current_app.config["API_VERSION"],
            "database": {"status": status},
        }
        # Returned as a ready response: the schemas above document it, dumping adds nothing.
        response = jsonify(body)
        response.status_code = 200 if ok else 503
        return response
