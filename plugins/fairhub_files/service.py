"""Files of a dataset: who sees which, their settings, downloads, deletion, table loads.

A file is seen by whoever may see its dataset unless it is hidden; hidden files, unfinished
uploads and table loads are seen by those who manage the dataset and by their uploader. Every
query filters by the dataset's visibility first, so a file of a dataset the caller may not
see is answered as missing.
"""
from __future__ import annotations

from typing import NamedTuple

from flask import current_app
from sqlalchemy import Select, select

from fairhub import (
    Actor,
    Event,
    Forbidden,
    NotFound,
    User,
    ValidationError,
    after_commit,
    db,
    emit,
    utcnow,
)
import fairhub_datasets as datasets
from fairhub_datasets import Dataset, Dictionary

from .models import StoredFile
from .storage import storage_for
from .cleanup import remove_orphans
from .models import audit_target as target



def present(upload: StoredFile, dataset_code: str, dictionary_code: str | None) -> dict:
    """A file as the API answers it."""
    return {column: getattr(upload, column) for column in (
        "id", "upload_id", "kind", "filename", "size", "offset", "content_type", "sha256",
        "viewing", "transfer", "status", "rows", "report", "created_at", "updated_at",
        "completed_at", "expires_at")} | {"dataset": dataset_code, "dictionary": dictionary_code}


def _with_codes() -> Select:
    return (select(StoredFile, Dataset.code.label("dataset_code"),
                   Dictionary.code.label("dictionary_code"))
            .join(Dataset, Dataset.id == StoredFile.dataset_id)
            .outerjoin(Dictionary, Dictionary.id == StoredFile.dictionary_id))


def listing(actor: Actor, dataset: Dataset, kind: str, dictionary: Dictionary | None = None
            ) -> Select:
    """The files of ``kind`` on ``dataset`` (or loads of ``dictionary``) that ``actor`` sees,
    oldest first."""
    query = _with_codes().where(StoredFile.dataset_id == dataset.id, StoredFile.kind == kind)
    if dictionary is not None:
        query = query.where(StoredFile.dictionary_id == dictionary.id)
    if not datasets.may(actor, dataset, "manage"):
        shown = StoredFile.created_by == actor.user_id
        if kind != "table":
            shown = shown | ((StoredFile.status == "complete") & (StoredFile.viewing != "hidden"))
        query = query.where(shown)
    return query.order_by(StoredFile.id)


def mine(actor: Actor, status: str | None) -> Select:
    """My uploads, newest first, on datasets I still see."""
    query = (_with_codes().where(StoredFile.created_by == actor.user_id, datasets.visible(actor))
             .order_by(StoredFile.id.desc()))
    return query.where(StoredFile.status == status) if status else query


class Found(NamedTuple):
    """A file a caller may see, with its dataset and the file as the API answers it."""

    file: StoredFile
    dataset: Dataset
    answer: dict


def get(actor: Actor, file_id: int) -> Found:
    """File ``file_id`` if ``actor`` may see it; else 404."""
    row = db.session.execute(
        _with_codes().add_columns(Dataset).where(StoredFile.id == file_id, datasets.visible(actor)),
        datasets.params(actor)).one_or_none()
    if row is not None:
        upload, dataset_code, dictionary_code, dataset = row
        if _sees(actor, upload, dataset):
            return Found(upload, dataset, present(upload, dataset_code, dictionary_code))
    raise NotFound(f"File {file_id} does not exist.")


def upload_target(actor: Actor, code: str) -> Dataset:
    """Dataset ``code``, to which ``actor`` may upload attachments and data files: they edit
    it (404 if they may not see it, 403 if they may not edit it)."""
    dataset = datasets.get_dataset(actor, code)
    datasets.require(actor, dataset, "edit")
    return dataset


def load_target(actor: Actor, code: str) -> Dictionary:
    """Dictionary ``code``, whose table ``actor`` may load from a CSV: they edit its
    dataset."""
    dictionary = datasets.get_dictionary(actor, code)
    datasets.require(actor, dictionary.dataset, "edit")
    return dictionary


def my_upload(actor: Actor, upload_id: str) -> StoredFile:
    """``actor``'s upload ``upload_id``, on a dataset they still see and edit; 404 for anyone
    else's."""
    row = db.session.execute(
        select(StoredFile, Dataset).join(Dataset, Dataset.id == StoredFile.dataset_id)
        .where(StoredFile.upload_id == upload_id, StoredFile.created_by == actor.user_id,
               datasets.visible(actor)), datasets.params(actor)).one_or_none()
    if row is None:
        raise NotFound("The upload does not exist.")
    datasets.require(actor, row.Dataset, "edit")
    return row.StoredFile


def _sees(actor: Actor, upload: StoredFile, dataset: Dataset) -> bool:
    if actor.authenticated and upload.created_by == actor.user_id:
        return True
    if upload.kind != "table" and upload.status == "complete" and upload.viewing != "hidden":
        return True
    return datasets.may(actor, dataset, "manage")


def update(actor: Actor, file_id: int, changes: dict) -> dict:
    """Change a file's viewing or transfer setting (needs edit on the dataset); its answer."""
    upload, dataset, _ = get(actor, file_id)
    datasets.require(actor, dataset, "edit")
    if upload.kind == "table":
        raise ValidationError("A table load has no viewing or transfer setting.")
    changed = {key: value for key, value in changes.items() if getattr(upload, key) != value}
    if changed:
        for key, value in changed.items():
            setattr(upload, key, value)
        upload.updated_at = utcnow()
        emit(Event("file", "update", target=target(upload), details={"changed": changed}))
    return get(actor, file_id).answer


def delete(actor: Actor, file_id: int) -> None:
    """Delete a file and its bytes (needs manage on the dataset)."""
    upload, dataset, answer = get(actor, file_id)
    datasets.require(actor, dataset, "manage")
    emit(Event("file", "delete", target=target(upload),
               details={"dataset": dataset.code, "filename": upload.filename}))
    keys = [upload.storage_key]
    db.session.delete(upload)
    after_commit(lambda: remove_orphans(current_app._get_current_object(), keys))


def download(actor: Actor, file_id: int) -> tuple[StoredFile, str]:
    """File ``file_id`` to send, with its local path, after the checks; audited when the
    caller commits."""
    upload, dataset, _ = get(actor, file_id)
    if upload.kind == "table" or upload.status != "complete":
        raise NotFound(f"File {file_id} has no content to download.")
    if upload.viewing != "downloadable" and upload.created_by != actor.user_id \
            and not datasets.may(actor, dataset, "edit"):
        raise Forbidden(f"File {file_id} may be viewed but not downloaded.")
    emit(Event("file", "download", target=target(upload),
               details={"dataset": dataset.code, "filename": upload.filename}))
    return upload, storage_for(current_app).path(upload.storage_key)


def uploader(upload: StoredFile) -> Actor:
    """The actor a background step on ``upload`` acts as."""
    user = db.session.get(User, upload.created_by) if upload.created_by else None
    return Actor.of(user)
