"""The audit log: one row per security-relevant event, written in the action's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, insert, or_, select
from sqlalchemy.orm import Session

from fairhub.auth import Actor, client_ip
from fairhub.db import db, utcnow
from fairhub.events import Event
from fairhub.identity.models import TARGET_CODE_LENGTH, AuditEvent
from fairhub.transactions import before_commit

# Detail keys that are never written, whatever a caller puts in an event.
SECRET_KEYS = frozenset({"password", "secret", "token", "access_token", "new_password",
                         "current_password", "authorization"})


def _scrub(details: dict) -> dict:
    return {k: ("[redacted]" if k.lower() in SECRET_KEYS else v) for k, v in details.items()}


def _row(event: Event, ip: str | None) -> dict:
    actor: Actor | None = event.actor
    profile = getattr(actor, "profile", None) or {}
    target = event.target or {}
    return dict(
        type=event.type,
        action=event.action,
        actor_uuid=profile.get("uuid"),
        actor_email=profile.get("email"),
        token_id=getattr(actor, "token_id", None),
        target_type=target.get("type"),
        target_code=None if target.get("code") is None
        else str(target["code"])[:TARGET_CODE_LENGTH],
        details=_scrub(event.details or {}),
        ip=ip,
        created_at=utcnow(),
    )


def record_event(event: Event) -> None:
    """Queue an audit row for ``event`` in the session's transaction: the rows of a request
    or a bulk action are written together at its commit
    (:func:`fairhub.transactions.before_commit`), and dropped with a transaction or savepoint
    that rolls back."""
    before_commit("audit", _row(event, client_ip()), _write)


def _write(session: Session, rows: list[dict]) -> None:
    session.execute(insert(AuditEvent), rows)


def record_now(event: Event, ip: str | None = None) -> None:
    """Write an audit row in a transaction of its own, for refusals that roll back the rest."""
    with db.engine.begin() as connection:
        connection.execute(insert(AuditEvent).values(**_row(event, ip or client_ip())))


def audit_query(filters: dict) -> Select:
    """Audit events matching ``filters``, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    for key in ("type", "action", "target_type", "target_code", "token_id"):
        if filters.get(key) is not None:
            query = query.where(getattr(AuditEvent, key) == filters[key])
    if filters.get("actor"):
        actor = filters["actor"]
        query = query.where(or_(AuditEvent.actor_uuid == actor,
                                AuditEvent.actor_email == actor.lower()))
    since: datetime | None = filters.get("since")
    until: datetime | None = filters.get("until")
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    return query
