"""Audit rows are queued in the session and written at commit, with their transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from fairhub import Event, db, emit
from fairhub.identity.models import AuditEvent


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_rows_follow_their_savepoint_and_transaction(app):
    with app.app_context():
        emit(Event("probe", "kept"))
        with db.session.begin_nested():
            emit(Event("probe", "kept-in-savepoint"))
        with pytest.raises(RuntimeError):
            with db.session.begin_nested():
                emit(Event("probe", "dropped-with-savepoint"))
                raise RuntimeError
        assert actions(app) == []  # nothing is written before the commit
        db.session.commit()
        emit(Event("probe", "dropped-with-rollback"))
        db.session.rollback()
        db.session.commit()
    assert actions(app) == ["kept", "kept-in-savepoint"]


def test_many_events_are_written_by_one_commit(app):
    with app.app_context():
        for number in range(300):
            emit(Event("probe", f"n{number}"))
        db.session.commit()
    assert actions(app) == [f"n{number}" for number in range(300)]
