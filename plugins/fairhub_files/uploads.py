"""Resumable uploads: create one, write a chunk at its offset, finish it, end it.

A chunk is written under a lease: one conditional UPDATE claims the upload at the offset the
client names (so two clients racing on one upload cannot both write), the lease is renewed
while bytes arrive, and the new offset is recorded only after the bytes are on disk. A worker
that dies mid-chunk leaves bytes past the recorded offset; the next chunk cuts them off.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import BinaryIO, NamedTuple

from flask import current_app
from sqlalchemy import or_, select, update
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from fairhub import (
    Actor,
    ApiError,
    BadRequest,
    Conflict,
    Event,
    NotFound,
    after_commit,
    db,
    emit,
    enqueue,
    utcnow,
)

from . import tus
from .loads import load_table
from .models import StoredFile
from .models import audit_target as target
from .sniff import HEAD_BYTES, sniff
from .storage import new_key, storage_for

BLOCK = 1024 * 1024


def create(actor: Actor, kind: str, dataset, dictionary, length: int,
           metadata: dict[str, str], extra: dict[str, str]) -> StoredFile:
    """A new, empty upload of ``length`` bytes; the caller commits."""
    config = current_app.config
    if length > config["FILES_MAX_SIZE"]:
        raise tus.TooLarge(f"The upload is {length} bytes; the largest allowed is "
                           f"{config['FILES_MAX_SIZE']}.")
    now = utcnow()
    key = new_key()
    storage_for(current_app).create(key)
    defaults = (config["FILES_DEFAULT_VIEWING"], config["FILES_DEFAULT_TRANSFER"])
    upload = StoredFile(
        upload_id=secrets.token_hex(16), kind=kind, dataset_id=dataset.id,
        dictionary_id=dictionary.id if dictionary is not None else None,
        filename=tus.safe_filename(metadata.get("filename") or metadata.get("name")),
        size=length, offset=0, upload_metadata={**metadata, **extra}, storage_key=key,
        viewing=defaults[0].get(kind, "hidden"), transfer=defaults[1].get(kind, "disabled"),
        status="uploading", created_by=actor.user_id, expires_at=now + _expiry(),
        created_at=now, updated_at=now)
    db.session.add(upload)
    db.session.flush()
    return upload


def _expiry() -> timedelta:
    return timedelta(hours=current_app.config["FILES_UPLOAD_EXPIRY_HOURS"])


def check_live(upload: StoredFile) -> None:
    """410 for an unfinished upload past its expiry."""
    if upload.status == "uploading" and upload.expires_at is not None \
            and upload.expires_at < utcnow():
        raise tus.Gone(f"Upload {upload.upload_id} expired at "
                       f"{upload.expires_at.isoformat()}; start a new one.")


class Lease:
    """The right to write to one upload, held by one request (see the module docstring)."""

    def __init__(self, upload: StoredFile, offset: int) -> None:
        self.id, self.offset = upload.id, offset
        self.token = secrets.token_hex(16)
        self.seconds = current_app.config["FILES_WRITE_LEASE_SECONDS"]
        self._renewed = time.monotonic()
        now = utcnow()
        claim = (update(StoredFile)
                 .where(StoredFile.id == self.id, StoredFile.status == "uploading",
                        StoredFile.offset == offset,
                        or_(StoredFile.writer.is_(None), StoredFile.writing_until < now))
                 .values(writer=self.token, writing_until=now + timedelta(seconds=self.seconds),
                         expires_at=now + _expiry(), updated_at=now))
        with db.engine.begin() as connection:
            if connection.execute(claim).rowcount != 1:
                raise _refusal(connection, self.id, offset)

    def renew(self) -> None:
        """Extend the lease if a third of it has passed."""
        if time.monotonic() - self._renewed < self.seconds / 3:
            return
        self._renewed = time.monotonic()
        with db.engine.begin() as connection:
            connection.execute(update(StoredFile).where(
                StoredFile.id == self.id, StoredFile.writer == self.token).values(
                writing_until=utcnow() + timedelta(seconds=self.seconds)))

    def release(self, offset: int, **values) -> bool:
        """Record ``offset`` (and ``values``) in the session's transaction and give the upload
        up; False if the lease was lost meanwhile."""
        result = db.session.execute(update(StoredFile).where(
            StoredFile.id == self.id, StoredFile.writer == self.token).values(
            offset=offset, writer=None, writing_until=None, updated_at=utcnow(), **values))
        return result.rowcount == 1


def _refusal(connection, upload_id: int, offset: int) -> ApiError:
    row = connection.execute(select(StoredFile.status, StoredFile.offset)
                             .where(StoredFile.id == upload_id)).one_or_none()
    if row is None:
        return NotFound("The upload does not exist.")
    if row.status != "uploading":
        return Conflict("The upload is already complete.")
    if row.offset != offset:
        return Conflict(f"Upload-Offset is {offset} but the upload is at {row.offset}; ask "
                        "HEAD for the offset and send from there.",
                        headers={"Upload-Offset": str(row.offset)})
    return tus.Locked("Another request is writing to this upload; try again in a moment.")


class Written(NamedTuple):
    """What writing a chunk did: the upload's new offset, and why the chunk stopped short
    (None if it did not), to raise once the caller has committed the offset."""

    offset: int
    failure: ApiError | None


def write(upload: StoredFile, offset: int, stream: BinaryIO, checksum) -> Written:
    """Append what ``stream`` carries at ``offset``; the caller commits the new offset.

    A chunk whose checksum fails, or that runs past the upload's length, leaves nothing. A
    client that goes away mid-chunk keeps what arrived, unless it sent a checksum.
    """
    storage = storage_for(current_app)
    key, size = upload.storage_key, upload.size
    lease = Lease(upload, offset)
    copied = [0]
    failure: Exception | None = None
    try:
        with storage.writer(key, offset) as file:
            _copy(stream, file, size - offset, checksum, lease, copied)
    except ClientDisconnected as error:
        failure = error
    except OSError:
        failure = tus.InsufficientStorage("The chunk could not be stored; it was discarded.")
    except (tus.TooLarge, RequestEntityTooLarge):
        failure = tus.TooLarge(f"The chunk runs past the upload's length of {size} bytes.")
    kept = copied[0]
    if checksum is not None and failure is None and checksum[0].digest() != checksum[1]:
        failure = tus.ChecksumMismatch("The chunk does not match its Upload-Checksum; it was "
                                       "discarded.")
    if failure is not None and (checksum is not None or not isinstance(failure, ClientDisconnected)):
        kept = 0
    if kept != copied[0]:
        storage.truncate(key, offset)
    values = {}
    if failure is None and offset + kept == size:
        values = _finished(upload, lease)
    if not lease.release(offset + kept, **values):
        db.session.rollback()
        raise Conflict("The upload was taken over by another request while this one wrote.")
    if values:
        emit(Event("file", "upload", target=target(upload),
                   details={"kind": upload.kind, "size": size, "sha256": values["sha256"]}))
        if values["status"] == "processing":
            enqueue(load_table, upload.id)
    if failure is not None and not isinstance(failure, ApiError):
        failure = _cut_short(failure)
    return Written(offset + kept, failure)


def _cut_short(error: Exception) -> ApiError:
    return BadRequest(f"The chunk stopped before its end ({type(error).__name__}); what "
                      "arrived was kept. Ask HEAD for the offset and go on from there.")


def _copy(stream: BinaryIO, file: BinaryIO, room: int, checksum, lease: Lease,
          copied: list[int]) -> None:
    """Copy ``stream`` into ``file`` block by block, counting into ``copied[0]``."""
    hasher = checksum[0] if checksum is not None else None
    while True:
        try:
            block = stream.read(BLOCK)
        except OSError as error:  # the connection broke
            raise ClientDisconnected() from error
        if not block:
            return
        if copied[0] + len(block) > room:
            raise tus.TooLarge("too long")
        file.write(block)
        copied[0] += len(block)
        if hasher is not None:
            hasher.update(block)
        lease.renew()


def _finished(upload: StoredFile, lease: Lease) -> dict:
    """What a complete upload records: its digest, sniffed type and new status."""
    digest = hashlib.sha256()
    with storage_for(current_app).reader(upload.storage_key) as file:
        head = file.read(HEAD_BYTES)
        digest.update(head)
        while block := file.read(BLOCK * 4):
            digest.update(block)
            lease.renew()
    status = "processing" if upload.kind == "table" else "complete"
    return {"sha256": digest.hexdigest(), "content_type": sniff(head, upload.filename),
            "status": status, "completed_at": utcnow(), "expires_at": None}


def terminate(actor: Actor, upload: StoredFile) -> None:
    """End an unfinished upload and discard its bytes (tus termination)."""
    if upload.status != "uploading":
        raise Conflict("The upload is complete; delete the file instead.")
    if upload.writer is not None and upload.writing_until > utcnow():
        raise tus.Locked("A request is writing to this upload; try again in a moment.")
    emit(Event("file", "terminate", actor=actor, target=target(upload),
               details={"filename": upload.filename, "offset": upload.offset}))
    key, app = upload.storage_key, current_app._get_current_object()
    db.session.delete(upload)
    after_commit(lambda: storage_for(app).delete(key))
