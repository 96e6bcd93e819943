"""Routes for roles (``/api/roles``) and permissions (``/api/permissions``)."""
from __future__ import annotations

from flask.views import MethodView

from fairhub.api import Blueprint, PageArgsSchema, list_schema, page_of
from fairhub.auth import current_actor
from fairhub.db import db
from fairhub.identity.schemas import (
    PermissionSchema,
    RoleCreateSchema,
    RoleSchema,
    RoleUpdateSchema,
    UserSchema,
    UsersSchema,
)
from fairhub.identity.service import roles

blp = Blueprint("roles", __name__, url_prefix="/api/roles", description="Roles.")
permissions_blp = Blueprint("permissions", __name__, url_prefix="/api/permissions",
                            description="Permissions plugins declare.")


@blp.route("")
class Roles(MethodView):
    @blp.require_permission("roles/read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(RoleSchema))
    def get(self, args):
        """List the managed roles, then custom roles, with their permissions."""
        described = [roles.describe_role(code) for code in roles.all_role_codes()]
        return page_of(described, args["page"], args["page_size"])

    @blp.require_permission("roles/create")
    @blp.arguments(RoleCreateSchema)
    @blp.response(201, RoleSchema)
    def post(self, data):
        """Create a custom role from a base role (its permissions, unless given)."""
        role = roles.create_role(data, current_actor())
        db.session.commit()
        return roles.describe_role(role.code)


@blp.route("/<code>")
class RoleByCode(MethodView):
    @blp.require_permission("roles/read")
    @blp.response(200, RoleSchema)
    def get(self, code):
        """Read a role with its permissions and how many users hold it."""
        return roles.describe_role(code)

    @blp.require_permission("roles/update")
    @blp.arguments(RoleUpdateSchema)
    @blp.response(200, RoleSchema)
    def patch(self, data, code):
        """Change a custom role's name, description or permissions."""
        roles.update_role(code, data, current_actor())
        db.session.commit()
        return roles.describe_role(code)

    @blp.require_permission("roles/delete")
    @blp.response(204)
    def delete(self, code):
        """Delete a custom role that no user or token holds."""
        roles.delete_role(code, current_actor())
        db.session.commit()


@blp.route("/<code>/assign")
class Assign(MethodView):
    @blp.require_permission("roles/assign")
    @blp.arguments(UsersSchema)
    @blp.response(200, UserSchema(many=True))
    def patch(self, data, code):
        """Give this role to many users at once (all or none)."""
        changed = roles.assign_role(code, [u["uuid"] for u in data["users"]], current_actor())
        db.session.commit()
        return changed


@permissions_blp.route("")
class Permissions(MethodView):
    @permissions_blp.require_permission("roles/read")
    @permissions_blp.arguments(PageArgsSchema, location="query")
    @permissions_blp.response(200, list_schema(PermissionSchema))
    def get(self, args):
        """List every permission the core and the enabled plugins declare."""
        return page_of(roles.declared_permissions(), args["page"], args["page_size"])
