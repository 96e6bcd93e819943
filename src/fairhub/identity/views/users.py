"""Routes for users (``/api/users``) and the caller (``/api/user``)."""
from __future__ import annotations

from flask.views import MethodView

from fairhub.api import Blueprint, list_schema, paginate
from fairhub.auth import Actor, client_ip, current_actor
from fairhub.db import db
from fairhub.identity.schemas import (
    ArchiveSchema,
    MeSchema,
    MeUpdateSchema,
    PasswordChangeSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from fairhub.identity.service import users

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users.")
me_blp = Blueprint("user", __name__, url_prefix="/api/user", description="The signed-in user.")


@blp.route("")
class Users(MethodView):
    @blp.require_permission("users/read")
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, list_schema(UserSchema))
    def get(self, args):
        """Search users by name or email, and filter by role, approval and archiving.

        Callers who may not change users (data managers) see only searchable, active users.
        """
        query = users.search_users(args, current_actor())
        return paginate(query, args["page"], args["page_size"])

    @blp.require_permission("users/create")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user (unapproved unless auto-approve is on or `approved` is given)."""
        user = users.create_user(data, current_actor())
        db.session.commit()
        return user


@blp.route("/<uuid>")
class UserByUuid(MethodView):
    @blp.require_permission("users/read")
    @blp.response(200, UserSchema)
    def get(self, uuid):
        """Read a user (data managers: only searchable, active users)."""
        return users.read_user(current_actor(), uuid)

    @blp.require_permission("users/update")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, uuid):
        """Change a user's profile, password or role (a role change needs `roles/assign`)."""
        user = users.update_user(users.get_user(uuid), data, current_actor())
        db.session.commit()
        return user


def _action_route(path: str, permission: str, summary: str, apply, schema=None):
    """Register ``POST /api/users/<uuid>/<path>`` applying ``apply(user, data, actor)``."""

    class Action(MethodView):
        @blp.require_permission(permission)
        @blp.response(200, UserSchema)
        def post(self, *args, uuid):
            data = args[0] if args else {}
            user = apply(users.get_user(uuid), data, current_actor())
            db.session.commit()
            return user

    Action.post.__doc__ = summary
    if schema is not None:
        Action.post = blp.arguments(schema)(Action.post)
    Action.__name__ = f"User{path.title()}"
    blp.route(f"/<uuid>/{path}")(Action)


_action_route("approve", "users/approve", "Approve a user, who can then sign in.",
              lambda user, _data, actor: users.set_approved(user, True, actor))
_action_route("unapprove", "users/approve", "Withdraw a user's approval.",
              lambda user, _data, actor: users.set_approved(user, False, actor))
_action_route("archive", "users/archive", "Archive a user with a reason, optionally "
              "expiring their tokens.",
              lambda user, data, actor: users.archive(user, data["reason"],
                                                      data["expire_tokens"], actor),
              schema=ArchiveSchema)
_action_route("restore", "users/archive", "Restore an archived user, unapproved.",
              lambda user, _data, actor: users.restore(user, actor))


def me_view(actor) -> dict:
    """The signed-in user with what this request may do (read from the actor's profile, with
    the groups read with the credentials), in the shape of :class:`MeSchema`."""
    groups = actor.profile.get("groups")
    return {**actor.profile, "groups": users.groups_of(actor.user_id) if groups is None
            else groups, "permissions": sorted(actor.permissions),
            "authenticated_via": actor.via, "token_id": actor.token_id}


@me_blp.route("")
class Me(MethodView):
    @me_blp.require_permission()
    @me_blp.response(200, MeSchema)
    def get(self):
        """Show me: my profile, role and effective permissions."""
        return me_view(current_actor())

    @me_blp.require_permission()
    @me_blp.arguments(MeUpdateSchema)
    @me_blp.response(200, MeSchema)
    def patch(self, data):
        """Change my name or whether others can find me."""
        actor = current_actor()
        user = users.update_user(actor.user, data, actor)
        db.session.commit()
        return me_view(Actor.of(user, permissions=actor.permissions, via=actor.via,
                                token_id=actor.token_id))


@me_blp.route("/password")
class MyPassword(MethodView):
    @me_blp.require_permission()
    @me_blp.arguments(PasswordChangeSchema)
    @me_blp.response(204)
    @me_blp.alt_response(429, response="DEFAULT_ERROR", description="Too many wrong "
                         "passwords; wait for Retry-After seconds.")
    def post(self, data):
        """Change my password, giving the current one.

        Only in a session from logging in, not with an API token. Wrong current passwords
        count as failed logins; my other sessions end.
        """
        users.change_my_password(current_actor(), data["current_password"],
                                 data["new_password"], client_ip())
        db.session.commit()
