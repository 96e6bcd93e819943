"""Dataset-level grants: who holds which level on a dataset, and changing that.

Managers and owners share a dataset; only owners (or data stewards) hand out or take away
the levels that approve requests (``owner``, ``reviewer``), and the last owner stays.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from fairhub import (
    Actor,
    Conflict,
    Event,
    Group,
    NotFound,
    User,
    ValidationError,
    db,
    emit,
)

from . import access
from .models import Dataset, Grant
from .service import target, touch

APPROVING = frozenset(access.CAPABILITIES["approve"])


def list_grants(actor: Actor, dataset: Dataset) -> list[dict]:
    """The dataset's grants, users first (by email), then groups (by code)."""
    access.require(actor, dataset, "manage")
    rows = db.session.execute(
        select(Grant, User, Group).outerjoin(User, User.id == Grant.user_id)
        .outerjoin(Group, Group.id == Grant.group_id).where(Grant.dataset_id == dataset.id)
        .order_by(Grant.user_id.is_(None), User.email, Group.code))
    return [_present(grant, user, group) for grant, user, group in rows]


def set_grant(actor: Actor, dataset: Dataset, data: dict) -> tuple[dict, bool]:
    """Give a user or group a level (replacing the one it had); True if the grant is new."""
    access.require(actor, dataset, "manage")
    user, group = _grantee(data)
    grant = db.session.scalar(select(Grant).where(
        Grant.dataset_id == dataset.id,
        Grant.user_id == user.id if user else Grant.group_id == group.id))
    previous = grant.level if grant else None
    if {previous, data["level"]} & APPROVING:
        access.require(actor, dataset, "approve")
    if previous == "owner" and data["level"] != "owner":
        _keep_an_owner(dataset, grant)
    created = grant is None
    if created:
        grant = Grant(dataset_id=dataset.id, user_id=user and user.id,
                      group_id=group and group.id, level=data["level"])
        db.session.add(grant)
    grant.level = data["level"]
    touch(dataset)
    _emit(dataset, "grant", user, group, level=data["level"], previous=previous)
    return _present(grant, user, group), created


def remove_grant(actor: Actor, dataset: Dataset, grant_id: int) -> None:
    """Take a grant away; an approving one only by an owner, never the last owner."""
    access.require(actor, dataset, "manage")
    grant = db.session.scalar(select(Grant).where(Grant.id == grant_id,
                                                  Grant.dataset_id == dataset.id))
    if grant is None:
        raise NotFound(f"Dataset {dataset.code!r} has no grant {grant_id}.")
    if grant.level in APPROVING:
        access.require(actor, dataset, "approve")
    if grant.level == "owner":
        _keep_an_owner(dataset, grant)
    user = db.session.get(User, grant.user_id) if grant.user_id else None
    group = db.session.get(Group, grant.group_id) if grant.group_id else None
    db.session.delete(grant)
    touch(dataset)
    _emit(dataset, "ungrant", user, group, previous=grant.level)


def _grantee(data: dict) -> tuple[User | None, Group | None]:
    if "group" in data:
        group = db.session.scalar(select(Group).where(Group.code == data["group"]))
        if group is None:
            raise _unknown("group", f"Group {data['group']!r} does not exist.")
        return None, group
    ref = data["user"].strip()
    user = db.session.scalar(select(User).where(or_(User.uuid == ref,
                                                    User.email == ref.lower())))
    if user is None:
        raise _unknown("user", f"User {ref!r} does not exist.")
    return user, None


def _unknown(key: str, message: str) -> ValidationError:
    return ValidationError(message, details={"json": {key: [message]}})


def _keep_an_owner(dataset: Dataset, leaving: Grant) -> None:
    owners = db.session.scalar(select(func.count()).select_from(Grant).where(
        Grant.dataset_id == dataset.id, Grant.level == "owner", Grant.id != leaving.id))
    if not owners:
        raise Conflict(f"Dataset {dataset.code!r} must keep an owner; make someone else owner "
                       "first.")


def _emit(dataset: Dataset, action: str, user: User | None, group: Group | None,
          **details: str | None) -> None:
    grantee = {"user": user.email} if user else {"group": group.code}
    emit(Event("dataset", action, target=target(dataset), details={**grantee, **details}))


def _present(grant: Grant, user: User | None, group: Group | None) -> dict:
    person = user and access.person(user.uuid, user.email, user.first_name, user.last_name)
    return {"id": grant.id, "level": grant.level, "created_at": grant.created_at,
            "user": person, "group": group and {"code": group.code, "name": group.name}}
