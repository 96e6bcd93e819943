"""Session access tokens: login with a password, refresh, logout, and failed-login throttling."""
from __future__ import annotations

import math
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fairhub.auth import PROFILE_COLUMNS, Actor
from fairhub.db import db, utcnow
from fairhub.errors import TooManyRequests, Unauthorized
from fairhub.events import Event, emit
from fairhub.identity.audit import record_now
from fairhub.identity.models import AuthSession, LoginThrottle, User
from fairhub.identity.passwords import verify_password

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


# One indexed lookup: the session and its user's profile.
_USER = {f"user_{name}": name for name in PROFILE_COLUMNS}
_LOOKUP = (
    select(AuthSession.__table__,
           *(User.__table__.c[name].label(label) for label, name in _USER.items()))
    .join(User.__table__, User.id == AuthSession.user_id)
    .where(AuthSession.key == bindparam("key"))
)


def authenticate_session(token: str) -> tuple[Any, dict]:
    """The live session a session access token names, and its user's profile; else 401."""
    try:
        key = _serializer().loads(token, max_age=int(_lifetime().total_seconds()))
    except SignatureExpired:
        raise Unauthorized("The session token has expired; log in again.", headers=_INVALID)
    except BadSignature:
        raise Unauthorized("The token is not valid.", headers=_INVALID)
    session = db.session.connection().execute(_LOOKUP, {"key": key}).first()
    if session is None or session.revoked_at is not None:
        raise Unauthorized("The session has been logged out.", headers=_INVALID)
    if session.expires_at <= utcnow():
        raise Unauthorized("The session token has expired; log in again.", headers=_INVALID)
    user = {name: session._mapping[label] for label, name in _USER.items()}
    if user["archived"] or not user["approved"]:
        raise Unauthorized("The user is not approved or is archived.", headers=_INVALID)
    return session, user


def login(email: str, password: str, ip: str | None) -> dict:
    """Check a password, throttling repeated failures per email and per address."""
    email = email.strip().lower()
    keys = {f"email:{email}": current_app.config["AUTH_LOGIN_MAX_FAILURES"]}
    if ip:
        keys[f"ip:{ip}"] = current_app.config["AUTH_LOGIN_MAX_FAILURES_PER_IP"]
    _refuse_if_locked(list(keys))
    user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password):
        for key, limit in keys.items():
            _note_failure(key, limit)
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
    with db.engine.begin() as connection:
        connection.execute(delete(LoginThrottle).where(LoginThrottle.key == f"email:{email}"))
    response = start_session(user, ip)
    emit(Event("auth", "login", actor=Actor.of(user, via="session"),
               target={"type": "user", "code": user.uuid}))
    db.session.commit()
    return response


def _refuse_if_locked(keys: list[str]) -> None:
    now = utcnow()
    locked = db.session.scalars(
        select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys),
                                                 LoginThrottle.locked_until > now)
    ).all()
    if locked:
        wait = max(math.ceil((until - now).total_seconds()) for until in locked)
        raise TooManyRequests(f"Too many failed logins; try again in {wait} seconds.",
                              headers={"Retry-After": str(wait)})


def _note_failure(key: str, limit: int) -> None:
    """Count a failure for ``key`` atomically, locking it once it reaches ``limit``."""
    now = utcnow()
    window = timedelta(seconds=current_app.config["AUTH_LOGIN_WINDOW_SECONDS"])
    lockout = timedelta(seconds=current_app.config["AUTH_LOGIN_LOCKOUT_SECONDS"])
    with db.engine.begin() as connection:
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            insert(LoginThrottle).values(key=key, failures=0, window_start=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = LoginThrottle.__table__.c
        stale = row.window_start <= now - window
        connection.execute(
            update(LoginThrottle).where(row.key == key).values(
                failures=case((stale, 1), else_=row.failures + 1),
                window_start=case((stale, now), else_=row.window_start),
            )
        )
        connection.execute(
            update(LoginThrottle).where(row.key == key, row.failures >= limit)
            .values(locked_until=now + lockout, failures=0, window_start=now)
        )


def refresh(session: AuthSession) -> dict:
    """Swap a live session for a new one with a fresh lifetime."""
    session.revoked_at = utcnow()
    response = start_session(session.user, session.ip)
    db.session.commit()
    return response


def logout(session: AuthSession) -> None:
    session.revoked_at = utcnow()
    emit(Event("auth", "logout", target={"type": "user", "code": session.user.uuid}))
    db.session.commit()
