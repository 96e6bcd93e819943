"""The requests plugin's tables: access requests with their dictionaries, history and
comments; the grants approval gives; request forms; the mail outbox; counts per dataset and
dictionary."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fairhub import UTCDateTime, db, utcnow

STATUSES = ("draft", "pending", "approved", "denied", "returned", "withdrawn", "archived")
OUTPUTS = ("clear", "synthetic", "pseudonymised")


class AccessRequest(db.Model):
    """A researcher's request for tables of one dataset."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workflow_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    project_name: Mapped[str | None] = mapped_column(String(500))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    output: Mapped[str] = mapped_column(String(16))
    # The attachments chosen, as they were when the request was last saved: [{id, filename}].
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    # The dataset's rights (a URI) the requester accepted, when it has any.
    rights_accepted: Mapped[str | None] = mapped_column(Text)
    # The reason of the last decision, return or archive.
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


class RequestDictionary(db.Model):
    """A dictionary (table) a request asks for."""

    __tablename__ = "access_request_dictionaries"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), primary_key=True)
    dictionary_id: Mapped[int] = mapped_column(
        ForeignKey("dictionaries.id", ondelete="CASCADE"), primary_key=True, index=True)


class RequestHistory(db.Model):
    """One transition of a request: who moved it from which status to which, when and why."""

    __tablename__ = "access_request_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RequestComment(db.Model):
    """A message between the requester and the approvers about a request."""

    __tablename__ = "access_request_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                  index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessGrant(db.Model):
    """Access to one dictionary's data, given to a user by an approved request.

    It outlives its request (purged requests leave their grants, with ``request_id`` null)."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_requests.id", ondelete="SET NULL"), index=True)
    request_code: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    dictionary_id: Mapped[int] = mapped_column(
        ForeignKey("dictionaries.id", ondelete="CASCADE"), index=True)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_access_grants_user_dictionary", "user_id", "dictionary_id"),
                      {"sqlite_autoincrement": True})


class WorkflowForm(db.Model):
    """A workflow's request form, where it was replaced (otherwise the built-in one applies)."""

    __tablename__ = "workflow_forms"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """An e-mail to send, written with the change it tells of; ``sent_at`` once delivered."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_code: Mapped[str | None] = mapped_column(String(32))
    recipients: Mapped[list] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


class RequestCount(db.Model):
    """Requests submitted, approved and denied per dataset (``scope`` "dataset") and per
    dictionary ("dictionary"), kept in the transaction of each transition so that purging
    requests does not lose them."""

    __tablename__ = "request_counts"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    approvals: Mapped[int] = mapped_column(Integer, default=0)
    rejections: Mapped[int] = mapped_column(Integer, default=0)
