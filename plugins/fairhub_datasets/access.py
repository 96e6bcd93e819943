"""Who may see and do what to a dataset: visibility, dataset-level grants, approvers.

A dataset action needs both the role permission (checked on the route) and a fitting grant
here. Holders of ``datasets/administer`` (data stewards) need no grant. Every read filters
inside SQL through :func:`visible`.

The statements of the hottest reads are built once, with the caller's user id as the bound
parameter ``user_id`` (see :func:`params`), so a request spends no time building SQL.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)

from fairhub import Actor, Forbidden, GroupMember, User, db

from .models import VISIBILITIES, Dataset, DatasetCount, Grant

ADMINISTER = "datasets/administer"
# What each capability needs, as grant levels.
CAPABILITIES = {
    "see": ("owner", "manager", "reviewer", "editor", "viewer"),
    "edit": ("owner", "manager", "editor"),
    "manage": ("owner", "manager"),
    "approve": ("owner", "reviewer"),
}
_VERBS = {"see": "see", "edit": "edit", "manage": "manage", "approve": "approve requests for"}

USER_ID = bindparam("user_id", type_=Integer)
# A grant held by the caller, directly or through one of their groups.
_HELD = or_(Grant.user_id == USER_ID, Grant.group_id.in_(
    select(GroupMember.group_id).where(GroupMember.user_id == USER_ID).scalar_subquery()))
# What each kind of caller sees (see :func:`audience`).
FILTERS: dict[str, ColumnElement[bool]] = {
    "everything": true(),
    "signed-in": or_(Dataset.visibility.in_(("internal", "public")),
                     exists().where(Grant.dataset_id == Dataset.id, _HELD)),
    "public": Dataset.visibility == "public",
    "nothing": false(),
}


def audience(actor: Actor) -> str:
    """Which of :data:`FILTERS` applies to ``actor``."""
    if actor.can(ADMINISTER):
        return "everything"
    if actor.authenticated:
        return "signed-in"
    return "public" if current_app.config["PUBLIC_MODE"] else "nothing"


def visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on :class:`Dataset`: the datasets ``actor`` may see; execute it with
    :func:`params`."""
    return FILTERS[audience(actor)]


def params(actor: Actor, **more: object) -> dict:
    """The bound parameters of :func:`visible` and the grant checks, plus ``more``."""
    return {"user_id": actor.user_id, **more}


_COUNTS = select(DatasetCount.visibility, DatasetCount.datasets)
_PRIVATE_SHARED = (select(func.count(func.distinct(Grant.dataset_id)))
                   .join(Dataset, Dataset.id == Grant.dataset_id)
                   .where(Dataset.visibility == "private", _HELD))


def visible_count(actor: Actor, visibility: str | None = None) -> int:
    """How many datasets (of ``visibility``) ``actor`` may see: what :func:`visible` lets
    through, from the per-visibility counts plus the private datasets shared with them."""
    kind = audience(actor)
    wanted = [visibility] if visibility else list(VISIBILITIES)
    shown = {"everything": wanted, "signed-in": [v for v in wanted if v != "private"],
             "public": [v for v in wanted if v == "public"], "nothing": []}[kind]
    connection = db.session.connection()
    counts = dict(connection.execute(_COUNTS).all())
    total = sum(counts.get(v, 0) for v in shown)
    if kind == "signed-in" and "private" in wanted:
        total += connection.execute(_PRIVATE_SHARED, params(actor)).scalar_one()
    return total


_LEVELS = select(Grant.level).where(Grant.dataset_id == bindparam("dataset_id"), _HELD)


def levels(actor: Actor, dataset: Dataset) -> set[str]:
    """The levels ``actor`` holds on ``dataset``."""
    if not actor.authenticated:
        return set()
    return set(db.session.scalars(_LEVELS, params(actor, dataset_id=dataset.id)))


def may(actor: Actor, dataset: Dataset, capability: str) -> bool:
    """Whether ``actor`` holds a grant allowing ``capability`` on ``dataset``."""
    return actor.can(ADMINISTER) or bool(levels(actor, dataset) & set(CAPABILITIES[capability]))


def require(actor: Actor, dataset: Dataset, capability: str) -> None:
    """Raise Forbidden unless ``actor`` may ``capability`` the dataset."""
    if not may(actor, dataset, capability):
        needed = " or ".join(CAPABILITIES[capability])
        raise Forbidden(f"You need to be {needed} of dataset {dataset.code!r} to "
                        f"{_VERBS[capability]} it.")


def _approvers_statement():
    ids, approving = bindparam("ids", expanding=True), CAPABILITIES["approve"]
    direct = (select(Grant.dataset_id, Grant.user_id.label("user_id"))
              .where(Grant.dataset_id.in_(ids), Grant.level.in_(approving),
                     Grant.user_id.is_not(None)))
    by_group = (select(Grant.dataset_id, GroupMember.user_id)
                .join(GroupMember, GroupMember.group_id == Grant.group_id)
                .where(Grant.dataset_id.in_(ids), Grant.level.in_(approving)))
    pairs = union_all(direct, by_group).subquery()
    return (select(pairs.c.dataset_id, User.uuid, User.email, User.first_name, User.last_name)
            .distinct().join(User, User.id == pairs.c.user_id)
            .where(User.approved.is_(True), User.archived.is_(False))
            .order_by(pairs.c.dataset_id, User.email))


_APPROVERS = _approvers_statement()


def approvers(dataset_ids: list[int]) -> dict[int, list[dict]]:
    """Each dataset's approvers: approved, unarchived users who are owners or reviewers,
    directly or through a group."""
    found: dict[int, list[dict]] = {dataset_id: [] for dataset_id in dataset_ids}
    if dataset_ids:
        rows = db.session.connection().execute(_APPROVERS, {"ids": dataset_ids})
        for dataset_id, *columns in rows:
            found[dataset_id].append(person(*columns))
    return found


def person(uuid: str, email: str, first_name: str | None, last_name: str | None) -> dict:
    """A user as datasets show them: uuid, email and full name."""
    name = " ".join(part for part in (first_name, last_name) if part) or None
    return {"uuid": uuid, "email": email, "name": name}
