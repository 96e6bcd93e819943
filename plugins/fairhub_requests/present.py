"""Requests as the API answers them, built for a page of requests in a few queries."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from fairhub import User, db
from fairhub_datasets import Dataset, Dictionary, approvers_of, person

from .models import AccessRequest, RequestDictionary, RequestHistory


def present(request: AccessRequest) -> dict:
    """One request as the API answers it."""
    return present_all([request])[0]


def present_all(requests: Sequence[AccessRequest]) -> list[dict]:
    """``requests`` as the API answers them, in order."""
    if not requests:
        return []
    ids = [r.id for r in requests]
    datasets = _datasets({r.dataset_id for r in requests})
    dictionaries = _dictionaries(ids, datasets)
    history = _history(ids)
    users = people({r.requester_id for r in requests}
                   | {h["actor_id"] for entries in history.values() for h in entries})
    return [_one(r, users, datasets, dictionaries, history) for r in requests]


def _one(request: AccessRequest, users: dict, datasets: dict, dictionaries: dict,
         history: dict) -> dict:
    dataset = datasets[request.dataset_id]
    return {
        "id": request.id, "code": request.code, "status": request.status,
        "project_name": request.project_name, "workflow_key": request.workflow_key,
        "requester": users.get(request.requester_id),
        "dataset": {"code": dataset["code"], "name": dataset["name"]},
        "dictionaries": dictionaries.get(request.id, []),
        "answers": request.answers, "output": request.output,
        "attachments": request.attachments, "rights_accepted": request.rights_accepted,
        "reason": request.reason, "submitted_at": request.submitted_at,
        "decided_at": request.decided_at, "archived_at": request.archived_at,
        "created_at": request.created_at, "updated_at": request.updated_at,
        "history": [{"action": h["action"], "from": h["from_status"], "to": h["to_status"],
                     "actor": users.get(h["actor_id"]), "reason": h["reason"],
                     "created_at": h["created_at"]} for h in history.get(request.id, [])],
    }


def people(user_ids: set[int | None]) -> dict[int, dict]:
    """The users ``user_ids`` name, as {uuid, email, name}, by id."""
    wanted = [i for i in user_ids if i is not None]
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.uuid, User.email, User.first_name,
                                     User.last_name).where(User.id.in_(wanted)))
    return {row.id: person(row.uuid, row.email, row.first_name, row.last_name)
            for row in rows}


def _datasets(dataset_ids: set[int]) -> dict[int, dict]:
    """Code, name and approvers of each dataset, by id."""
    approvers = approvers_of(dataset_ids)
    rows = db.session.execute(select(Dataset.id, Dataset.code, Dataset.name)
                              .where(Dataset.id.in_(dataset_ids)))
    return {row.id: {"code": row.code, "name": row.name, "approvers": approvers[row.id]}
            for row in rows}


def _dictionaries(request_ids: list[int], datasets: dict) -> dict[int, list[dict]]:
    rows = db.session.execute(
        select(RequestDictionary.request_id, Dictionary.code, Dictionary.name,
               Dictionary.dataset_id)
        .join(Dictionary, Dictionary.id == RequestDictionary.dictionary_id)
        .where(RequestDictionary.request_id.in_(request_ids))
        .order_by(Dictionary.position, Dictionary.id))
    found: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        found[row.request_id].append(
            {"code": row.code, "name": row.name, "dataset": datasets[row.dataset_id]})
    return found


def _history(request_ids: list[int]) -> dict[int, list[dict]]:
    rows = db.session.execute(select(RequestHistory).where(
        RequestHistory.request_id.in_(request_ids)).order_by(RequestHistory.id)).scalars()
    found: dict[int, list[dict]] = defaultdict(list)
    for entry in rows:
        found[entry.request_id].append({
            "action": entry.action, "from_status": entry.from_status,
            "to_status": entry.to_status, "actor_id": entry.actor_id, "reason": entry.reason,
            "created_at": entry.created_at})
    return found
