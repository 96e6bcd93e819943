"""Comments on a request, between its requester and its approvers."""
from __future__ import annotations

from sqlalchemy import Select, select

from fairhub import Actor, Event, ValidationError, db, emit, utcnow

from .models import AccessRequest, RequestComment
from .present import people


def of(request: AccessRequest) -> Select:
    """The request's comments, oldest first."""
    return (select(RequestComment).where(RequestComment.request_id == request.id)
            .order_by(RequestComment.id))


def add(actor: Actor, request: AccessRequest, text: str) -> RequestComment:
    """Add ``actor``'s comment (the caller has already been found to see the request)."""
    if not text.strip():
        raise ValidationError("A comment cannot be blank.",
                              details={"json": {"text": ["Cannot be blank."]}})
    comment = RequestComment(request_id=request.id, author_id=actor.user_id,
                             text=text.strip(), created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    emit(Event("request", "comment", actor=actor,
               target={"type": "request", "code": request.code},
               details={"comment": comment.id}))
    return comment


def present_all(comments: list[RequestComment]) -> list[dict]:
    users = people({c.author_id for c in comments})
    return [{"id": c.id, "author": users.get(c.author_id), "text": c.text,
             "created_at": c.created_at} for c in comments]
