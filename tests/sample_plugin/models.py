from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fairhub import UTCDateTime, db, utcnow


class Note(db.Model):
    __tablename__ = "sample_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(String(2000))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
