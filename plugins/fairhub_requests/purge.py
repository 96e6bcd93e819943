"""Purging archived requests after their keeping time: daily, and `fairhub requests purge`."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from fairhub import ANONYMOUS, Event, db, emit, utcnow

from .models import AccessRequest

log = logging.getLogger("fairhub.requests")


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


def purge_job() -> None:
    """The daily job: purge requests archived over ``REQUESTS_PURGE_AFTER_DAYS`` ago."""
    purged = purge_archived(current_app.config["REQUESTS_PURGE_AFTER_DAYS"])
    db.session.commit()
    log.info("Purged %d archived requests.", len(purged))
