"""Grants: access to a dictionary's data that an approved request gives its requester,
until its expiry or until an owner of the dataset revokes it."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from fairhub import Actor, Event, Forbidden, NotFound, ValidationError, db, emit, utcnow
from fairhub_datasets import Dataset, Dictionary

from .models import AccessGrant
from .present import people
from .reviewers import approvable, is_owner

STATUSES = ("live", "expired", "revoked")


def status_of(grant: AccessGrant) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at is not None and grant.expires_at <= utcnow():
        return "expired"
    return "live"


def has_live_grant(user_id: int, dictionary_id: int) -> bool:
    """Whether the user holds a live grant on the dictionary: what record-level queries of
    the selection API need."""
    now = utcnow()
    return db.session.scalar(select(AccessGrant.id).where(
        AccessGrant.user_id == user_id, AccessGrant.dictionary_id == dictionary_id,
        AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.expires_at.is_(None), AccessGrant.expires_at > now)).limit(1)) is not None


def visible(actor: Actor, args: dict) -> Select:
    """Grants I hold and those on datasets whose requests I decide, newest first, filtered
    by ``dataset`` code and ``status``."""
    query = select(AccessGrant).where(or_(AccessGrant.user_id == actor.user_id,
                                          approvable(actor, AccessGrant.dataset_id)))
    if args.get("dataset"):
        query = query.where(AccessGrant.dataset_id == select(Dataset.id).where(
            Dataset.code == args["dataset"]).scalar_subquery())
    now, status = utcnow(), args.get("status")
    if status == "live":
        query = query.where(AccessGrant.revoked_at.is_(None), or_(
            AccessGrant.expires_at.is_(None), AccessGrant.expires_at > now))
    elif status == "expired":
        query = query.where(AccessGrant.revoked_at.is_(None), AccessGrant.expires_at <= now)
    elif status == "revoked":
        query = query.where(AccessGrant.revoked_at.isnot(None))
    return query.order_by(AccessGrant.id.desc())


def get(actor: Actor, grant_id: int) -> AccessGrant:
    grant = db.session.scalar(visible(actor, {}).where(AccessGrant.id == grant_id))
    if grant is None:
        raise NotFound(f"Grant {grant_id} does not exist.")
    return grant


def revoke(actor: Actor, grant: AccessGrant, reason: str) -> AccessGrant:
    """End a grant now; only an owner of its dataset may, and only once."""
    dataset = db.session.get(Dataset, grant.dataset_id)
    if not is_owner(actor, dataset):
        raise Forbidden(f"You need to be owner of dataset {dataset.code!r} to revoke its grants.")
    if grant.revoked_at is not None:
        raise ValidationError("The grant is already revoked.",
                              details={"json": {"reason": ["Already revoked."]}})
    if not reason.strip():
        raise ValidationError("Give a reason for revoking the grant.",
                              details={"json": {"reason": ["Give a reason."]}})
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = utcnow(), actor.user_id, reason
    emit(Event("grant", "revoke", actor=actor, target={"type": "grant", "code": str(grant.id)},
               details={"request": grant.request_code, "reason": reason}))
    db.session.flush()
    return grant


def present_all(grants: list[AccessGrant]) -> list[dict]:
    """Grants as the API answers them."""
    users = people({g.user_id for g in grants} | {g.granted_by for g in grants}
                   | {g.revoked_by for g in grants})
    names = {row.id: row for row in db.session.execute(
        select(Dictionary.id, Dictionary.code, Dictionary.name, Dataset.code.label("dataset_code"),
               Dataset.name.label("dataset_name")).join(Dataset, Dataset.id == Dictionary.dataset_id)
        .where(Dictionary.id.in_({g.dictionary_id for g in grants})))} if grants else {}
    return [_one(g, users, names[g.dictionary_id]) for g in grants]


def _one(grant: AccessGrant, users: dict, names) -> dict:
    return {"id": grant.id, "status": status_of(grant), "request": grant.request_code,
            "user": users.get(grant.user_id),
            "dataset": {"code": names.dataset_code, "name": names.dataset_name},
            "dictionary": {"code": names.code, "name": names.name},
            "granted_by": users.get(grant.granted_by), "expires_at": grant.expires_at,
            "revoked_at": grant.revoked_at, "revoked_by": users.get(grant.revoked_by),
            "revoke_reason": grant.revoke_reason, "created_at": grant.created_at}
