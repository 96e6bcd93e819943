"""fairhub: a server for FAIR research data catalogues.

Plugins import what they need from here and nowhere else in the core.
"""
from __future__ import annotations

__version__ = "0.1.0"

from fairhub.api import (  # noqa: E402
    Blueprint,
    Dumped,
    JsonBoolean,
    PageArgsSchema,
    PagingSchema,
    PreDumpedSchema,
    Timestamp,
    id_field,
    list_schema,
    page_of,
    paginate,
    timestamp,
    to_json,
)
from fairhub.app import create_app  # noqa: E402
from fairhub.auth import ANONYMOUS, Actor, current_actor  # noqa: E402
from fairhub.config import Setting  # noqa: E402
from fairhub.db import (  # noqa: E402
    CompiledSelect,
    UTCDateTime,
    at_dispose,
    db,
    flush_unique,
    read_connection,
    utcnow,
)
from fairhub.errors import (  # noqa: E402
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)
from fairhub.events import Event, emit  # noqa: E402
from fairhub.hookspecs import hookimpl, hookspec  # noqa: E402
from fairhub.identity.models import Group, GroupMember, Role, User  # noqa: E402
from fairhub.identity.service.roles import permissions_of  # noqa: E402
from fairhub.inputs import parse_json, unstorable  # noqa: E402
from fairhub.jobs import Job, crontab, enqueue  # noqa: E402
from fairhub.permissions import Permission  # noqa: E402
from fairhub.plugins import call_each  # noqa: E402
from fairhub.terminal import echo_table, progress  # noqa: E402
from fairhub.transactions import after_commit, before_commit  # noqa: E402
from fairhub.writebehind import WriteBehind  # noqa: E402

__all__ = [
    "Actor", "after_commit", "ANONYMOUS", "ApiError", "CompiledSelect", "at_dispose", "BadRequest",
    "before_commit", "Blueprint", "call_each", "Conflict", "create_app", "crontab",
    "current_actor", "db", "Dumped", "echo_table", "emit", "enqueue", "Event",
    "flush_unique", "Forbidden", "Group", "GroupMember", "hookimpl", "hookspec", "id_field",
    "Job", "JsonBoolean", "list_schema", "NotFound", "page_of",
    "PageArgsSchema", "paginate", "PagingSchema", "parse_json", "Permission", "permissions_of",
    "PreconditionFailed", "PreDumpedSchema", "progress", "read_connection", "Role", "Setting",
    "Timestamp", "timestamp", "to_json",
    "TooManyRequests", "Unauthorized", "unstorable", "User", "UTCDateTime", "utcnow",
    "ValidationError", "WriteBehind",
]
