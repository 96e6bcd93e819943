"""Work tied to the commit of ``db.session``'s transaction.

:func:`before_commit` gathers items over a transaction and writes them together just before
its outermost commit, inside it (the audit log, the search index, the datasets' counts);
:func:`after_commit` runs a callback once that commit succeeded (queueing a job, removing the
bytes of a deleted file).

One rule for savepoints holds for both: work queued inside a savepoint that rolls back is
dropped with it; work queued inside a savepoint that is released waits for the outermost
commit; a rollback of the outermost transaction, or a session closed without a commit, drops
everything. Work queued when no transaction is open begins one and waits for its commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from fairhub.db import db

log = logging.getLogger("fairhub.transactions")

_PENDING = "fairhub.transactions"  # session.info key of the work waiting for a commit


@dataclass
class _Queue:
    write: Callable[[Session, list], None]
    last: bool
    entries: list[tuple[SessionTransaction, Any]] = field(default_factory=list)


@dataclass
class _Pending:
    queues: dict[str, _Queue] = field(default_factory=dict)  # in the order of first use
    callbacks: list[tuple[SessionTransaction, Callable[[], Any]]] = field(default_factory=list)


def _current() -> tuple[_Pending, SessionTransaction]:
    """The session's pending work and its innermost transaction (begun if none is open)."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        session.connection()  # begins the transaction the work waits for
        transaction = session.get_transaction()
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Pending()
    return pending, transaction


def before_commit(queue: str, item: Any, write: Callable[[Session, list], None],
                  last: bool = False) -> None:
    """Queue ``item`` for ``write(session, items)``, called once with every item of ``queue``
    just before the outermost commit, inside the transaction.

    Many small writes (an audit row, an index entry per dataset of an import) so become one
    statement. Queues are written in the order they were first used, those queued with
    ``last`` after the others: an update of a row every writer updates (a counter) then holds
    its lock only for the end of the transaction, instead of making concurrent writers wait
    for the whole. A write that raises fails the commit, which rolls back.
    """
    pending, transaction = _current()
    known = pending.queues.get(queue)
    if known is None:
        known = pending.queues[queue] = _Queue(write, last)
    known.entries.append((transaction, item))


def after_commit(callback: Callable[[], Any]) -> None:
    """Call ``callback()`` once the outermost transaction has committed; never if it rolls
    back. Callbacks run in the order they were given, outside any transaction: one must not
    use the session it was given in (an app context of its own gets a fresh one). One that
    raises is logged and the others still run; the commit stands, so work that must not be
    lost is recorded in the transaction (a status, an outbox row) for a later run to redo."""
    pending, transaction = _current()
    pending.callbacks.append((transaction, callback))


def _outermost(session: Session) -> bool:
    """Whether the commit under way is the outermost one, not a savepoint's release."""
    return session.get_nested_transaction() is None


@event.listens_for(db.session, "before_commit")
def _write_queues(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if pending is None or not _outermost(session):
        return
    while pending.queues:  # a write may queue items of its own
        queues = sorted(pending.queues.items(), key=lambda named: named[1].last)
        pending.queues = {}
        for _name, queue in queues:
            if queue.entries:
                queue.write(session, [item for _transaction, item in queue.entries])


@event.listens_for(db.session, "after_commit")
def _run_callbacks(session: Session) -> None:
    if not _outermost(session):
        return
    pending = session.info.pop(_PENDING, None)
    for _transaction, callback in pending.callbacks if pending is not None else ():
        try:
            callback()
        except Exception:
            log.exception("Work after a commit failed: %r", callback)


@event.listens_for(db.session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        return
    for queue in pending.queues.values():
        queue.entries[:] = [entry for entry in queue.entries
                            if not _within(entry[0], previous_transaction)]
    pending.callbacks[:] = [entry for entry in pending.callbacks
                            if not _within(entry[0], previous_transaction)]


@event.listens_for(db.session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
