"""Long-life API tokens: issue, check on every use, list, revoke and administer."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import Select, bindparam, or_, select, update

from fairhub.auth import PROFILE_COLUMNS, Actor
from fairhub.db import db, flush_unique, like_pattern, utcnow
from fairhub.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from fairhub.events import Event, emit
from fairhub.identity.models import ApiToken, Role, User, token_status
from fairhub.identity.service.audit import record_now
from fairhub.identity.service.groups import groups_in, with_groups
from fairhub.identity.service.roles import grantable_roles, role_exists, role_permissions
from fairhub.writebehind import WriteBehind

log = logging.getLogger("fairhub.tokens")

SECRET_PREFIX = "fh_"
KEY_LENGTH = 16
# The key part of a secret: what token_hex gives; anything else is not looked up.
_KEY = re.compile(f"[0-9a-f]{{{KEY_LENGTH}}}")
STATUSES = ("active", "inactive", "expired", "used", "revoked")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_networks(values: list[str]) -> list[str]:
    """Normalise IPs and CIDR ranges (IPv4 or IPv6); a bad one is a 422 naming it."""
    networks, errors = [], {}
    for index, value in enumerate(values):
        try:
            networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            errors[str(index)] = [f"{value!r} is not an IP address or CIDR range."]
    if errors:
        raise ValidationError("Some allowed_ips are not valid.",
                              details={"json": {"allowed_ips": errors}})
    return networks


def ip_allowed(allowed: list[str], ip: str) -> bool:
    """Whether ``ip`` falls in one of the ``allowed`` ranges (any, when there are none)."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in allowed)


def issue_token(owner: User, *, name: str, role: str, valid_to: datetime, reason: str,
                allowed_ips: list[str] | None = None, single_use: bool = False,
                actor: Actor | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``owner`` and return it with its secret, which is never kept."""
    now = utcnow()
    if not role_exists(role):
        raise ValidationError(f"Role {role!r} does not exist.",
                              details={"json": {"role": ["Unknown role."]}})
    # Never more than the owner holds, nor than the caller (perhaps a narrower token) holds.
    held = role_permissions(owner.role)
    if actor is not None and actor.authenticated:
        held &= actor.permissions
    beyond = sorted(role_permissions(role) - held)
    if beyond:
        raise Forbidden(f"Role {role!r} grants permissions beyond what the token's owner "
                        "(or the calling token) holds.", details={"permissions": beyond})
    if valid_to.tzinfo is None:
        valid_to = valid_to.replace(tzinfo=now.tzinfo)
    if valid_to <= now:
        raise ValidationError("valid_to must be in the future.",
                              details={"json": {"valid_to": ["Must be in the future."]}})
    longest = now + timedelta(days=current_app.config["TOKENS_MAX_LIFETIME_DAYS"])
    secret = SECRET_PREFIX + secrets.token_hex(KEY_LENGTH // 2) + secrets.token_urlsafe(32)
    token = ApiToken(
        key=secret[len(SECRET_PREFIX):len(SECRET_PREFIX) + KEY_LENGTH],
        secret_hash=_digest(secret), owner=owner, name=name, role=role, reason=reason,
        valid_to=min(valid_to, longest), allowed_ips=parse_networks(allowed_ips or []),
        single_use=single_use, created_at=now, use_count=0,
    )
    db.session.add(token)
    flush_unique("Another token was given the same key at the same moment; try again.")
    emit(Event("token", "create", actor=actor, target=_target(token),
               details={"name": name, "role": role, "owner": owner.email,
                        "single_use": single_use, "reason": reason}))
    return token, secret


def _target(token: ApiToken) -> dict:
    return {"type": "token", "code": token.id}


def _rejection(token, owner: dict, now: datetime, ip: str) -> str | None:
    status = token_status(token, now)
    if status != "active":
        return {
            "revoked": "The API token has been revoked.",
            "expired": "The API token has expired.",
            "used": "The single-use API token has already been used.",
            "inactive": "The API token is deactivated.",
        }[status]
    if not ip_allowed(token.allowed_ips, ip):
        return f"The API token may not be used from {ip}."
    if owner["archived"]:
        return "The API token's owner is archived."
    if not owner["approved"]:
        return "The API token's owner is not approved."
    return None


def _token_actor(token, owner: dict) -> Actor:
    return Actor(user_id=token.owner_id, profile=owner, via="token", token_id=token.id)


def _reject(token, owner: dict, message: str, ip: str) -> None:
    record_now(Event("token", "reject", actor=_token_actor(token, owner), target=_target(token),
                     details={"reason": message}), ip=ip)
    raise Unauthorized(message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _lookup() -> Select:
    """One indexed read: what checking a token needs of it, its owner's profile and groups,
    and the permissions stored for the owner's and the token's roles if they are custom
    roles."""
    users, owner_role, token_role = (User.__table__, Role.__table__.alias("owner_role"),
                                     Role.__table__.alias("token_role"))
    return with_groups(
        select(*(ApiToken.__table__.c[name] for name in _CHECKED),
               *(users.c[name].label(label) for label, name in _OWNER.items()),
               owner_role.c.permissions.label("owner_role_permissions"),
               token_role.c.permissions.label("role_permissions"))
        .join(users, users.c.id == ApiToken.owner_id)
        .outerjoin(owner_role, owner_role.c.code == users.c.role)
        .outerjoin(token_role, token_role.c.code == ApiToken.role)
        .where(ApiToken.key == bindparam("key")), users.c.id)


_CHECKED = ("id", "secret_hash", "owner_id", "role", "valid_to", "allowed_ips", "single_use",
            "deactivated_at", "expired_at", "revoked_at", "used_at")
_OWNER = {f"owner_{name}": name for name in PROFILE_COLUMNS}
_LOOKUP = _lookup()  # built once: SQLAlchemy compiles it once per dialect and caches that


def authenticate_token(secret: str, ip: str) -> tuple[Any, dict]:
    """The token a secret belongs to and its owner's profile (with ``groups``), after every
    check.

    The check is one indexed read and a constant-time compare of SHA-256 digests; the read
    of a reusable token that passed is remembered for ``TOKENS_CACHE_SECONDS`` (see
    :func:`install_check_cache`), while the compare and every check against the time and
    the client's address are made at every request. The use of a reusable token is
    recorded (see :func:`install_usage`); a single-use token is only used
    up by :func:`consume`, once its request has passed the permission check. The token row
    also carries ``owner_role_permissions`` and ``role_permissions``, what the owner's and
    the token's custom roles store (see :func:`~fairhub.identity.service.roles.permissions_of`).
    """
    key = secret[len(SECRET_PREFIX):len(SECRET_PREFIX) + KEY_LENGTH]
    rows = remembered = _remembered(key)
    if rows is None:
        rows = db.session.execute(_LOOKUP, {"key": key}).all() if _KEY.fullmatch(key) else []
    token = rows[0] if rows else None
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(secret)):
        raise Unauthorized("The API token is not valid.",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    owner = {name: getattr(token, label) for label, name in _OWNER.items()}
    owner["groups"] = groups_in(rows)
    now = utcnow()
    problem = _rejection(token, owner, now, ip)
    if problem:
        _reject(token, owner, problem, ip)
    if not token.single_use:
        current_app.extensions[USAGE_EXTENSION].keep(
            {"token_id": token.id, "uses": 1, "last_at": now, "last_ip": ip}, key=token.id)
        if remembered is None:
            _remember(key, rows)
    return token, owner


def consume(token, owner: dict, ip: str) -> None:
    """Use up a single-use token with one conditional UPDATE, or refuse the loser of a race:
    of any number of concurrent uses on any number of hosts exactly one succeeds."""
    now = utcnow()
    with db.engine.begin() as connection:
        consumed = connection.execute(
            update(ApiToken).where(ApiToken.id == token.id, status_clause("active", now))
            .values(used_at=now, last_used_at=now, last_used_ip=ip,
                    use_count=ApiToken.use_count + 1)
        ).rowcount
    if not consumed:
        _reject(token, owner, "The single-use API token has already been used.", ip)
    record_now(Event("token", "use", actor=_token_actor(token, owner), target=_target(token)),
               ip=ip)


# Recording uses and remembering checks


def _write_uses(connection, uses: list[dict]) -> None:
    if connection.dialect.name == "postgresql":
        # Bookkeeping may lose its last instants in a crash; it need not wait for disk.
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    connection.execute(_USES, uses)


_USES = update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(
    use_count=ApiToken.use_count + bindparam("uses"),
    last_used_at=bindparam("last_at", type_=ApiToken.last_used_at.type),
    last_used_ip=bindparam("last_ip"))


def _add_uses(waiting: dict, new: dict) -> dict:
    return {**new, "uses": waiting["uses"] + new["uses"]}


USAGE_EXTENSION = "fairhub.token_usage"
# Tokens whose uses one worker keeps while they cannot be written; beyond, uses are dropped.
USAGE_MAX_PENDING = 10_000


def install_usage(app) -> None:
    """Count reusable tokens' uses in each worker and write them together, at most every
    ``TOKENS_USAGE_FLUSH_SECONDS`` (see :class:`fairhub.writebehind.WriteBehind`).

    Writing on every request would make each authenticated call a database write; so token
    checks stay reads, and a worker loses only the counts of its last seconds if it is killed
    outright."""
    app.extensions[USAGE_EXTENSION] = WriteBehind(
        app, _write_uses, interval=app.config["TOKENS_USAGE_FLUSH_SECONDS"],
        limit=USAGE_MAX_PENDING, items="tokens' use counts", place="the api_tokens table",
        combine=_add_uses, log=log)


CHECKS_EXTENSION = "fairhub.token_checks"
CHECKS_LIMIT = 10_000  # tokens remembered at most; beyond, the least recently used go
_CHECKS_LOCK = threading.Lock()  # a TTLCache is not safe across threads


def install_check_cache(app) -> None:
    """Remember what checking a reusable API token read (the token, its owner's profile and
    groups, their roles' permissions) for ``TOKENS_CACHE_SECONDS`` after a check passed.

    A script calling the API many times a second then costs one read a second per worker
    instead of one per call (about a third of a dataset read on PostgreSQL). The price: a
    change made through another worker (the token revoked or deactivated, its owner archived,
    a role or group edited) counts in this worker only once its copy is that old. The worker
    that made the change forgets every check at once (:func:`forget_checks`). Failed checks
    and single-use tokens are never remembered."""
    # The clock is looked up at each call, so that tests can move it.
    app.extensions[CHECKS_EXTENSION] = TTLCache(
        CHECKS_LIMIT, float(app.config["TOKENS_CACHE_SECONDS"]), timer=lambda: time.monotonic())


def _remembered(key: str) -> list | None:
    with _CHECKS_LOCK:
        return current_app.extensions[CHECKS_EXTENSION].get(key)


def _remember(key: str, rows: list) -> None:
    checks = current_app.extensions[CHECKS_EXTENSION]
    if checks.ttl > 0:
        with _CHECKS_LOCK:
            checks[key] = rows


# Events after which this worker's remembered checks may be out of date.
_CHANGES_CHECKS = frozenset({"token", "user", "role", "group"})


def forget_checks(event: Event) -> None:
    """Forget every remembered token check if ``event`` may have changed one (see
    :func:`install_check_cache`); a token's own use and rejections change nothing checked."""
    if event.type in _CHANGES_CHECKS and event.action not in ("use", "reject"):
        with _CHECKS_LOCK:
            current_app.extensions[CHECKS_EXTENSION].clear()


def my_tokens(actor: Actor) -> Select:
    """The actor's own tokens. Through an API token, only those of roles that token could
    grant: a token narrower than its owner neither sees nor revokes the owner's broader ones.
    """
    query = select(ApiToken).where(ApiToken.owner_id == actor.user_id)
    if actor.token_id is not None:
        query = query.where(ApiToken.role.in_(grantable_roles(actor)))
    return query.order_by(ApiToken.id.desc())


def search_tokens(filters: dict) -> Select:
    """All tokens matching owner (email or uuid), name (substring) and status."""
    query = select(ApiToken).join(ApiToken.owner).order_by(ApiToken.id.desc())
    if filters.get("owner"):
        owner = filters["owner"].lower()
        query = query.where(or_(User.email == owner, User.uuid == owner))
    if filters.get("name"):
        query = query.where(ApiToken.name.ilike(like_pattern(filters["name"]), escape="\\"))
    if filters.get("status"):
        query = query.where(status_clause(filters["status"], utcnow()))
    return query


def status_clause(status: str, now: datetime):
    """SQL for tokens in ``status``, mirroring :meth:`ApiToken.status`."""
    revoked = ApiToken.revoked_at.is_not(None)
    expired = or_(ApiToken.expired_at.is_not(None), ApiToken.valid_to <= now)
    used = ApiToken.used_at.is_not(None)
    inactive = ApiToken.deactivated_at.is_not(None)
    if status == "revoked":
        return revoked
    if status == "expired":
        return ~revoked & expired
    if status == "used":
        return ~revoked & ~expired & used
    if status == "inactive":
        return ~revoked & ~expired & ~used & inactive
    return ~revoked & ~expired & ~used & ~inactive


def get_token(token_id: int, actor: Actor | None = None) -> ApiToken:
    """A token by id (only among :func:`my_tokens` of ``actor`` when given); 404 otherwise."""
    if actor is None:
        token = db.session.get(ApiToken, token_id)
    else:
        token = db.session.scalar(my_tokens(actor).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    return token


def change_status(token: ApiToken, action: str, actor: Actor | None = None) -> ApiToken:
    """Apply ``revoke``, ``deactivate``, ``reactivate`` or ``expire`` to a token."""
    now = utcnow()
    status = token.status(now)
    if status == "revoked" or (status == "expired" and action != "revoke"):
        raise Conflict(f"Token {token.id} is {status}; it cannot be changed any more.")
    if action == "revoke":
        token.revoked_at = now
    elif action == "deactivate":
        token.deactivated_at = token.deactivated_at or now
    elif action == "reactivate":
        token.deactivated_at = None
    elif action == "expire":
        token.expired_at = now
    emit(Event("token", action, actor=actor, target=_target(token),
               details={"owner": token.owner.email, "name": token.name}))
    return token


def expire_all(owner: User, actor: Actor | None = None) -> int:
    """Expire every live token of ``owner``; return how many."""
    now = utcnow()
    live = db.session.scalars(
        select(ApiToken).where(ApiToken.owner_id == owner.id, status_clause("active", now)
                               | status_clause("inactive", now))
    ).all()
    for token in live:
        change_status(token, "expire", actor)
    return len(live)
