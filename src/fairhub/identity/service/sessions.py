"""Session access tokens: login with a password, refresh, logout, and failed-login throttling."""
from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fairhub.auth import PROFILE_COLUMNS, Actor
from fairhub.db import UTCDateTime, db, utcnow
from fairhub.errors import BadRequest, TooManyRequests, Unauthorized
from fairhub.events import Event, emit
from fairhub.identity.models import ApiToken, AuthSession, LoginThrottle, Role, User
from fairhub.identity.service.audit import record_now
from fairhub.identity.service.groups import groups_in, with_groups
from fairhub.identity.service.passwords import verify_password

SALT = "fairhub.session"
_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _serializer() -> URLSafeTimedSerializer:
    host = current_app.extensions["fairhub"]
    if host.session_serializer is None:
        host.session_serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], SALT)
    return host.session_serializer


def _lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["AUTH_SESSION_MINUTES"])


def start_session(user: User, ip: str | None) -> dict:
    """Open a session for ``user`` and return the token response."""
    session = AuthSession(key=secrets.token_urlsafe(24), user=user,
                          expires_at=utcnow() + _lifetime(), ip=ip)
    db.session.add(session)
    db.session.flush()
    return {"access_token": _serializer().dumps(session.key), "token_type": "Bearer",
            "expires_in": int(_lifetime().total_seconds())}


# One indexed lookup: the session, its user's profile and groups, and what the user's role
# stores if it is a custom role (see fairhub.identity.service.roles.permissions_of). Built once:
# SQLAlchemy compiles it once per dialect and keeps it in its statement cache.
_USER = {f"user_{name}": name for name in PROFILE_COLUMNS}
_LOOKUP = with_groups(
    select(AuthSession.__table__,
           *(User.__table__.c[name].label(label) for label, name in _USER.items()),
           Role.__table__.c.permissions.label("user_role_permissions"))
    .join(User.__table__, User.id == AuthSession.user_id)
    .outerjoin(Role.__table__, Role.__table__.c.code == User.__table__.c.role)
    .where(AuthSession.key == bindparam("key")), User.__table__.c.id)


def authenticate_session(token: str) -> tuple[Any, dict]:
    """The live session a session access token names, and its user's profile (with
    ``groups``); else 401."""
    try:
        key = _serializer().loads(token, max_age=int(_lifetime().total_seconds()))
    except SignatureExpired:
        raise Unauthorized("The session token has expired; log in again.", headers=_INVALID)
    except BadSignature:
        raise Unauthorized("The token is not valid.", headers=_INVALID)
    rows = db.session.execute(_LOOKUP, {"key": key}).all()
    session = rows[0] if rows else None
    if session is None or session.revoked_at is not None:
        raise Unauthorized("The session has been logged out.", headers=_INVALID)
    if session.expires_at <= utcnow():
        raise Unauthorized("The session token has expired; log in again.", headers=_INVALID)
    user = {name: getattr(session, label) for label, name in _USER.items()}
    user["groups"] = groups_in(rows)
    if user["archived"] or not user["approved"]:
        raise Unauthorized("The user is not approved or is archived.", headers=_INVALID)
    return session, user


def login(email: str, password: str, ip: str | None) -> dict:
    """Check a password, throttling repeated failures per email and per address, and open a
    session (the caller commits it)."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if not check_password(user, email, password, ip):
        # The actor stays anonymous: whoever tried has not shown they are that user.
        record_now(Event("auth", "login_failed", actor=Actor(),
                         target={"type": "user", "code": email}), ip=ip)
        raise Unauthorized("The email or password is wrong.")
    if not user.active:
        record_now(Event("auth", "login_refused", actor=Actor.of(user),
                         target={"type": "user", "code": user.uuid},
                         details={"reason": "archived" if user.archived else "unapproved"}), ip=ip)
        raise Unauthorized("This account is archived." if user.archived
                           else "This account is waiting for approval.")
    response = start_session(user, ip)
    emit(Event("auth", "login", actor=Actor.of(user, via="session"),
               target={"type": "user", "code": user.uuid}))
    return response


def check_password(user: User | None, email: str, password: str, ip: str | None) -> bool:
    """Whether ``password`` is ``user``'s, under the failed-login throttle of ``email`` and
    ``ip``: 429 while either is locked. Each check counts as a failure before it starts
    (so concurrent guesses cannot outrun the limit); a right password takes it back and
    clears the email's count."""
    keys = _throttle_keys(email, ip)
    _reserve(keys)
    if not verify_password(user.password_hash if user else None, password):
        return False
    email_key, *others = keys
    with db.engine.begin() as connection:
        connection.execute(delete(LoginThrottle).where(LoginThrottle.key == email_key))
        _release(connection, others)
    return True


def _throttle_keys(email: str, ip: str | None) -> dict[str, int]:
    """The throttle keys of a password check (the email's first) and their limits.

    The email is keyed by its SHA-256, so the table never holds addresses people typed.
    """
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    keys = {f"email:{digest}": current_app.config["AUTH_LOGIN_MAX_FAILURES"]}
    if ip:
        keys[f"ip:{ip}"] = current_app.config["AUTH_LOGIN_MAX_FAILURES_PER_IP"]
    return keys


def _reserve(keys: dict[str, int]) -> None:
    """Count one failure for every key up front, each in one atomic upsert; refuse (429,
    taking the counts back) when a key is locked or this attempt goes past its limit."""
    now = utcnow()
    locks = []
    with db.engine.begin() as connection:
        counted = []
        for key, limit in keys.items():
            until = connection.execute(_reservation(connection, key, limit, now)).scalar_one()
            if until is None:
                counted.append(key)
            else:
                locks.append(until)
        if locks:
            _release(connection, counted)
    if locks:
        wait = max(1, max(math.ceil((until - now).total_seconds()) for until in locks))
        raise TooManyRequests(f"Too many failed logins; try again in {wait} seconds.",
                              headers={"Retry-After": str(wait)})


def _reservation(connection, key: str, limit: int, now: datetime):
    """The upsert counting one failure for ``key`` and returning its lock end (None when the
    attempt may go ahead). A lock that ended or a window that passed starts a new count."""
    window = timedelta(seconds=current_app.config["AUTH_LOGIN_WINDOW_SECONDS"])
    lockout = timedelta(seconds=current_app.config["AUTH_LOGIN_LOCKOUT_SECONDS"])
    row = LoginThrottle.__table__.c
    moment = literal(now, UTCDateTime())
    locked = row.locked_until > moment
    fresh = or_(row.window_start <= literal(now - window, UTCDateTime()),
                row.locked_until <= moment)
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    return (
        insert(LoginThrottle).values(key=key, failures=1, window_start=now)
        .on_conflict_do_update(index_elements=["key"], set_={
            "failures": case((locked, row.failures), (fresh, 1), else_=row.failures + 1),
            "window_start": case((locked, row.window_start), (fresh, moment),
                                 else_=row.window_start),
            "locked_until": case((locked, row.locked_until), (fresh, None),
                                 (row.failures + 1 > limit, literal(now + lockout, UTCDateTime())),
                                 else_=None),
        })
        .returning(row.locked_until)
    )


def _release(connection, keys: list[str]) -> None:
    """Take back one counted failure of each of ``keys``."""
    if keys:
        row = LoginThrottle.__table__.c
        connection.execute(update(LoginThrottle).where(row.key.in_(keys), row.failures > 0)
                           .values(failures=row.failures - 1))


def revoke_sessions(user: User, keep: int | None = None) -> None:
    """End every live session of ``user`` but ``keep`` (a session id), in this transaction."""
    query = update(AuthSession).where(AuthSession.user_id == user.id,
                                      AuthSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    db.session.execute(query.values(revoked_at=utcnow()))


def session_of(actor: Actor) -> AuthSession:
    """The session ``actor`` signed in with; 400 for a request signed in with an API token."""
    if actor.session_id is None:
        raise BadRequest("This request is signed in with an API token, not a session.")
    return db.session.get(AuthSession, actor.session_id)


def refresh(actor: Actor) -> dict:
    """Swap the actor's live session for a new one with a fresh lifetime."""
    session = session_of(actor)
    session.revoked_at = utcnow()
    return start_session(session.user, session.ip)


def logout(actor: Actor) -> None:
    """End the actor's session: its token stops working."""
    session = session_of(actor)
    session.revoked_at = utcnow()
    emit(Event("auth", "logout", target={"type": "user", "code": session.user.uuid}))


def credential_expiry(actor: Actor) -> datetime | None:
    """When the credential of ``actor``'s request stops working: its session's end, or its
    API token's ``valid_to`` (or the time it was expired)."""
    if actor.session_id is not None:
        return db.session.get(AuthSession, actor.session_id).expires_at
    if actor.token_id is not None:
        token = db.session.get(ApiToken, actor.token_id)
        return min(filter(None, (token.valid_to, token.expired_at)))
    return None
