"""Users: create, find, update, approve, archive and restore."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import Select, bindparam, or_, select

from fairhub.auth import Actor
from fairhub.db import db, flush_unique, like_pattern
from fairhub.errors import Conflict, Forbidden, NotFound, ValidationError
from fairhub.events import Event, emit
from fairhub.identity.models import Group, GroupMember, User
from fairhub.identity.service import sessions, tokens
from fairhub.identity.service.passwords import check_policy, hash_password
from fairhub.identity.service.roles import check_can_grant, check_role_assignable


def _target(user: User) -> dict:
    return {"type": "user", "code": user.uuid}


def _is_user(actor: Actor | None) -> bool:
    """Whether limits apply: a signed-in user's; operators at the command line have none."""
    return actor is not None and actor.authenticated


def get_user(uuid: str) -> User:
    user = db.session.scalar(select(User).where(User.uuid == uuid))
    if user is None:
        raise NotFound(f"User {uuid!r} does not exist.")
    return user


def _sees_only_findable(actor: Actor | None) -> bool:
    """Whether ``actor`` sees only searchable, active users: a signed-in caller who may not
    change users (a data manager)."""
    return _is_user(actor) and not actor.can("users/update")


def read_user(actor: Actor | None, uuid: str) -> User:
    """User ``uuid`` as ``actor`` may see them (see :func:`search_users`); 404 otherwise."""
    user = get_user(uuid)
    if _sees_only_findable(actor) and (not user.searchable or user.archived):
        raise NotFound(f"User {uuid!r} does not exist.")
    return user


_GROUPS_OF = (
    select(Group.code, Group.name).join(GroupMember, GroupMember.group_id == Group.id)
    .where(GroupMember.user_id == bindparam("user_id")).order_by(Group.code)
)


def groups_of(user_id: int) -> list[dict]:
    """The code and name of each group a user belongs to."""
    rows = db.session.execute(_GROUPS_OF, {"user_id": user_id}).all()
    return [{"code": code, "name": name} for code, name in rows]


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


EMAIL_MAX_LENGTH = 254


def normalise_email(email: str) -> str:
    """An email as stored: stripped and lower-cased, which can lengthen it (``"İ"`` becomes
    two characters); 422 when it no longer fits."""
    email = email.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"The email is longer than {EMAIL_MAX_LENGTH} characters.",
                              details={"json": {"email": [
                                  f"Longer than {EMAIL_MAX_LENGTH} characters in lower case."]}})
    return email


def _conflict(email: str) -> str:
    return f"A user with email {email!r} already exists."


def search_users(filters: dict, actor: Actor | None = None) -> Select:
    """Users matching ``q`` (name or email), role, approved and archived, by email; only
    searchable, active ones for an actor who may not change users."""
    query = select(User).order_by(User.email)
    if filters.get("q"):
        pattern = like_pattern(filters["q"].strip())
        query = query.where(or_(User.email.ilike(pattern, escape="\\"),
                                User.first_name.ilike(pattern, escape="\\"),
                                User.last_name.ilike(pattern, escape="\\")))
    for key in ("role", "approved", "archived"):
        if filters.get(key) is not None:
            query = query.where(getattr(User, key) == filters[key])
    if _sees_only_findable(actor):
        query = query.where(User.searchable.is_(True), User.archived.is_(False))
    return query


def create_user(data: dict, actor: Actor | None) -> User:
    """Create a user, unapproved unless ``approved`` is given or USERS_AUTO_APPROVE is on."""
    if data.get("password") is not None:
        check_policy(data["password"])
    email = normalise_email(data["email"])
    if find_by_email(email) is not None:
        raise Conflict(_conflict(email))
    role = data.get("role") or current_app.config["USERS_DEFAULT_ROLE"]
    check_role_assignable(role, actor)
    approved = data.get("approved")
    if approved is None:
        approved = bool(current_app.config["USERS_AUTO_APPROVE"])
    elif approved and _is_user(actor) and not actor.can("users/approve"):
        raise Forbidden("Creating an approved user needs the permission 'users/approve'.")
    user = User(
        email=email, first_name=data.get("first_name"), last_name=data.get("last_name"),
        role=role, approved=approved, archived=False, searchable=data.get("searchable", True),
        password_hash=hash_password(data["password"]) if data.get("password") else None,
    )
    db.session.add(user)
    flush_unique(_conflict(email))
    emit(Event("user", "create", actor=actor, target=_target(user),
               details={"email": email, "role": role, "approved": approved}))
    return user


def update_user(user: User, data: dict, actor: Actor | None) -> User:
    """Change profile fields, the role (needs ``roles/assign``) or the password.

    The actor must be able to grant the user's role, even on their own account, so that an
    API token narrower than its owner cannot change the owner; see also
    :func:`_check_account_change`.
    """
    if "password" in data:
        check_policy(data["password"])
    check_can_grant(user.role, actor)
    _check_account_change(user, data, actor)
    if "email" in data:
        email = normalise_email(data["email"])
        other = find_by_email(email)
        if other is not None and other.id != user.id:
            raise Conflict(_conflict(email))
        user.email = email
        flush_unique(_conflict(email))
    for key in ("first_name", "last_name", "searchable"):
        if key in data:
            setattr(user, key, data[key])
    if "password" in data:
        set_password(user, data["password"], actor)
    if "role" in data and data["role"] != user.role:
        _need_roles_assign(actor, "Changing a user's role")
        check_role_assignable(data["role"], actor, [user])
        emit(Event("role", "assign", actor=actor, target={"type": "role", "code": data["role"]},
                   details={"users": [user.uuid], "previous": user.role}))
        user.role = data["role"]
    changed = sorted(k if k != "password" else "password_changed" for k in data)
    emit(Event("user", "update", actor=actor, target=_target(user), details={"fields": changed}))
    return user


def _check_account_change(user: User, data: dict, actor: Actor | None) -> None:
    """Refuse changes that would hand over an account: another user's email or password
    need what changing their role needs, and my own password changes only at
    ``/api/user/password``, with the current one."""
    if not _is_user(actor) or not {"email", "password"} & set(data):
        return
    if actor.user_id != user.id:
        _need_roles_assign(actor, "Changing another user's email or password")
    elif "password" in data:
        raise Forbidden("Change your own password at /api/user/password, "
                        "giving the current one.")


def _need_roles_assign(actor: Actor | None, change: str) -> None:
    """Refuse ``change`` to a signed-in actor without ``roles/assign``."""
    if _is_user(actor) and not actor.can("roles/assign"):
        raise Forbidden(f"{change} needs the permission 'roles/assign'.")


def set_password(user: User, password: str, actor: Actor | None) -> None:
    """Give ``user`` a new password and end their other sessions (all of them, unless the
    actor is the user in a session, which stays open); 422 for a password the policy
    refuses."""
    check_policy(password)
    user.password_hash = hash_password(password)
    mine = actor is not None and actor.user_id == user.id
    sessions.revoke_sessions(user, keep=actor.session_id if mine else None)


def change_my_password(actor: Actor, current: str, new: str, ip: str | None) -> None:
    """Change the password of the actor's user, in a session from logging in, given the
    current one. A wrong current password counts as a failed login; the other sessions end.
    """
    check_policy(new, "new_password")  # before any guess counts
    if actor.session_id is None:
        raise Forbidden("Changing your password needs a session from logging in, "
                        "not an API token.")
    user = actor.user
    if not sessions.check_password(user, user.email, current, ip):
        raise ValidationError("The current password is wrong.",
                              details={"json": {"current_password": ["Wrong password."]}})
    set_password(user, new, actor)
    emit(Event("user", "password_change", target={"type": "user", "code": user.uuid}))


def set_approved(user: User, approved: bool, actor: Actor | None) -> User:
    check_can_grant(user.role, actor)
    if user.archived:
        raise Conflict("An archived user cannot be approved or unapproved; restore them first.")
    user.approved = approved
    emit(Event("user", "approve" if approved else "unapprove", actor=actor, target=_target(user)))
    return user


def archive(user: User, reason: str, expire_tokens: bool, actor: Actor | None) -> User:
    """Archive a user with a reason; they can no longer sign in, nor can their tokens."""
    if actor is not None and actor.user_id == user.id:
        raise Conflict("You cannot archive yourself.")
    if user.archived:
        raise Conflict(f"User {user.email!r} is already archived.")
    check_can_grant(user.role, actor)
    user.archived, user.archived_reason = True, reason
    expired = tokens.expire_all(user, actor) if expire_tokens else 0
    emit(Event("user", "archive", actor=actor, target=_target(user),
               details={"reason": reason, "tokens_expired": expired}))
    return user


def restore(user: User, actor: Actor | None) -> User:
    """Bring an archived user back, unapproved, so someone must approve them again."""
    if not user.archived:
        raise Conflict(f"User {user.email!r} is not archived.")
    check_can_grant(user.role, actor)
    user.archived, user.archived_reason, user.approved = False, None, False
    emit(Event("user", "restore", actor=actor, target=_target(user)))
    return user
