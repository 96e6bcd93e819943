"""Operator commands: ``fairhub init``, ``fairhub users ...`` and ``fairhub tokens ...``."""
from __future__ import annotations

import secrets
import sys
from datetime import date, datetime, time, timedelta, timezone

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from fairhub.auth import Actor
from fairhub.db import db, utcnow
from fairhub.identity.models import User
from fairhub.identity.service import tokens, users
from fairhub.identity.service.passwords import MIN_LENGTH, policy_problem
from fairhub.identity.service.roles import DATA_STEWARD
from fairhub.terminal import echo_table

# The services' errors (ApiError) reach the person as `Error: <sentence>`: see fairhub.cli.
CLI_ACTOR = Actor(via="cli")


def _user(email: str) -> User:
    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email {email!r}.")
    return user


def _read_password() -> tuple[str, bool]:
    """A password from stdin (prompted on a terminal, again until the policy takes it);
    generated when none is given. Whatever is read, the service checks it against the policy
    the API applies."""
    if not sys.stdin.isatty():
        given = sys.stdin.readline().rstrip("\n")
        return (given, False) if given else (secrets.token_urlsafe(18), True)
    while True:
        given = click.prompt("Password (empty to generate one)", hide_input=True,
                             confirmation_prompt=True, default="", show_default=False)
        if not given:
            return secrets.token_urlsafe(18), True
        problem = policy_problem(given)
        if problem is None:
            return given, False
        click.echo(problem, err=True)


def _show_generated(password: str) -> None:
    click.echo(f"Password: {password}")


@click.command("init")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the server will answer, for the example it prints.")
@with_appcontext
def init_command(url: str) -> None:
    """On an empty instance, create the first administrator and print an API token for it."""
    if db.session.scalar(select(func.count(User.id))):
        click.echo("This instance already has users; nothing to do.", err=True)
        return
    email = current_app.config["ADMIN_EMAIL"]
    admin = users.create_user({"email": email, "role": DATA_STEWARD, "approved": True},
                              CLI_ACTOR)
    lifetime = timedelta(days=current_app.config["TOKENS_MAX_LIFETIME_DAYS"])
    _token, secret = tokens.issue_token(
        admin, name="first-run", role=DATA_STEWARD, valid_to=utcnow() + lifetime,
        reason="Created by `fairhub init` for the first administrator.", actor=CLI_ACTOR,
    )
    db.session.commit()
    click.echo(f"""
Created the administrator {email} (role {DATA_STEWARD}) and an API token for it.
The token is shown this once; keep it somewhere safe:

    {secret}

Try it:

    curl -H "Authorization: Bearer {secret}" {url.rstrip("/")}/api/user

Set a password to sign in with ({MIN_LENGTH} characters or more): fairhub users set-password {email}
""")


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", default=None, help="Role code (default USERS_DEFAULT_ROLE).")
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--approved/--unapproved", default=None,
              help="Approve the user at once, or leave them waiting for approval. Default: "
                   "as the API does, approved only if FAIRHUB_USERS_AUTO_APPROVE is on.")
@with_appcontext
def users_create(email, role, first_name, last_name, approved) -> None:
    """Create a user; the password is read from stdin, or generated and printed.

    The password must meet the API's policy (at least 10 characters). Like users created
    through the API, the user waits for approval (`fairhub users approve EMAIL`) unless
    --approved is given or FAIRHUB_USERS_AUTO_APPROVE is on.
    """
    password, generated = _read_password()
    user = users.create_user({"email": email, "role": role, "first_name": first_name,
                              "last_name": last_name, "password": password,
                              "approved": approved}, CLI_ACTOR)
    db.session.commit()
    if generated:
        _show_generated(password)
    if not user.approved:
        click.echo(f"{user.email} waits for approval: fairhub users approve {user.email}",
                   err=True)


@users_group.command("set-password")
@click.argument("email")
@with_appcontext
def users_set_password(email) -> None:
    """Set a user's password from stdin (or generate and print one).

    The password must meet the API's policy (at least 10 characters).
    """
    password, generated = _read_password()
    users.update_user(_user(email), {"password": password}, CLI_ACTOR)
    db.session.commit()
    if generated:
        _show_generated(password)


@users_group.command("approve")
@click.argument("email")
@with_appcontext
def users_approve(email) -> None:
    """Approve a user."""
    users.set_approved(_user(email), True, CLI_ACTOR)
    db.session.commit()


@users_group.command("archive")
@click.argument("email")
@click.option("--reason", required=True, help="Why the user is archived.")
@click.option("--expire-tokens", is_flag=True, help="Also expire the user's API tokens.")
@with_appcontext
def users_archive(email, reason, expire_tokens) -> None:
    """Archive a user."""
    users.archive(_user(email), reason, expire_tokens, CLI_ACTOR)
    db.session.commit()


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users: email, role, approval and status (active or archived)."""
    echo_table(("EMAIL", "ROLE", "APPROVAL", "STATUS"), (
        (user.email, user.role, "approved" if user.approved else "unapproved",
         "archived" if user.archived else "active")
        for user in db.session.scalars(users.search_users({}))), "No users.")


@click.group("tokens")
def tokens_group() -> None:
    """Manage API tokens."""


def _valid_to(value: str) -> datetime:
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or datetime.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", required=True)
@click.option("--valid-to", "valid_to", required=True, help="ISO date or datetime (UTC).")
@click.option("--allow-ip", "allowed_ips", multiple=True, help="IP or CIDR range; repeatable.")
@click.option("--single-use", is_flag=True)
@click.option("--reason", required=True)
@with_appcontext
def tokens_create(email, name, role, valid_to, allowed_ips, single_use, reason) -> None:
    """Create an API token for EMAIL and print only its secret."""
    _token, secret = tokens.issue_token(
        _user(email), name=name, role=role, valid_to=_valid_to(valid_to), reason=reason,
        allowed_ips=list(allowed_ips), single_use=single_use, actor=CLI_ACTOR,
    )
    db.session.commit()
    click.echo(secret)


@tokens_group.command("list")
@click.option("--owner", default=None, help="Owner's email.")
@click.option("--status", type=click.Choice(tokens.STATUSES), default=None)
@with_appcontext
def tokens_list(owner, status) -> None:
    """List tokens: id, owner, name, role, status, valid to."""
    now = utcnow()
    echo_table(("ID", "OWNER", "NAME", "ROLE", "STATUS", "VALID TO"), (
        (token.id, token.owner.email, token.name, token.role, token.status(now),
         token.valid_to.isoformat())
        for token in db.session.scalars(tokens.search_tokens({"owner": owner, "status": status}))
    ), "No tokens.")


@tokens_group.command("expire")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_expire(token_id) -> None:
    """Expire a token for good."""
    tokens.change_status(tokens.get_token(token_id), "expire", CLI_ACTOR)
    db.session.commit()


COMMANDS = (init_command, users_group, tokens_group)
