"""Routes for API tokens: mine (``/api/tokens``) and everyone's (``/api/admin/tokens``)."""
from __future__ import annotations

from flask.views import MethodView

from fairhub.api import Blueprint, PageArgsSchema, list_schema, paginate
from fairhub.auth import current_actor
from fairhub.db import db
from fairhub.identity.schemas import (
    TokenCreatedSchema,
    TokenCreateSchema,
    TokenQuerySchema,
    TokenSchema,
)
from fairhub.identity.service import tokens

blp = Blueprint("tokens", __name__, url_prefix="/api/tokens", description="My API tokens.")
admin_blp = Blueprint("admin-tokens", __name__, url_prefix="/api/admin/tokens",
                      description="Every API token, for administrators.")


@blp.route("")
class Tokens(MethodView):
    @blp.require_permission()
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(TokenSchema))
    def get(self, args):
        """List my API tokens (never their secrets)."""
        query = tokens.my_tokens(current_actor())
        return paginate(query, args["page"], args["page_size"])

    @blp.require_permission("tokens/create")
    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    def post(self, data):
        """Create an API token; the answer shows its secret, this once only."""
        actor = current_actor()
        token, secret = tokens.issue_token(actor.user, actor=actor, **data)
        db.session.commit()
        token.secret = secret  # shown this once; never stored
        return token


@blp.route("/<id:token_id>")
class MyToken(MethodView):
    @blp.require_permission()
    @blp.response(200, TokenSchema)
    def get(self, token_id):
        """Read one of my tokens."""
        return tokens.get_token(token_id, current_actor())

    @blp.require_permission()
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of my tokens."""
        actor = current_actor()
        tokens.change_status(tokens.get_token(token_id, actor), "revoke", actor)
        db.session.commit()


@admin_blp.route("")
class AllTokens(MethodView):
    @admin_blp.require_permission("tokens/manage")
    @admin_blp.arguments(TokenQuerySchema, location="query")
    @admin_blp.response(200, list_schema(TokenSchema))
    def get(self, args):
        """Search every token by owner, name and status."""
        return paginate(tokens.search_tokens(args), args["page"], args["page_size"])


@admin_blp.route("/<id:token_id>")
class AnyToken(MethodView):
    @admin_blp.require_permission("tokens/manage")
    @admin_blp.response(200, TokenSchema)
    def get(self, token_id):
        """Read any token."""
        return tokens.get_token(token_id)


def _status_route(action: str, summary: str) -> None:
    class Change(MethodView):
        @admin_blp.require_permission("tokens/manage")
        @admin_blp.response(200, TokenSchema)
        def post(self, token_id):
            token = tokens.change_status(tokens.get_token(token_id), action, current_actor())
            db.session.commit()
            return token

    Change.post.__doc__ = summary
    Change.__name__ = f"Token{action.title()}"
    admin_blp.route(f"/<id:token_id>/{action}")(Change)


_status_route("deactivate", "Deactivate a token until it is reactivated.")
_status_route("reactivate", "Reactivate a deactivated token.")
_status_route("expire", "Expire a token for good.")
