"""Reading datasets: a page of them, or one, as the caller may see them.

One statement finds the datasets the caller may see (their ids and versions), with their
approvers and, for a page, the total. What the answers show of each dataset comes from the
worker's cache of datasets already dumped (:mod:`.cache`), kept by version; the datasets it
lacks are read through the caller's filter again, so one changed meanwhile comes at its new
version and one deleted or hidden meanwhile not at all.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, bindparam, or_, select
from sqlalchemy.orm import selectinload

from fairhub import Actor, CompiledSelect, NotFound, db

from . import access, cache
from .models import Dataset

# The ids and versions of one page of the datasets a condition lets through, with their
# approvers and the total: one statement, one snapshot.
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)


def _page(condition: Any, total: Any) -> CompiledSelect:
    page = (select(Dataset.id, Dataset.version)
            .where(condition, or_(access.VISIBILITY.is_(None),
                                  Dataset.visibility == access.VISIBILITY))
            .order_by(Dataset.id).limit(_LIMIT).offset(_OFFSET).subquery("page"))
    return CompiledSelect(
        access.with_approvers(select(page.c.id, page.c.version, total.label("total")),
                              page.c.id)
        .order_by(page.c.id, access.APPROVER_ORDER))


def _one(condition: Any) -> CompiledSelect:
    return CompiledSelect(
        access.with_approvers(select(Dataset.id, Dataset.version).where(condition), Dataset.id)
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
    rows = _PAGE[kind].all(access.params(actor, visibility=visibility, limit=size,
                                         offset=(page - 1) * size))
    answers = _answers(actor, kind, access.gather_approvers(rows))
    # A page past the end has no rows to carry the total.
    total = rows[0].total if rows else access.visible_count(actor, visibility)
    return {"items": [answer for answer, _version in answers.values()],
            "paging": {"total": total, "page": page, "page_size": size}}


def read_dataset(actor: Actor, code: str | None = None,
                 dataset_id: int | None = None) -> tuple[Any, str]:
    """The dataset ``code`` (or ``dataset_id``) as GET answers it, with its approvers, and
    its ETag; 404 if ``actor`` may not see it."""
    kind = access.audience(actor)
    statement, key = ((_BY_ID[kind], {"id": dataset_id}) if code is None
                      else (_BY_CODE[kind], {"code": code}))
    gathered = access.gather_approvers(statement.all(access.params(actor, **key)))
    answers = _answers(actor, kind, gathered)
    if not answers:  # unseen, or deleted or hidden from the caller a moment ago
        raise NotFound(f"Dataset {code if code is not None else dataset_id!r} does not exist.")
    ((found_id, (answer, version)),) = answers.items()
    return answer, etag(found_id, version)


def _answers(actor: Actor, kind: str, gathered: list[tuple[Any, list[dict]]]) -> dict:
    """The answers (JSON text) and versions of the datasets whose ids and versions
    ``gathered`` holds, each with its approvers, by id, in its order."""
    kept = cache.answers()
    hits = kept.answers(gathered)
    found = {row.id: (hits.get(row.id), row.version) for row, _approvers in gathered}
    missing = [dataset_id for dataset_id, (answer, _version) in found.items() if answer is None]
    if missing:
        approvers = {row.id: approvers for row, approvers in gathered}
        statement = (select(Dataset).where(Dataset.id.in_(missing), access.FILTERS[kind])
                     .options(selectinload(Dataset.dictionaries)))
        for dataset in db.session.scalars(statement, access.params(actor)):
            found[dataset.id] = (kept.put(dataset, approvers[dataset.id]), dataset.version)
    return {dataset_id: answer for dataset_id, answer in found.items() if answer[0] is not None}


def etag(dataset_id: int, version: int) -> str:
    """A dataset's entity tag: changes with every change to it, its dictionaries or grants."""
    return f"{dataset_id}.{version}"
