"""The files plugin's table: one row per upload, from its creation to the file it became.

An attachment or a data file is an upload that completed; a table load is an upload whose CSV
was loaded into its dictionary's table (the row then records the outcome). The bytes live in
the storage (see :mod:`.storage`) under ``storage_key``, a name the server made up.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fairhub import UTCDateTime, db, utcnow

KINDS = ("attachment", "datafile", "table")
STATUSES = ("uploading", "processing", "complete", "failed")
VIEWINGS = ("hidden", "viewable", "downloadable")
TRANSFERS = ("disabled", "optional", "recommended", "required")
FILENAME_LENGTH = 255


class StoredFile(db.Model):
    """An upload and, once complete, the attachment, data file or table load it became."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The upload's address (/api/files/uploads/<upload_id>): random, so it reveals nothing.
    upload_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    dictionary_id: Mapped[int | None] = mapped_column(
        ForeignKey("dictionaries.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(FILENAME_LENGTH))
    size: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the client sent in Upload-Metadata and the FAIR headers, for the record.
    upload_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    storage_key: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    viewing: Mapped[str] = mapped_column(String(16))
    transfer: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="uploading")
    rows: Mapped[int | None] = mapped_column(BigInteger)
    report: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                   index=True)
    # The request writing to the upload holds it until this time (see service.claim).
    writer: Mapped[str | None] = mapped_column(String(32))
    writing_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_files_dataset_kind", "dataset_id", "kind"),
                      {"sqlite_autoincrement": True})


def audit_target(upload: StoredFile) -> dict:
    """An upload as the audit log names it."""
    return {"type": "file", "code": str(upload.id)}
