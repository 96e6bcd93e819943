"""The attachments a request may carry: the files plugin's complete attachments of the
dataset whose transfer setting allows it. Without the files plugin there are none.

The files table is read through a plain table description, so this plugin does not need the
files plugin's models (and works without it).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import column, select, table

from fairhub import ValidationError, db

_FILES = table("files", column("id"), column("dataset_id"), column("kind"), column("status"),
               column("filename"), column("transfer"))
TRANSFERABLE = ("optional", "recommended", "required")


def enabled() -> bool:
    """Whether the files plugin is enabled in this app."""
    return "files" in current_app.extensions["fairhub"].plugin_names()


def offered(dataset_id: int) -> list[dict]:
    """The dataset's attachments a request may choose: [{id, filename, transfer}], by id."""
    if not enabled():
        return []
    rows = db.session.execute(
        select(_FILES.c.id, _FILES.c.filename, _FILES.c.transfer)
        .where(_FILES.c.dataset_id == dataset_id, _FILES.c.kind == "attachment",
               _FILES.c.status == "complete", _FILES.c.transfer.in_(TRANSFERABLE))
        .order_by(_FILES.c.id))
    return [dict(row._mapping) for row in rows]


def choose(dataset_id: int, chosen: list[int]) -> list[dict]:
    """The attachments for a request choosing ``chosen`` (ids): those, plus every required
    one; 422 naming an id that is not offered."""
    offer = offered(dataset_id)
    by_id = {item["id"]: item for item in offer}
    unknown = sorted(set(chosen) - set(by_id))
    if unknown:
        message = f"Attachments {unknown} are not offered with this dataset."
        raise ValidationError(message, details={"json": {"attachments": [message]}})
    return [{"id": item["id"], "filename": item["filename"]} for item in offer
            if item["id"] in chosen or item["transfer"] == "required"]
