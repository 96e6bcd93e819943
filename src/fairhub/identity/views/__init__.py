"""Routes of identity: sessions, users and the caller, groups, roles and permissions, API
tokens and the audit log, one module per resource."""
from __future__ import annotations

from fairhub.identity.views import audit, auth, groups, roles, tokens, users

BLUEPRINTS = [auth.blp, users.blp, users.me_blp, groups.blp, roles.blp, roles.permissions_blp,
              tokens.blp, tokens.admin_blp, audit.blp]
