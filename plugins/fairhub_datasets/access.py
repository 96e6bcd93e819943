"""Who may see and do what to a dataset: visibility, dataset-level grants, approvers.

A dataset action needs both the role permission (checked on the route) and a fitting grant
here. Holders of ``datasets/administer`` (data stewards) need no grant. Every read filters
inside SQL through :func:`visible`.

The statements of the hottest reads are built once, with the caller's user id as the bound
parameter ``user_id`` (see :func:`params`), so a request spends no time building SQL.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased

from fairhub import (
    Actor,
    Forbidden,
    GroupMember,
    Role,
    User,
    db,
    permissions_of,
    read_connection,
)

from .models import VISIBILITIES, Dataset, DatasetCount, Grant

ADMINISTER = "datasets/administer"
# What each capability needs, as grant levels.
CAPABILITIES = {
    "see": ("owner", "manager", "reviewer", "editor", "viewer"),
    "edit": ("owner", "manager", "editor"),
    "manage": ("owner", "manager"),
    "approve": ("owner", "reviewer"),
    "own": ("owner",),
}
_VERBS = {"see": "see", "edit": "edit", "manage": "manage", "approve": "approve requests for",
          "own": "do this to"}

USER_ID = bindparam("user_id", type_=Integer)


def _held(user_id: Any) -> ColumnElement[bool]:
    """A grant held by the user ``user_id`` (a value or a bound parameter), directly or
    through one of their groups."""
    return or_(Grant.user_id == user_id, Grant.group_id.in_(
        select(GroupMember.group_id).where(GroupMember.user_id == user_id).scalar_subquery()))


_HELD = _held(USER_ID)
KINDS = ("everything", "signed-in", "public", "nothing")


def _filter(kind: str, dataset_id: ColumnElement, visibility: ColumnElement) -> ColumnElement:
    """What a kind of caller (see :func:`audience`) sees, on the columns given."""
    if kind == "everything":
        return true()
    if kind == "signed-in":
        return or_(visibility.in_(("internal", "public")),
                   exists().where(Grant.dataset_id == dataset_id, _HELD))
    return visibility == "public" if kind == "public" else false()


FILTERS: dict[str, ColumnElement[bool]] = {
    kind: _filter(kind, Dataset.id, Dataset.visibility) for kind in KINDS}


def audience(actor: Actor) -> str:
    """Which of :data:`FILTERS` applies to ``actor``."""
    if actor.can(ADMINISTER):
        return "everything"
    if actor.authenticated:
        return "signed-in"
    return "public" if current_app.config["PUBLIC_MODE"] else "nothing"


def visible(actor: Actor, dataset_id: ColumnElement | None = None,
            visibility: ColumnElement | None = None) -> ColumnElement[bool]:
    """SQL condition: the datasets ``actor`` may see; execute it with :func:`params`.

    It reads :class:`Dataset`'s columns, or a dataset id and visibility a plugin keeps in a
    table of its own (``dataset_id`` and ``visibility``, given together)."""
    if dataset_id is None:
        return FILTERS[audience(actor)]
    return _filter(audience(actor), dataset_id, visibility)


def params(actor: Actor, **more: object) -> dict:
    """The bound parameters of :func:`visible` and the grant checks, plus ``more``."""
    return {"user_id": actor.user_id, **more}


def granted(actor: Actor, dataset_id: ColumnElement, capability: str) -> ColumnElement[bool]:
    """SQL condition: ``actor`` holds a grant allowing ``capability`` on the dataset
    ``dataset_id`` names (a data steward needs none)."""
    if actor.can(ADMINISTER):
        return true()
    if actor.user_id is None:
        return false()
    return exists().where(Grant.dataset_id == dataset_id,
                          Grant.level.in_(CAPABILITIES[capability]), _held(actor.user_id))


# The grants the caller holds, directly or through a group: driven by the caller's user id,
# so that counting them reads the caller's grants rather than every private dataset.
_HELD_DATASETS = union(
    select(Grant.dataset_id).where(Grant.user_id == USER_ID),
    select(Grant.dataset_id).join(GroupMember, GroupMember.group_id == Grant.group_id)
    .where(GroupMember.user_id == USER_ID)).subquery()
_SHARED = aliased(Dataset, name="shared_dataset")
# The optional ``visibility`` a list asks for (None: any).
VISIBILITY = bindparam("visibility", type_=String)


def _counted(visibilities: tuple[str, ...]) -> ColumnElement[int]:
    """How many datasets of ``visibilities`` (and the asked-for one) there are, from the
    per-visibility counts rather than the table."""
    return (select(func.coalesce(func.sum(DatasetCount.datasets), 0))
            .where(DatasetCount.visibility.in_(visibilities),
                   or_(VISIBILITY.is_(None), DatasetCount.visibility == VISIBILITY))
            .correlate(None).scalar_subquery())


# Counted from the caller's grants, each looking its dataset up: joined instead, SQLite
# would go through every private dataset to find the few held.
_SHARED_PRIVATE = case((or_(VISIBILITY.is_(None), VISIBILITY == "private"), (
    select(func.count()).select_from(_HELD_DATASETS)
    .where(select(_SHARED.visibility).where(_SHARED.id == _HELD_DATASETS.c.dataset_id)
           .scalar_subquery() == "private").correlate(None).scalar_subquery())), else_=0)
# How many datasets each kind of caller sees (what :data:`FILTERS` lets through): one
# column, a statement's own or added to a page's, bound like it (see :func:`params`).
TOTALS: dict[str, ColumnElement[int]] = {
    "everything": _counted(VISIBILITIES),
    "signed-in": _counted(("internal", "public")) + _SHARED_PRIVATE,
    "public": _counted(("public",)),
    "nothing": literal(0, Integer),
}
_TOTAL = {kind: select(total.label("total")) for kind, total in TOTALS.items()}


def visible_count(actor: Actor, visibility: str | None = None) -> int:
    """How many datasets (of ``visibility``) ``actor`` may see: what :func:`visible` lets
    through, from the per-visibility counts plus the private datasets shared with them."""
    return read_connection().scalar(_TOTAL[audience(actor)],
                                    params(actor, visibility=visibility))


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


# Approvers decide access requests, which needs this permission of the requests plugin as
# well as an approving grant. Without that plugin no one decides anything, and approvers are
# simply the holders of approving grants.
DECIDE = "requests/review"
_APPROVING_GRANT = Grant.__table__.alias("approving_grant")
_APPROVING_MEMBER = GroupMember.__table__.alias("approving_member")
_APPROVER = User.__table__.alias("approver")
_APPROVER_ROLE = Role.__table__.alias("approver_role")


def with_approvers(query: Select, dataset_id: ColumnElement) -> Select:
    """``query`` with the columns of each candidate approver of the dataset ``dataset_id``
    names: approved, unarchived users who are owners or reviewers, directly or through a
    group, with their role (:func:`gather_approvers` keeps those whose role may decide).

    Each dataset's row comes once per candidate (a person holding two approving grants twice),
    or once with null approver columns; order by ``APPROVER_ORDER`` and read the rows with
    :func:`gather_approvers`.
    """
    grant, member, user, role = _APPROVING_GRANT, _APPROVING_MEMBER, _APPROVER, _APPROVER_ROLE
    return (
        query.add_columns(user.c.uuid.label("approver_uuid"), user.c.email.label("approver_email"),
                          user.c.first_name.label("approver_first_name"),
                          user.c.last_name.label("approver_last_name"),
                          user.c.role.label("approver_role"),
                          role.c.permissions.label("approver_role_permissions"))
        .outerjoin(grant, and_(grant.c.dataset_id == dataset_id,
                               grant.c.level.in_(CAPABILITIES["approve"])))
        .outerjoin(member, member.c.group_id == grant.c.group_id)
        .outerjoin(user, and_(user.c.id == func.coalesce(grant.c.user_id, member.c.user_id),
                              user.c.approved.is_(True), user.c.archived.is_(False)))
        .outerjoin(role, role.c.code == user.c.role)
    )


APPROVER_ORDER = _APPROVER.c.email


def gather_approvers(rows: Iterable[Row]) -> list[tuple[Row, list[dict]]]:
    """The rows of a :func:`with_approvers` query, ordered by dataset, as (each dataset's first
    row, its approvers in order, each once): those whose role may decide requests."""
    decides = _decides()
    gathered: list[tuple[Row, list[dict]]] = []
    seen: set[str] = set()
    for row in rows:
        if not gathered or gathered[-1][0].id != row.id:
            gathered.append((row, []))
            seen = set()
        if row.approver_uuid is not None and row.approver_uuid not in seen and decides(
                row.approver_role, row.approver_role_permissions):
            seen.add(row.approver_uuid)
            gathered[-1][1].append(person(row.approver_uuid, row.approver_email,
                                          row.approver_first_name, row.approver_last_name))
    return gathered


def _decides():
    """Whether a role (its code and, for a custom role, the permissions it stores) may
    decide requests; every role may where no plugin declares :data:`DECIDE`."""
    if DECIDE not in current_app.extensions["fairhub"].permissions:
        return lambda _code, _stored: True
    return lambda code, stored: DECIDE in permissions_of(code, stored)


def approvers_of(dataset_ids: Iterable[int]) -> dict[int, list[dict]]:
    """The approvers of each of the datasets ``dataset_ids``, by id (those who may decide
    their access requests, see :func:`gather_approvers`)."""
    rows = db.session.execute(
        with_approvers(select(Dataset.id).where(Dataset.id.in_(list(dataset_ids))), Dataset.id)
        .order_by(Dataset.id, APPROVER_ORDER))
    return {row.id: approvers for row, approvers in gather_approvers(rows)}


def person(uuid: str, email: str, first_name: str | None, last_name: str | None) -> dict:
    """A user as datasets show them: uuid, email and full name."""
    name = " ".join(part for part in (first_name, last_name) if part) or None
    return {"uuid": uuid, "email": email, "name": name}
