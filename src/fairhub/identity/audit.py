"""The audit log: one row per security-relevant event, written in the action's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, event, insert, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from fairhub.auth import Actor, client_ip
from fairhub.db import db, utcnow
from fairhub.events import Event
from fairhub.identity.models import TARGET_CODE_LENGTH, AuditEvent

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


_INSERT = insert(AuditEvent.__table__)
# Session.info key of the audit rows waiting for the commit, each with its transaction.
PENDING = "fairhub_audit_pending"


def record_event(event: Event) -> None:
    """Queue an audit row for ``event`` in the session's transaction.

    Queued rows are written together, in one statement, when the session commits, so a bulk
    action costs one INSERT rather than one per event; a row whose transaction or savepoint
    rolls back is dropped with it.
    """
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        session.connection()  # begins the transaction the row belongs to
        transaction = session.get_transaction()
    session.info.setdefault(PENDING, []).append((transaction, _row(event, client_ip())))


def _write_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its rows wait for the transaction's commit
    pending = session.info.pop(PENDING, None)
    if pending:
        session.connection().execute(_INSERT, [row for _transaction, row in pending])


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(PENDING)
    if pending:
        session.info[PENDING] = [(transaction, row) for transaction, row in pending
                                 if not _within(transaction, previous_transaction)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def install() -> None:
    """Write queued audit rows at every commit of the app's sessions (once per process)."""
    if not event.contains(db.session, "before_commit", _write_pending):
        event.listen(db.session, "before_commit", _write_pending)
        event.listen(db.session, "after_soft_rollback", _drop_rolled_back)


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
