"""Route for the audit log (``/api/audit``)."""
from __future__ import annotations

from flask.views import MethodView

from fairhub.api import Blueprint, list_schema, paginate
from fairhub.identity.schemas import AuditEventSchema, AuditQuerySchema
from fairhub.identity.service.audit import audit_query

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="The audit log.")


@blp.route("")
class Audit(MethodView):
    @blp.require_permission("audit/read")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, list_schema(AuditEventSchema))
    def get(self, args):
        """Search the audit log by type, action, actor, target, token and time, newest first."""
        return paginate(audit_query(args), args["page"], args["page_size"])
