"""Who is calling: the Actor of a request, found through the ``fairhub_authenticate`` hook."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_request_context, request


@dataclass(frozen=True)
class Actor:
    """The caller of a request: a user (or nobody), how they signed in, and what they may do."""

    user: Any = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    via: str = "anonymous"
    token_id: int | None = None
    role: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def can(self, permission: str) -> bool:
        """Whether this actor holds ``permission``."""
        return permission in self.permissions


ANONYMOUS = Actor()


def current_actor() -> Actor:
    """The actor of the current request, authenticated once and cached for the request."""
    if not has_request_context():
        return ANONYMOUS
    actor = g.get("fairhub_actor")
    if actor is None:
        hook = current_app.extensions["fairhub"].pm.hook
        actor = hook.fairhub_authenticate(request=request) or ANONYMOUS
        g.fairhub_actor = actor
    return actor
