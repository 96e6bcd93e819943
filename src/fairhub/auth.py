"""Who is calling: the Actor of a request, found through the ``fairhub_authenticate`` hook."""
from __future__ import annotations

import ipaddress
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
    session_id: int | None = None
    role: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def can(self, permission: str) -> bool:
        """Whether this actor holds ``permission``."""
        return permission in self.permissions


ANONYMOUS = Actor()


def client_ip() -> str | None:
    """The caller's address: the socket peer, or the trusted proxies' word (TRUSTED_PROXIES).

    IPv4 addresses mapped into IPv6 are given as plain IPv4. None outside a request.
    """
    if not has_request_context():
        return None
    address = request.remote_addr or ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(parsed)


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
