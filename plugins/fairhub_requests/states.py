"""The life of a request: ``draft`` -> ``pending`` -> ``approved`` | ``denied`` | ``returned``
(and back to ``pending``), ``withdrawn`` by its requester, ``archived`` by an owner.

Each transition is one conditional UPDATE on the request's status, so of two approvers
deciding at once, on any number of workers, exactly one wins and the other gets 409. The
winner writes the history entry, the counts, the grants, the audit event and the mail in the
same transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from fairhub import Actor, Conflict, Event, ValidationError, db, emit, utcnow

from .models import AccessGrant, AccessRequest, RequestCount, RequestDictionary, RequestHistory

# action: (statuses it starts from, status it leads to)
TRANSITIONS = {
    "submit": (("draft", "returned"), "pending"),
    "withdraw": (("pending", "returned"), "withdrawn"),
    "approve": (("pending",), "approved"),
    "deny": (("pending",), "denied"),
    "return": (("pending",), "returned"),
    "archive": (("pending", "approved", "denied", "returned", "withdrawn"), "archived"),
}
# The mail each action sends (see notices).
NOTICES = {"submit": "submitted", "approve": "approved", "deny": "denied",
           "return": "returned", "archive": "archived"}


def require_status(request: AccessRequest, allowed: Iterable[str], verb: str) -> None:
    """409 unless the request is in one of the ``allowed`` statuses."""
    allowed = tuple(allowed)
    if request.status not in allowed:
        raise Conflict(f"Request {request.code!r} is {request.status}; only "
                       f"{' or '.join(allowed)} requests can be {verb}.")


def record(actor: Actor, request: AccessRequest, action: str, before: str | None, after: str,
           reason: str | None = None) -> None:
    """Add a history entry for a transition of ``request``."""
    db.session.add(RequestHistory(request_id=request.id, action=action, from_status=before,
                                  to_status=after, actor_id=actor.user_id, reason=reason,
                                  created_at=utcnow()))


def move(actor: Actor, request: AccessRequest, action: str, note: str | None = None,
         **values: object) -> None:
    """Apply ``action`` to ``request`` if its status still allows it, by one conditional
    UPDATE; 409 when another request changed the status first."""
    sources, target_status = TRANSITIONS[action]
    require_status(request, sources, _PARTICIPLE[action])
    before, now = request.status, utcnow()
    result = db.session.execute(
        update(AccessRequest)
        .where(AccessRequest.id == request.id, AccessRequest.status == before)
        .values(status=target_status, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        current = db.session.scalar(select(AccessRequest.status).where(
            AccessRequest.id == request.id))
        raise Conflict(f"Request {request.code!r} was changed by someone else meanwhile; "
                       f"it is now {current}.", details={"status": current})
    db.session.refresh(request)
    record(actor, request, action, before, target_status, note)
    from .notices import queue_notice
    from .service import target

    emit(Event("request", action, actor=actor, target=target(request),
               details={"from": before, "to": target_status,
                        **({"reason": note} if note else {})}))
    if action in NOTICES:
        queue_notice(NOTICES[action], request)


_PARTICIPLE = {"submit": "submitted", "withdraw": "withdrawn", "approve": "approved",
               "deny": "denied", "return": "returned", "archive": "archived"}


def submit(actor: Actor, request: AccessRequest) -> None:
    """Submit the requester's complete request for review."""
    from .service import check_complete

    check_complete(request)
    first = request.submitted_at is None
    move(actor, request, "submit", submitted_at=utcnow(), reason=None)
    if first:
        count(request, "requests")


def decide(actor: Actor, request: AccessRequest, action: str, reason: str,
           expires_at: datetime | None = None) -> None:
    """Approve, deny or return a pending request, for ``reason``; approving grants the
    requester its dictionaries, until ``expires_at`` if given."""
    if not reason.strip():
        message = "Give a reason for the decision."
        raise ValidationError(message, details={"json": {"reason": [message]}})
    if expires_at is not None and expires_at <= utcnow():
        message = "The expiry must be in the future."
        raise ValidationError(message, details={"json": {"expires_at": [message]}})
    values = {"reason": reason.strip()}
    if action != "return":
        values["decided_at"] = utcnow()
    move(actor, request, action, reason.strip(), **values)
    if action == "approve":
        _grant(actor, request, expires_at)
        count(request, "approvals")
    elif action == "deny":
        count(request, "rejections")


def _grant(actor: Actor, request: AccessRequest, expires_at: datetime | None) -> None:
    ids = db.session.scalars(select(RequestDictionary.dictionary_id).where(
        RequestDictionary.request_id == request.id))
    now = utcnow()
    db.session.add_all(
        AccessGrant(request_id=request.id, request_code=request.code,
                    user_id=request.requester_id, dataset_id=request.dataset_id,
                    dictionary_id=dictionary_id, granted_by=actor.user_id,
                    expires_at=expires_at, created_at=now) for dictionary_id in ids)


def count(request: AccessRequest, column: str) -> None:
    """Add one to ``column`` of the request's dataset and of each of its dictionaries."""
    ids = list(db.session.scalars(select(RequestDictionary.dictionary_id).where(
        RequestDictionary.request_id == request.id)))
    rows = [{"scope": "dataset", "ref_id": request.dataset_id}]
    rows += [{"scope": "dictionary", "ref_id": dictionary_id} for dictionary_id in ids]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    for row in rows:
        values = {**row, "requests": 0, "approvals": 0, "rejections": 0, column: 1}
        statement = dialect.insert(RequestCount).values(**values)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["scope", "ref_id"],
            set_={column: getattr(RequestCount, column) + 1}))
