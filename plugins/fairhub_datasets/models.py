"""The datasets plugin's tables: datasets, their dictionaries and dataset-level grants."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairhub import UTCDateTime, db, utcnow

CODE_LENGTH = 64
VISIBILITIES = ("private", "internal", "public")
# Dataset-level grant levels, from the most to the least powerful.
LEVELS = ("owner", "manager", "reviewer", "editor", "viewer")


class Dataset(db.Model):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    workflow_key: Mapped[str | None] = mapped_column(String(64))
    catalogue: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change (the row, its dictionaries or its grants): the ETag, and the
    # key under which workers keep the dataset's answer (see .cache).
    version: Mapped[int] = mapped_column(Integer, default=1)

    dictionaries: Mapped[list[Dictionary]] = relationship(
        back_populates="dataset", order_by="Dictionary.position",
        cascade="all, delete-orphan", passive_deletes=True)
    grants: Mapped[list[Grant]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("visibility IN ('private', 'internal', 'public')", name="visibility"),
        Index("ix_datasets_visibility", "visibility"),
        # Ids are never reused, so an id a client still holds cannot name a newer dataset.
        {"sqlite_autoincrement": True},
    )


class Dictionary(db.Model):
    """The data dictionary of one table of a dataset."""

    __tablename__ = "dictionaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    lookups: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="dictionaries")

    __table_args__ = ({"sqlite_autoincrement": True},)


class Grant(db.Model):
    """A user's or a group's level on one dataset."""

    __tablename__ = "dataset_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the unique (dataset_id, user_id) and (dataset_id, group_id) indexes.
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="grants")

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (group_id IS NULL)", name="one_grantee"),
        CheckConstraint(
            "level IN ('owner', 'manager', 'reviewer', 'editor', 'viewer')", name="level"),
        Index("uq_dataset_grants_user", "dataset_id", "user_id", unique=True),
        Index("uq_dataset_grants_group", "dataset_id", "group_id", unique=True),
    )


class DatasetCount(db.Model):
    """How many datasets there are of each visibility, kept with every create, delete and
    visibility change, so that list totals need not count a large table."""

    __tablename__ = "dataset_counts"

    visibility: Mapped[str] = mapped_column(String(16), primary_key=True)
    datasets: Mapped[int] = mapped_column(Integer, default=0)


@event.listens_for(DatasetCount.__table__, "after_create")
def _start_counting(table, connection, **_) -> None:
    """Tables made without the migrations (tests) start with zero of each visibility."""
    connection.execute(table.insert(), [{"visibility": v, "datasets": 0} for v in VISIBILITIES])
