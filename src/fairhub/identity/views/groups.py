"""Routes for groups (``/api/groups``)."""
from __future__ import annotations

from flask.views import MethodView

from fairhub.api import Blueprint, list_schema, paginate
from fairhub.auth import current_actor
from fairhub.db import db
from fairhub.identity.schemas import (
    GroupCreateSchema,
    GroupSchema,
    GroupUpdateSchema,
    SearchQuerySchema,
    UsersSchema,
)
from fairhub.identity.service import groups

blp = Blueprint("groups", __name__, url_prefix="/api/groups", description="Groups of users.")


@blp.route("")
class Groups(MethodView):
    @blp.require_permission("groups/read")
    @blp.arguments(SearchQuerySchema, location="query")
    @blp.response(200, list_schema(GroupSchema))
    def get(self, args):
        """List groups, optionally matching part of their code or name."""
        page = paginate(groups.search_groups(args.get("q")), args["page"], args["page_size"])
        actor = current_actor()
        return {**page, "items": [groups.present(g, actor) for g in page["items"]]}

    @blp.require_permission("groups/create")
    @blp.arguments(GroupCreateSchema)
    @blp.response(201, GroupSchema)
    def post(self, data):
        """Create a group, optionally with members."""
        actor = current_actor()
        group = groups.create_group(data, actor)
        db.session.commit()
        return groups.present(group, actor)


@blp.route("/<code>")
class GroupByCode(MethodView):
    @blp.require_permission("groups/read")
    @blp.response(200, GroupSchema)
    def get(self, code):
        """Read a group and its members."""
        return groups.present(groups.get_group(code), current_actor())

    @blp.require_permission("groups/update")
    @blp.arguments(GroupUpdateSchema)
    @blp.response(200, GroupSchema)
    def patch(self, data, code):
        """Change a group's name, description or whole member list."""
        actor = current_actor()
        group = groups.update_group(groups.get_group(code), data, actor)
        db.session.commit()
        return groups.present(group, actor)

    @blp.require_permission("groups/delete")
    @blp.response(204)
    def delete(self, code):
        """Delete a group."""
        groups.delete_group(groups.get_group(code), current_actor())
        db.session.commit()


@blp.route("/<code>/members")
class Members(MethodView):
    @blp.require_permission("groups/update")
    @blp.arguments(UsersSchema)
    @blp.response(200, GroupSchema)
    def post(self, data, code):
        """Add users to a group (all or none)."""
        actor = current_actor()
        group = groups.add_members(groups.get_group(code), [u["uuid"] for u in data["users"]],
                                   actor)
        db.session.commit()
        return groups.present(group, actor)


@blp.route("/<code>/members/<uuid>")
class Member(MethodView):
    @blp.require_permission("groups/update")
    @blp.response(204)
    def delete(self, code, uuid):
        """Remove a user from a group."""
        groups.remove_member(groups.get_group(code), uuid, current_actor())
        db.session.commit()
