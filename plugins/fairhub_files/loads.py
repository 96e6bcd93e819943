"""Loading an uploaded CSV into its dictionary's table, as a background job.

The upload is ``processing`` when its last byte arrives; the job loads it (see
:mod:`.tables`), records ``complete`` with the rows loaded and what was reported, or ``failed``
with the error, and removes the uploaded CSV. A failed load leaves the previous table as it was.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import current_app
from sqlalchemy import update

from fairhub import Event, db, emit, utcnow
from fairhub_datasets import Dictionary

from .jobs import job
from .models import StoredFile
from .cleanup import after_commit
from .models import audit_target as target
from .service import uploader
from .storage import storage_for
from .tables import LoadFailed, TableStore, table_name

log = logging.getLogger("fairhub.files")


@job
def load_table(file_id: int, progress: Callable[[int], None] | None = None) -> None:
    """Load upload ``file_id`` into its dictionary's table and record the outcome;
    ``progress(rows)`` follows a load run in the foreground (``fairhub files load``)."""
    upload = db.session.get(StoredFile, file_id)
    if upload is None or upload.status != "processing":
        return  # deleted meanwhile, or done by an earlier delivery of this job
    dictionary = db.session.get(Dictionary, upload.dictionary_id)
    app = current_app._get_current_object()
    try:
        result = TableStore.from_app(app).load_csv(
            table_name(dictionary.code), dictionary.fields,
            storage_for(app).path(upload.storage_key), lookups=dictionary.lookups,
            strict_lookups=app.config["FILES_TABLES_STRICT_LOOKUPS"], progress=progress)
    except LoadFailed as failed:
        outcome = {"status": "failed", "report": {"error": {
            "message": failed.message, "row": failed.row, "line": failed.line,
            "column": failed.column, "value": failed.value}}}
    except Exception:
        log.exception("Loading upload %s into %s failed", file_id, dictionary.code)
        outcome = {"status": "failed", "report": {"error": {
            "message": "The load failed on the server; the previous table is unchanged.",
            "row": None, "line": None, "column": None, "value": None}}}
    else:
        outcome = {"status": "complete", "rows": result.rows, "report": {
            "columns": result.columns, "missing": result.missing, "widened": result.widened,
            "outside_lookups": result.outside_lookups, "error": None}}
    _record(upload, dictionary, outcome)


def _record(upload: StoredFile, dictionary: Dictionary, outcome: dict) -> None:
    changed = db.session.execute(update(StoredFile).where(
        StoredFile.id == upload.id, StoredFile.status == "processing").values(
        **outcome, updated_at=utcnow())).rowcount
    if not changed:
        db.session.rollback()
        return
    details = {"dictionary": dictionary.code, "status": outcome["status"],
               "rows": outcome.get("rows")}
    if outcome["status"] == "failed":
        details["error"] = outcome["report"]["error"]["message"]
    emit(Event("file", "load", actor=uploader(upload), target=target(upload), details=details))
    # The CSV has served its purpose; the row keeps its size, digest and the outcome.
    key = upload.storage_key
    app = current_app._get_current_object()
    after_commit(lambda: storage_for(app).delete(key))
    db.session.commit()
