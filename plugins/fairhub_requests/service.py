"""Access requests: creating and editing them, and finding the ones a caller may see.

Functions take the actor and validated data, raise fairhub errors and leave committing to
the caller, so that a change, its history, its events and its mail commit together.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select

from fairhub import (
    Actor,
    Event,
    Forbidden,
    NotFound,
    ValidationError,
    db,
    emit,
    flush_unique,
    utcnow,
)
from fairhub_datasets import Dataset, get_dataset

from . import attachments, states, workflows
from .models import AccessRequest, RequestDictionary
from .reviewers import REVIEW, approvable, is_owner, may_review

EDITABLE = ("draft", "returned")


def target(request: AccessRequest) -> dict:
    """A request as the audit log names it."""
    return {"type": "request", "code": request.code}


# Reading


def mine(actor: Actor, status: str | None = None, dataset: str | None = None) -> Select:
    """My requests, newest first."""
    query = select(AccessRequest).where(AccessRequest.requester_id == actor.user_id)
    return _filtered(query, status, dataset)


def visible(actor: Actor, status: str | None = None, dataset: str | None = None) -> Select:
    """The requests ``actor`` made or may decide, each once, newest first."""
    query = select(AccessRequest).where(or_(
        AccessRequest.requester_id == actor.user_id,
        and_(approvable(actor, AccessRequest.dataset_id), AccessRequest.status != "draft")))
    return _filtered(query, status, dataset)


def to_review(actor: Actor, status: str | None = "pending", dataset: str | None = None) -> Select:
    """The requests ``actor`` may decide (never drafts), newest first."""
    query = select(AccessRequest).where(approvable(actor, AccessRequest.dataset_id),
                                        AccessRequest.status != "draft")
    return _filtered(query, status, dataset)


def listing(actor: Actor, who: str | None, status: str | None, dataset: str | None) -> Select:
    """The requests ``actor`` lists as ``who``: ``requester`` (mine), ``reviewer`` (those I
    may decide, pending ones unless ``status`` says otherwise; needs requests/review) or
    either (None). ``status`` ``all`` (the default but for reviewers) lists every status."""
    status = status or ("pending" if who == "reviewer" else "all")
    if who == "reviewer" and not actor.can(REVIEW):
        raise Forbidden("You need the permission requests/review to review requests.")
    listed = {"reviewer": to_review, "requester": mine}.get(who, visible)
    return listed(actor, None if status == "all" else status, dataset)


def _filtered(query: Select, status: str | None, dataset: str | None) -> Select:
    if status:
        query = query.where(AccessRequest.status == status)
    if dataset:
        query = query.where(AccessRequest.dataset_id == select(Dataset.id).where(
            Dataset.code == dataset).scalar_subquery())
    return query.order_by(AccessRequest.id.desc())


def get_request(actor: Actor, code: str) -> AccessRequest:
    """Request ``code`` if ``actor`` made it or may decide it (404 otherwise)."""
    request = db.session.scalar(select(AccessRequest).where(AccessRequest.code == code))
    if request is None or not (request.requester_id == actor.user_id or (
            request.status != "draft" and may_review(actor, dataset_of(request)))):
        raise NotFound(f"Request {code!r} does not exist.")
    return request


def dataset_of(request: AccessRequest) -> Dataset:
    return db.session.get(Dataset, request.dataset_id)


def dictionary_ids(request: AccessRequest) -> list[int]:
    return list(db.session.scalars(select(RequestDictionary.dictionary_id).where(
        RequestDictionary.request_id == request.id).order_by(RequestDictionary.dictionary_id)))


# Writing


def create(actor: Actor, data: dict) -> AccessRequest:
    """A new request of ``actor`` for tables of a dataset they may see, saved as a draft or
    submitted (``data["status"]`` is ``draft`` or ``pending``)."""
    dataset = _requestable(actor, data["dataset"])
    now = utcnow()
    request = AccessRequest(code=_new_code(), dataset_id=dataset.id, requester_id=actor.user_id,
                            workflow_key=dataset.workflow_key, status="draft", answers={},
                            output="clear", attachments=[], created_at=now, updated_at=now)
    db.session.add(request)
    _fill(request, dataset, data, defaults=True)
    flush_unique("A request with this code was just made; send it again.")
    states.record(actor, request, "create", None, "draft")
    emit(Event("request", "create", actor=actor, target=target(request),
               details={"dataset": dataset.code}))
    if data.get("status", "pending") == "pending":
        states.submit(actor, request)
    return request


def update(actor: Actor, request: AccessRequest, data: dict) -> AccessRequest:
    """Change my draft or returned request; ``status: pending`` submits it afterwards."""
    if request.requester_id != actor.user_id:
        raise Forbidden(f"Only the requester may change request {request.code!r}.")
    states.require_status(request, EDITABLE, "changed")
    dataset = dataset_of(request)
    _fill(request, dataset, data, defaults=False)
    request.updated_at = utcnow()
    emit(Event("request", "update", actor=actor, target=target(request),
               details={"fields": sorted(k for k in data if k != "status")}))
    if data.get("status") == "pending":
        states.submit(actor, request)
    return request


def act_as_requester(actor: Actor, code: str, action: str) -> AccessRequest:
    """``submit`` or ``withdraw`` request ``code``, which only its requester may do."""
    request = get_request(actor, code)
    if request.requester_id != actor.user_id:
        raise Forbidden(f"Only the requester may {action} request {code!r}.")
    if action == "submit":
        states.submit(actor, request)
    else:
        states.move(actor, request, action)
    return request


def decide(actor: Actor, code: str, action: str, reason: str,
           expires_at: datetime | None = None) -> AccessRequest:
    """``approve``, ``deny`` or ``return`` request ``code``, as an owner or reviewer of its
    dataset (see :func:`.states.decide`)."""
    request = get_request(actor, code)
    dataset = dataset_of(request)
    if not may_review(actor, dataset):
        raise Forbidden(f"You need to be owner or reviewer of dataset {dataset.code!r} to "
                        "decide its requests.")
    states.decide(actor, request, action, reason, expires_at)
    return request


def archive(actor: Actor, code: str, reason: str | None) -> AccessRequest:
    """Archive request ``code`` as an owner of its dataset; it is purged after the configured
    days."""
    request = get_request(actor, code)
    dataset = dataset_of(request)
    if not (may_review(actor, dataset) and is_owner(actor, dataset)):
        raise Forbidden(f"You need to be owner of dataset {dataset.code!r} to archive its "
                        "requests.")
    reason = (reason or "").strip() or None
    states.move(actor, request, "archive", reason, archived_at=utcnow(), reason=reason)
    return request


def _requestable(actor: Actor, code: str) -> Dataset:
    """Dataset ``code`` if ``actor`` may see it and it takes requests (422 otherwise)."""
    dataset = get_dataset(actor, code)
    if not dataset.workflow_key or dataset.workflow_key not in workflows.WORKFLOWS:
        _fail("dataset", f"Dataset {code!r} does not take access requests.")
    if not dataset.dictionaries:
        _fail("dataset", f"Dataset {code!r} has no tables to request.")
    return dataset


def _fill(request: AccessRequest, dataset: Dataset, data: dict, defaults: bool) -> None:
    """Set the request's dictionaries, answers, output, attachments and rights from ``data``
    (on creation, absent keys take their defaults)."""
    if "dictionaries" in data or defaults:
        _set_dictionaries(request, dataset, data.get("dictionaries"))
    if "answers" in data or defaults:
        form = workflows.current_form(request.workflow_key)
        request.answers = workflows.check_answers(form, data.get("answers") or {}, False)
        request.project_name = request.answers["project"].get("project_name")
    if "output" in data:
        request.output = data["output"]
    if "attachments" in data or defaults:
        request.attachments = attachments.choose(dataset.id, data.get("attachments") or [])
    if "accept_rights" in data:
        request.rights_accepted = _rights(dataset) if data["accept_rights"] else None


def _set_dictionaries(request: AccessRequest, dataset: Dataset, codes: list[str] | None) -> None:
    by_code = {d.code: d.id for d in dataset.dictionaries}
    codes = list(by_code) if not codes else list(dict.fromkeys(codes))
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        _fail("dictionaries", f"Dataset {dataset.code!r} has no dictionaries "
                              f"{', '.join(map(repr, unknown))}.")
    if request.id is not None:
        db.session.execute(delete(RequestDictionary).where(
            RequestDictionary.request_id == request.id))
    else:
        db.session.flush()
    db.session.add_all(RequestDictionary(request_id=request.id, dictionary_id=by_code[code])
                       for code in codes)


def _rights(dataset: Dataset) -> str | None:
    rights = (dataset.catalogue or {}).get("rights")
    return rights if isinstance(rights, str) and rights else None


def check_complete(request: AccessRequest) -> None:
    """422 unless the request may be submitted: required answers given, rights accepted."""
    dataset = dataset_of(request)
    form = workflows.current_form(request.workflow_key)
    workflows.check_answers(form, request.answers, True)
    rights = _rights(dataset)
    if rights and request.rights_accepted != rights:
        _fail("accept_rights", f"Accept the dataset's rights ({rights}) to submit the request.")
    if not dictionary_ids(request):
        _fail("dictionaries", "The request asks for no tables.")


def _new_code() -> str:
    return "req_" + secrets.token_hex(6)


def _fail(field: str, message: str) -> Any:
    raise ValidationError(message, details={"json": {field: [message]}})

