"""Routes for session access tokens (``/api/auth``)."""
from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from fairhub.api import Blueprint
from fairhub.auth import client_ip, current_actor
from fairhub.db import db
from fairhub.identity.schemas import AboutSchema, AccessTokenSchema, LoginSchema
from fairhub.identity.service import sessions

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sessions.")


@blp.route("/login")
class Login(MethodView):
    @blp.ignore_credentials
    @blp.arguments(LoginSchema)
    @blp.response(200, AccessTokenSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="DEFAULT_ERROR", description="Too many failed logins; "
                      "wait for Retry-After seconds.")
    def post(self, data):
        """Sign in with email and password for a short-lived session access token."""
        answer = sessions.login(data["email"], data["password"], client_ip())
        db.session.commit()
        return answer


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.require_permission()
    @blp.response(200, AccessTokenSchema)
    def post(self):
        """Swap my session token for a fresh one; the old one stops working."""
        answer = sessions.refresh(current_actor())
        db.session.commit()
        return answer


@blp.route("/logout")
class Logout(MethodView):
    @blp.require_permission()
    @blp.response(204)
    def post(self):
        """End my session; its token stops working."""
        sessions.logout(current_actor())
        db.session.commit()


@blp.route("/about")
class About(MethodView):
    @blp.public
    @blp.response(200, AboutSchema)
    def get(self):
        """Describe this server and how this request was authenticated."""
        actor = current_actor()
        return {
            "api_url": url_for("health.Health", _external=True).rsplit("/health", 1)[0],
            "docs_url": url_for("api-docs.openapi_swagger_ui", _external=True),
            "version": current_app.config["API_VERSION"],
            "user": actor.user if actor.authenticated else None,
            "authenticated_via": actor.via,
            "session_id": actor.session_id,
            "token_id": actor.token_id,
            "expires_at": sessions.credential_expiry(actor),
        }
