"""Reading datasets: a page of them, or one, as the caller may see them.

One statement finds the datasets the caller may see (their ids and versions), with their
approvers and, for a page, the total. What the answers show of each dataset comes from the
worker's cache of datasets already dumped (:mod:`.cache`), kept by version; the datasets it
lacks are read through the caller's filter again, so one changed meanwhile comes at its new
version and one deleted or hidden meanwhile not at all.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, or_, select
from sqlalchemy.orm import selectinload

from fairhub import Actor, NotFound, db, read_connection

from . import access, cache
from .models import Dataset

# The ids and versions of one page of the datasets a condition lets through, with their
# approvers and the total: one statement, one snapshot. The page's size and start are written
# into the statement (literal_execute): PostgreSQL plans a statement with a bound LIMIT and
# OFFSET afresh at every execution, which costs more than running it.
_LIMIT = bindparam("limit", type_=Integer, literal_execute=True)
_OFFSET = bindparam("offset", type_=Integer, literal_execute=True)


def _page(condition: Any, total: Any) -> Select:
    page = (select(Dataset.id, Dataset.version)
            .where(condition, or_(access.VISIBILITY.is_(None),
                                  Dataset.visibility == access.VISIBILITY))
            .order_by(Dataset.id).limit(_LIMIT).offset(_OFFSET).subquery("page"))
    return (access.with_approvers(select(page.c.id, page.c.version, total.label("total")),
                                  page.c.id)
            .order_by(page.c.id, access.APPROVER_ORDER))


def _one(condition: Any) -> Select:
    return (access.with_approvers(select(Dataset.id, Dataset.version).where(condition),
                                  Dataset.id)
            .order_by(access.APPROVER_ORDER))


_PAGE = {kind: _page(condition, access.TOTALS[kind])
         for kind, condition in access.FILTERS.items()}
_BY_CODE = {kind: _one(and_(Dataset.code == bindparam("code"), condition))
            for kind, condition in access.FILTERS.items()}
_BY_ID = {kind: _one(and_(Dataset.id == bindparam("id"), condition))
          for kind, condition in access.FILTERS.items()}


def list_datasets(actor: Actor, page: int, size: int, visibility: str | None = None) -> dict:
    """One page of the datasets ``actor`` may see (of ``visibility``), oldest first, each
    with its approvers, in the list shape."""
    kind = access.audience(actor)
    rows = read_connection().execute(_PAGE[kind], access.params(
        actor, visibility=visibility, limit=size, offset=(page - 1) * size)).all()
    gathered = access.gather_approvers(rows)
    answers = _answers(actor, kind, gathered)
    # A page past the end has no rows to carry the total.
    total = rows[0].total if rows else access.visible_count(actor, visibility)
    return {"items": [answers[row.id] for row, _ in gathered if row.id in answers],
            "paging": {"total": total, "page": page, "page_size": size}}


def read_dataset(actor: Actor, code: str | None = None, dataset_id: int | None = None) -> dict:
    """The dataset ``code`` (or ``dataset_id``) as GET answers it, with its approvers and
    ``etag``; 404 if ``actor`` may not see it."""
    kind = access.audience(actor)
    statement, key = ((_BY_ID[kind], {"id": dataset_id}) if code is None
                      else (_BY_CODE[kind], {"code": code}))
    gathered = access.gather_approvers(read_connection().execute(
        statement, access.params(actor, **key)).all())
    answers = _answers(actor, kind, gathered)
    if not answers:  # unseen, or deleted or hidden from the caller a moment ago
        raise NotFound(f"Dataset {code if code is not None else dataset_id!r} does not exist.")
    (answer,) = answers.values()
    return answer


def _answers(actor: Actor, kind: str, gathered: list[tuple[Any, list[dict]]]) -> dict:
    """The answers of the datasets whose ids and versions ``gathered`` holds, each with its
    approvers and ``etag``, by id."""
    kept = cache.answers()
    found: dict[int, tuple[int, dict]] = {}
    for row, _approvers in gathered:
        entry = kept.get(row.id, row.version)
        if entry is not None:
            found[row.id] = (row.version, entry)
    missing = [row.id for row, _ in gathered if row.id not in found]
    if missing:
        statement = (select(Dataset).where(Dataset.id.in_(missing), access.FILTERS[kind])
                     .options(selectinload(Dataset.dictionaries)))
        for dataset in db.session.scalars(statement, access.params(actor)):
            entry = kept.put(dataset)
            found[dataset.id] = (dataset.version, entry)
    return {row.id: {**found[row.id][1], "approvers": approvers,
                     "etag": etag(row.id, found[row.id][0])}
            for row, approvers in gathered if row.id in found}


def etag(dataset_id: int, version: int) -> str:
    """A dataset's entity tag: changes with every change to it, its dictionaries or grants."""
    return f"{dataset_id}.{version}"
