"""Work that follows a commit: removing the bytes and tables that deleted rows left behind,
and the clean-up of expired uploads (`fairhub files cleanup`).

Bytes are removed only after the deletion commits, and only when no row refers to them any
more, so a rollback never loses a file; what a crash leaves behind the clean-up finds.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import delete, event, or_, select
from sqlalchemy.orm import Session

from fairhub import Event, db, utcnow
from fairhub_datasets import Dataset, Dictionary

from .jobs import enqueue, job
from .models import StoredFile
from .storage import storage_for

log = logging.getLogger("fairhub.files")
_AFTER_COMMIT = "files.after_commit"


def after_commit(work: Callable[[], Any]) -> None:
    """Run ``work`` once the session's transaction commits (never if it rolls back)."""
    db.session().info.setdefault(_AFTER_COMMIT, []).append(work)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for work in session.info.pop(_AFTER_COMMIT, []):
        try:
            work()
        except Exception:
            log.exception("Clean-up after a commit failed; `fairhub files cleanup` retries it")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def remove_orphans(app, keys: list[str]) -> None:
    """Delete the stored bytes of those ``keys`` no file row refers to any more."""
    if not keys:
        return
    with app.app_context():
        kept = set(db.session.scalars(select(StoredFile.storage_key)
                                      .where(StoredFile.storage_key.in_(keys))))
        db.session.remove()
    storage = storage_for(app)
    for key in keys:
        if key not in kept:
            storage.delete(key)


def on_event(fired: Event) -> None:
    """A dataset or dictionary being deleted takes its files and loaded table with it."""
    if fired.name not in ("dataset.delete", "dictionary.delete"):
        return
    code = (fired.target or {}).get("code")
    if fired.type == "dataset":
        owner, tables = Dataset, (fired.details or {}).get("dictionaries", [])
        column = StoredFile.dataset_id
    else:
        owner, tables, column = Dictionary, [code], StoredFile.dictionary_id
    keys = list(db.session.scalars(select(StoredFile.storage_key).join(
        owner, owner.id == column).where(owner.code == code)))
    app = current_app._get_current_object()
    after_commit(lambda: remove_orphans(app, keys))
    after_commit(lambda: drop_tables(app, tables))


def drop_tables(app, codes: list[str]) -> None:
    """Drop the loaded tables of the dictionaries ``codes`` that no longer exist."""
    from .tables import TableStore, table_name

    if not codes:
        return
    with app.app_context():
        alive = set(db.session.scalars(select(Dictionary.code).where(Dictionary.code.in_(codes))))
        db.session.remove()
    store = TableStore.from_app(app)
    for code in codes:
        if code not in alive:
            store.drop(table_name(code))


# Bytes younger than this may belong to an upload whose row is not committed yet.
ORPHAN_AGE_SECONDS = 3600


def clean(app, now=None) -> dict[str, int]:
    """Delete unfinished uploads past their expiry and stored bytes no row refers to, and
    queue again table loads whose job was lost (a worker killed while it ran)."""
    now = now or utcnow()
    storage = storage_for(app)
    with app.app_context():
        expired = (StoredFile.status == "uploading") & (StoredFile.expires_at < now) & or_(
            StoredFile.writer.is_(None), StoredFile.writing_until < now)
        keys = list(db.session.scalars(
            delete(StoredFile).where(expired).returning(StoredFile.storage_key)))
        db.session.commit()
        for key in keys:
            storage.delete(key)
        stored = list(storage.keys(older_than=ORPHAN_AGE_SECONDS))
        known = set()
        for start in range(0, len(stored), 500):
            known.update(db.session.scalars(select(StoredFile.storage_key).where(
                StoredFile.storage_key.in_(stored[start:start + 500]))))
        orphans = [key for key in stored if key not in known]
        for key in orphans:
            storage.delete(key)
        stuck = list(db.session.scalars(select(StoredFile.id).where(
            StoredFile.status == "processing",
            StoredFile.updated_at < now - timedelta(seconds=ORPHAN_AGE_SECONDS))))
        for file_id in stuck:
            enqueue("fairhub_files.loads:load_table", file_id)
    return {"expired": len(keys), "orphans": len(orphans), "requeued": len(stuck)}


@job
def clean_job() -> None:
    """:func:`clean` as a background job (``fairhub files cleanup --queue``)."""
    counts = clean(current_app._get_current_object())
    log.info("Clean-up deleted %(expired)s expired uploads and %(orphans)s orphaned files",
             counts)
