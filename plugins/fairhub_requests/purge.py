"""Purging archived requests after their keeping time."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fairhub import ANONYMOUS, Event, db, emit, utcnow

from .models import AccessRequest


def purge_archived(days: float) -> list[str]:
    """Delete requests archived more than ``days`` ago (history and comments with them;
    their grants and counts stay); the purged codes."""
    cutoff = utcnow() - timedelta(days=days)
    purged = list(db.session.scalars(select(AccessRequest).where(
        AccessRequest.status == "archived", AccessRequest.archived_at <= cutoff)))
    for request in purged:
        emit(Event("request", "purge", actor=ANONYMOUS,
                   target={"type": "request", "code": request.code}))
        db.session.delete(request)
    db.session.flush()
    return [request.code for request in purged]
