"""Authentication of requests and the permission check every protected route goes through."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request

from fairhub.api import IGNORES_CREDENTIALS_ATTR, PERMISSIONS_ATTR, PUBLIC_ATTR
from fairhub.auth import Actor, client_ip, current_actor
from fairhub.errors import Forbidden, Unauthorized
from fairhub.identity.service import sessions, tokens
from fairhub.identity.service.roles import GUEST, managed_permissions, permissions_of


def actor_for(user_id: int, profile: dict, via: str, permissions: frozenset[str],
              token: Any = None, session: Any = None) -> Actor:
    """The actor for a user holding ``permissions``, capped by the token's role if any."""
    if token is not None:
        permissions &= permissions_of(token.role, token.role_permissions)
    return Actor(
        user_id=user_id, profile=profile, permissions=permissions, via=via,
        token_id=getattr(token, "id", None), session_id=getattr(session, "id", None),
        role=token.role if token is not None else profile["role"],
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
        token, owner = tokens.authenticate_token(credentials, client_ip())
        if token.single_use:
            g.fairhub_single_use = token, owner  # used up by _admit, if the request gets in
        held = permissions_of(owner["role"], token.owner_role_permissions)
        return actor_for(token.owner_id, owner, "token", held, token=token)
    session, user = sessions.authenticate_session(credentials)
    held = permissions_of(user["role"], session.user_role_permissions)
    return actor_for(session.user_id, user, "session", held, session=session)


def _handler(endpoint: str | None, method: str):
    view = current_app.view_functions.get(endpoint) if endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
        if view is None and method == "HEAD":
            view = getattr(view_class, "get", None)
    return view


def access_of(handler) -> tuple[tuple[str, ...] | None, bool]:
    """A view's rule: (None when public, () for any signed-in caller, else the permissions
    it needs; whether it ignores credentials). A view that says nothing needs a sign-in."""
    if getattr(handler, PUBLIC_ATTR, False):
        return None, getattr(handler, IGNORES_CREDENTIALS_ATTR, False)
    return getattr(handler, PERMISSIONS_ATTR, ()), False


def route_access(endpoint: str | None, method: str) -> tuple[tuple[str, ...] | None, bool]:
    """:func:`access_of` the view serving ``endpoint`` and ``method``."""
    if endpoint is None or _framework_route(endpoint):
        return None, False
    return access_of(_handler(endpoint, method))


def required_permissions(endpoint: str | None, method: str) -> tuple[str, ...] | None:
    """What a route needs: None when public, () when any signed-in caller will do."""
    return route_access(endpoint, method)[0]


def unmarked_routes(app: Flask) -> list[str]:
    """Routes of the API whose views say neither ``require_permission`` nor ``public``."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if _framework_route(rule.endpoint):
                continue
            automatic = {"OPTIONS"} if getattr(rule, "provide_automatic_options", False) else set()
            for method in sorted((rule.methods or set()) - {"HEAD"} - automatic):
                handler = _handler(rule.endpoint, method)
                if not any(hasattr(handler, a) for a in (PERMISSIONS_ATTR, PUBLIC_ATTR)):
                    found.append(f"{method} {rule.rule}")
    return found


def _framework_route(endpoint: str | None) -> bool:
    """The OpenAPI document and the docs pages, open to anyone."""
    return bool(endpoint) and (endpoint.startswith("api-docs.") or endpoint == "docs_asset")


def enforce_permissions() -> None:
    """Refuse the request unless the caller holds every permission its route requires.

    Credentials are checked here, before the view opens a transaction (recording a token's
    use writes in a transaction of its own), on every route but those marked as ignoring
    them (logging in, so that a stale token does not stand in the way). Only Flask's own
    answer to OPTIONS goes unchecked; a view that declares OPTIONS is checked like any other.
    """
    req = request._get_current_object()
    if req.method == "OPTIONS" and getattr(req.url_rule, "provide_automatic_options", False):
        return
    cache = current_app.extensions["fairhub"].route_permissions
    key = (req.endpoint, req.method)
    access = cache.get(key)
    if access is None:
        access = cache[key] = route_access(req.endpoint, req.method)
    required, ignores_credentials = access
    if required is None:
        if "HTTP_AUTHORIZATION" not in req.environ or ignores_credentials:
            return
        current_actor()
    else:
        _check(current_actor(), required)
    _admit()


def _check(actor: Actor, required: tuple[str, ...]) -> None:
    """401 for nobody on a route needing a sign-in or a permission; 403 without one."""
    missing = [name for name in required if not actor.can(name)]
    if not actor.authenticated and (missing or not required):
        raise Unauthorized("This needs a Bearer token.", headers={"WWW-Authenticate": "Bearer"})
    if missing:
        raise Forbidden(f"This needs the permission {missing[0]!r}.",
                        details={"missing_permissions": missing})


def _admit() -> None:
    """Use up the request's single-use token now that the request is let in to a view: a
    refused request, or one no route answers, leaves it unused."""
    pending = g.pop("fairhub_single_use", None)
    if pending is not None and request.endpoint is not None:
        tokens.consume(*pending, client_ip())


def install(app: Flask) -> None:
    app.before_request(enforce_permissions)
