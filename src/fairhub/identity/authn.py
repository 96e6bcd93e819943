"""Authentication of requests and the permission check every protected route goes through."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

from fairhub.api import PERMISSIONS_ATTR
from fairhub.auth import Actor, client_ip, current_actor
from fairhub.errors import Forbidden, Unauthorized
from fairhub.identity import sessions, tokens
from fairhub.identity.roles import GUEST, managed_permissions, role_permissions



def actor_for(user: Any, via: str, token: Any = None, session: Any = None) -> Actor:
    """The actor for ``user``: their role's permissions, capped by the token's role if any."""
    permissions = role_permissions(user.role)
    if token is not None:
        permissions &= role_permissions(token.role)
    return Actor(
        user=user, permissions=permissions, via=via,
        token_id=getattr(token, "id", None), session_id=getattr(session, "id", None),
        role=token.role if token is not None else user.role,
    )


def authenticate(req) -> Actor | None:
    """The core's handler: a Bearer API token (``fh_...``) or session token; else anonymous.

    A present but bad token raises 401 rather than falling through to anonymous.
    """
    header = req.headers.get("Authorization")
    if header is None:
        if current_app.config["PUBLIC_MODE"]:
            return Actor(permissions=managed_permissions(GUEST), via="anonymous", role=GUEST)
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.",
                           headers={"WWW-Authenticate": "Bearer"})
    if credentials.startswith(tokens.SECRET_PREFIX):
        token = tokens.authenticate_token(credentials, client_ip())
        return actor_for(token.owner, "token", token)
    session = sessions.authenticate_session(credentials)
    return actor_for(session.user, "session", session=session)


def required_permissions(endpoint: str | None, method: str) -> tuple[str, ...] | None:
    """What a route needs: None when public, () when any signed-in caller will do."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        view = handler
    return getattr(view, PERMISSIONS_ATTR, None)


def enforce_permissions() -> None:
    """Refuse the request unless the caller holds every permission its route requires.

    A request carrying credentials is authenticated here, before its view opens a
    transaction, whatever its route: recording a token's use writes in a transaction of its
    own, which must not wait behind the request's.
    """
    if request.method == "OPTIONS":
        return
    if "Authorization" in request.headers:
        current_actor()
    cache = current_app.extensions["fairhub"].route_permissions
    key = (request.endpoint, request.method)
    if key not in cache:
        cache[key] = required_permissions(request.endpoint, request.method)
    required = cache[key]
    if required is None:
        return
    actor = current_actor()
    missing = [name for name in required if not actor.can(name)]
    if not actor.authenticated and (missing or not required):
        raise Unauthorized("This needs a Bearer token.", headers={"WWW-Authenticate": "Bearer"})
    if missing:
        raise Forbidden(f"This needs the permission {missing[0]!r}.",
                        details={"missing_permissions": missing})


def install(app: Flask) -> None:
    app.before_request(enforce_permissions)
