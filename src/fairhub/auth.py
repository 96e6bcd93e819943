"""Who is calling: the Actor of a request, found through the ``fairhub_authenticate`` hook."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask import current_app, g, has_request_context, request


@dataclass
class Actor:
    """The caller of a request: a user (or nobody), how they signed in, and what they may do.

    ``profile`` holds the user's columns as read when the request was authenticated (uuid,
    email, names, role, flags, times; and ``groups``, the code and name of each, when read
    with the credentials), which is all most requests need; ``user`` loads the full database
    object on first use, for services that change it.
    """

    user_id: int | None = None
    profile: dict | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    via: str = "anonymous"
    token_id: int | None = None
    session_id: int | None = None
    role: str | None = None
    _user: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, user: Any, **kwargs: Any) -> "Actor":
        """An actor for a loaded user object (or None for nobody)."""
        if user is None:
            return cls(**kwargs)
        profile = {column: getattr(user, column) for column in PROFILE_COLUMNS}
        return cls(user_id=user.id, profile=profile, _user=user, **kwargs)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def user(self) -> Any:
        """The user's database object, loaded on first use; None for nobody."""
        if self._user is None and self.user_id is not None:
            from fairhub.db import db
            from fairhub.identity.models import User

            self._user = db.session.get(User, self.user_id)
        return self._user

    def can(self, permission: str) -> bool:
        """Whether this actor holds ``permission``."""
        return permission in self.permissions


# The user columns an Actor's profile carries (never the password hash).
PROFILE_COLUMNS = ("uuid", "email", "first_name", "last_name", "role", "approved", "archived",
                   "archived_reason", "searchable", "created_at", "updated_at")


ANONYMOUS = Actor()


def client_ip() -> str | None:
    """The caller's address: the socket peer, or the trusted proxies' word (TRUSTED_PROXIES).

    IPv4 addresses mapped into IPv6 are given as plain IPv4, and an IPv6 zone (``%eth0``)
    is dropped. None outside a request.
    """
    if not has_request_context():
        return None
    return _normalised_ip(request.remote_addr or "")


@lru_cache(maxsize=1024)
def _normalised_ip(address: str) -> str | None:
    try:
        parsed = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return None  # a proxy passed on something that is not an address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def current_actor() -> Actor:
    """The actor of the current request, authenticated once and cached for the request."""
    if not has_request_context():
        return ANONYMOUS
    actor = g.get("fairhub_actor")
    if actor is None:
        hook = current_app.extensions["fairhub"].pm.hook.fairhub_authenticate
        actor = hook(request=request._get_current_object()) or ANONYMOUS
        g.fairhub_actor = actor
    return actor
