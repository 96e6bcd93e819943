"""The datasets plugin's logic: create, change and delete datasets (reading them is in
:mod:`.reads`, their dictionaries in :mod:`.dictionaries`).

Functions take the actor and plain (validated) data, raise fairhub errors and leave committing
to the caller, so that a change and the events it emits commit together.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from fairhub import (
    Actor,
    ApiError,
    Conflict,
    Event,
    NotFound,
    PreconditionFailed,
    ValidationError,
    at_commit,
    db,
    emit,
    flush_unique,
    utcnow,
)

from . import access, dictionaries, reads
from .schemas import DatasetCreateSchema
from .models import CODE_LENGTH, Dataset, DatasetCount, Dictionary, Grant


def get_dataset(actor: Actor, code: str) -> Dataset:
    """The dataset ``code`` if ``actor`` may see it (else 404: its existence is not told),
    with its dictionaries, for changing it."""
    query = (select(Dataset).where(Dataset.code == code, access.visible(actor))
             .options(selectinload(Dataset.dictionaries)))
    dataset = db.session.scalar(query, access.params(actor))
    if dataset is None:
        raise NotFound(f"Dataset {code!r} does not exist.")
    return dataset


def check_etag(dataset: Dataset, if_match: Any) -> None:
    """Refuse a change made from an outdated copy (``If-Match`` naming another version).

    ``if_match`` is the request's werkzeug ``ETags``; empty when the header is absent.
    """
    tag = reads.etag(dataset.id, dataset.version)
    if if_match and not if_match.contains(tag):
        raise PreconditionFailed(
            f"Dataset {dataset.code!r} changed since you read it; read it again and reapply "
            "your change.", details={"etag": tag})


# Codes


def slug(text: str, start_with_letter: bool = False) -> str:
    """A code made from ``text``: ASCII letters, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    code = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:CODE_LENGTH - 8]
    code = code or "dataset"
    return f"t_{code}" if start_with_letter and code[0].isdigit() else code


def free_code(model: type, base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever neither ``taken`` nor the table has."""
    pattern = select(model.code).where(model.code.like(base.replace("_", "\\_") + "%",
                                                       escape="\\"))
    used = taken | set(db.session.scalars(pattern))
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


@dataclass
class Taken:
    """Codes already used, in the database or earlier in the same batch."""

    datasets: set[str]
    dictionaries: set[str]

    @classmethod
    def of(cls, items: list[dict]) -> Taken:
        """The dataset and dictionary codes named by ``items`` that the database has."""
        return cls(datasets=taken_codes(Dataset, [item.get("code") for item in items]),
                   dictionaries=taken_codes(Dictionary, [
                       d.get("code") for item in items for d in item.get("dictionaries", ())]))


def taken_codes(model: type, codes: list[str | None]) -> set[str]:
    """Which of ``codes`` the table ``model`` already has."""
    wanted = {code for code in codes if code}
    if not wanted:
        return set()
    return set(db.session.scalars(select(model.code).where(model.code.in_(wanted))))


# Creating


def create_dataset(actor: Actor, data: dict) -> int:
    """Create a dataset with its dictionaries; the creator becomes its first owner."""
    try:
        (result,) = create_datasets(actor, [data])
    except IntegrityError:
        db.session.rollback()
        raise Conflict(RACED) from None
    if isinstance(result, ApiError):
        raise result
    return result


def create_from_body(actor: Actor, body: Any) -> int:
    """Create a dataset from a body as ``POST /api/datasets`` takes it, checked as the API
    checks it (422 naming each field at fault)."""
    try:
        data = DatasetCreateSchema().load(body)
    except ma.ValidationError as error:
        raise ValidationError("The dataset is not valid; see details for each field.",
                              {"json": error.messages}) from None
    return create_dataset(actor, data)


def create_datasets(actor: Actor, items: list[dict], owner_id: int | None = None,
                    taken: Taken | None = None,
                    prepared: list[dict] | None = None) -> list[int | ApiError]:
    """Create many datasets with one statement per table: each item's id, or what is wrong
    with it.

    ``taken`` holds the codes the database has of those the items name, if the caller looked
    them up in this transaction (:meth:`Taken.of`); ``prepared`` what plugins prepared of each
    item (the ``fairhub_dataset_prepare`` hook), carried by its create event. The creator (if
    a user) and ``owner_id`` become owners. A race with another writer surfaces as
    IntegrityError for the whole batch.
    """
    taken = taken or Taken.of(items)
    results: list[int | ApiError] = []
    plans = []
    for item, ahead in zip(items, prepared or [{}] * len(items)):
        try:
            plans.append((_plan(item, taken), ahead))
            results.append(len(plans) - 1)
        except ApiError as error:
            results.append(error)
    ids = _insert(actor, plans, owner_id) if plans else []
    return [ids[r] if isinstance(r, int) else r for r in results]


def _plan(item: dict, taken: Taken) -> dict:
    """The columns of one new dataset and its dictionaries, once its codes are known free."""
    catalogue = clean_catalogue(item["catalogue"])
    code = item.get("code") or free_code(Dataset, slug(catalogue["title"]), taken.datasets)
    if code in taken.datasets:
        raise Conflict(f"Dataset {code!r} already exists.", details={"code": code})
    tables = []
    try:
        for dictionary in item.get("dictionaries", ()):
            tables.append(dictionaries.new_row(dictionary, taken.dictionaries))
    except ApiError:  # an item that fails takes no code
        taken.dictionaries.difference_update(row["code"] for row in tables)
        raise
    taken.datasets.add(code)
    return {"code": code, "name": item.get("name") or catalogue["title"],
            "visibility": item["visibility"], "workflow_key": item.get("workflow_key"),
            "catalogue": catalogue, "dictionaries": tables}


def clean_catalogue(catalogue: dict) -> dict:
    """The catalogue as stored: no ``id`` (that is the code), no keys set to null."""
    return {key: value for key, value in catalogue.items()
            if value is not None and key != "id"}


def _insert(actor: Actor, plans: list[tuple[dict, dict]], owner_id: int | None) -> list[int]:
    """Insert planned datasets, their dictionaries and owners, a statement per table; count
    them and emit their events."""
    now = utcnow()
    times = {"created_at": now, "updated_at": now}
    ids = db.session.scalars(
        insert(Dataset).returning(Dataset.id, sort_by_parameter_order=True),
        [{**{k: v for k, v in plan.items() if k != "dictionaries"}, **times, "version": 1,
          "created_by": actor.user_id} for plan, _ in plans]).all()
    tables = [{**table, **times, "dataset_id": dataset_id, "position": position}
              for dataset_id, (plan, _) in zip(ids, plans)
              for position, table in enumerate(plan["dictionaries"])]
    if tables:
        db.session.execute(insert(Dictionary), tables)
    owners = {actor.user_id, owner_id} - {None}
    if owners:
        db.session.execute(insert(Grant), [
            {"dataset_id": dataset_id, "user_id": user, "level": "owner", "created_at": now}
            for dataset_id in ids for user in owners])
    for visibility, number in Counter(plan["visibility"] for plan, _ in plans).items():
        count(visibility, number)
    for dataset_id, (plan, ahead) in zip(ids, plans):
        subject = SimpleNamespace(**{**plan, "dictionaries": [
            SimpleNamespace(**table) for table in plan["dictionaries"]]}, id=dataset_id,
            prepared=ahead)
        emit(Event("dataset", "create", target={"type": "dataset", "code": plan["code"]},
                   details={"dictionaries": [d["code"] for d in plan["dictionaries"]]},
                   subject=subject))
    return ids


# Changing


def update_dataset(actor: Actor, dataset: Dataset, data: dict, if_match: Any = None) -> Dataset:
    """Apply a differential PATCH; visibility and workflow changes need ``manage``."""
    access.require(actor, dataset, "edit")
    check_etag(dataset, if_match)
    changed = []
    for key in ("name", "visibility", "workflow_key"):
        if key in data and data[key] != getattr(dataset, key):
            if key != "name":
                access.require(actor, dataset, "manage")
            if key == "visibility":
                count(dataset.visibility, -1)
                count(data[key], 1)
            setattr(dataset, key, data[key])
            changed.append(key)
    if "catalogue" in data:
        if data["catalogue"].get("id", dataset.code) != dataset.code:
            message = "catalogue.id is the dataset's code, which does not change."
            raise ValidationError(message, details={"json": {"catalogue": {"id": [message]}}})
        catalogue = clean_catalogue({**dataset.catalogue, **data["catalogue"]})
        changed += [f"catalogue.{key}" for key in sorted(set(catalogue) | set(dataset.catalogue))
                    if catalogue.get(key) != dataset.catalogue.get(key)]
        dataset.catalogue = catalogue
    if data.get("dictionaries"):
        changed += dictionaries.apply_changes(dataset, data["dictionaries"])
    if changed:
        touch(dataset)
        emit(Event("dataset", "update", target=target(dataset), details={"changed": changed},
                   subject=dataset))
    return dataset


def delete_dataset(actor: Actor, dataset: Dataset, if_match: Any = None) -> None:
    """Delete a dataset with everything that hangs off it; listeners clean up their parts."""
    access.require(actor, dataset, "manage")
    check_etag(dataset, if_match)
    emit(Event("dataset", "delete", target=target(dataset),
               details={"dictionaries": [d.code for d in dataset.dictionaries]}))
    count(dataset.visibility, -1)
    db.session.delete(dataset)
    _flush()


def touch(dataset: Dataset) -> None:
    """Record a change to the dataset, its dictionaries or its grants (a new version and
    updated_at), failing with 412 if another request changed it meanwhile."""
    dataset.updated_at = utcnow()
    _flush()


def count(visibility: str, change: int) -> None:
    """Keep the number of datasets of ``visibility`` (see :class:`DatasetCount`), at the end
    of the transaction: every create and delete updates these few rows, so concurrent writers
    wait for each other only while the first commits, not for its whole transaction."""
    at_commit("dataset_counts", (visibility, change), _write_counts, last=True)


def _write_counts(session: Any, changes: list[tuple[str, int]]) -> None:
    """Apply the count changes of a transaction (:func:`count`), one UPDATE a visibility."""
    totals: Counter = Counter()
    for visibility, change in changes:
        totals[visibility] += change
    for visibility in sorted(totals):  # one order for every writer: no deadlock between two
        if totals[visibility]:
            session.execute(update(DatasetCount).where(DatasetCount.visibility == visibility)
                            .values(datasets=DatasetCount.datasets + totals[visibility]))


def target(dataset: Dataset) -> dict:
    return {"type": "dataset", "code": dataset.code}


RACED = "A dataset or dictionary with one of these codes was just created by another request."


def _flush() -> None:
    try:
        flush_unique(RACED)
    except StaleDataError:
        db.session.rollback()
        raise PreconditionFailed("The dataset was changed by another request at the same "
                                 "time; read it again and reapply your change.") from None
