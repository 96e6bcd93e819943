"""Operator commands: ``fairhub init``, ``fairhub users ...`` and ``fairhub tokens ...``."""
from __future__ import annotations

import json
import secrets
import sys
from datetime import date, datetime, time, timedelta, timezone

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from fairhub.auth import Actor
from fairhub.db import db, utcnow
from fairhub.errors import ApiError
from fairhub.identity import tokens, users
from fairhub.identity.models import User
from fairhub.identity.roles import DATA_STEWARD

CLI_ACTOR = Actor(via="cli")


def _fail_on_api_errors(func):
    """Turn a service's ApiError into a clean CLI error (exit status 1)."""

    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiError as error:
            db.session.rollback()
            details = f" {json.dumps(error.details)}" if error.details else ""
            raise click.ClickException(error.message + details) from error

    wrapper.__name__, wrapper.__doc__ = func.__name__, func.__doc__
    return wrapper


def _user(email: str) -> User:
    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email {email!r}.")
    return user


def _read_password() -> tuple[str, bool]:
    """A password from stdin (prompted on a terminal); generated when none is given."""
    if sys.stdin.isatty():
        given = click.prompt("Password (empty to generate one)", hide_input=True,
                             confirmation_prompt=True, default="", show_default=False)
    else:
        given = sys.stdin.readline().rstrip("\n")
    return (given, False) if given else (secrets.token_urlsafe(18), True)


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

Set a password to sign in with: fairhub users set-password {email}
""")


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", default=None, help="Role code (default USERS_DEFAULT_ROLE).")
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--unapproved", is_flag=True, help="Leave the user waiting for approval.")
@with_appcontext
@_fail_on_api_errors
def users_create(email, role, first_name, last_name, unapproved) -> None:
    """Create a user; the password is read from stdin, or generated and printed."""
    password, generated = _read_password()
    users.create_user({"email": email, "role": role, "first_name": first_name,
                       "last_name": last_name, "password": password,
                       "approved": not unapproved}, CLI_ACTOR)
    db.session.commit()
    if generated:
        click.echo(password)


@users_group.command("set-password")
@click.argument("email")
@with_appcontext
@_fail_on_api_errors
def users_set_password(email) -> None:
    """Set a user's password from stdin (or generate and print one)."""
    password, generated = _read_password()
    users.update_user(_user(email), {"password": password}, CLI_ACTOR)
    db.session.commit()
    if generated:
        click.echo(password)


@users_group.command("approve")
@click.argument("email")
@with_appcontext
@_fail_on_api_errors
def users_approve(email) -> None:
    """Approve a user."""
    users.set_approved(_user(email), True, CLI_ACTOR)
    db.session.commit()


@users_group.command("archive")
@click.argument("email")
@click.option("--reason", required=True, help="Why the user is archived.")
@click.option("--expire-tokens", is_flag=True, help="Also expire the user's API tokens.")
@with_appcontext
@_fail_on_api_errors
def users_archive(email, reason, expire_tokens) -> None:
    """Archive a user."""
    users.archive(_user(email), reason, expire_tokens, CLI_ACTOR)
    db.session.commit()


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users: email, role, approved, archived."""
    for user in db.session.scalars(users.search_users({})):
        click.echo(f"{user.email}\t{user.role}\t"
                   f"{'approved' if user.approved else 'unapproved'}\t"
                   f"{'archived' if user.archived else 'active'}")


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
@_fail_on_api_errors
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
    for token in db.session.scalars(tokens.search_tokens({"owner": owner, "status": status})):
        click.echo(f"{token.id}\t{token.owner.email}\t{token.name}\t{token.role}\t"
                   f"{token.status(now)}\t{token.valid_to.isoformat()}")


@tokens_group.command("expire")
@click.argument("token_id", type=int)
@with_appcontext
@_fail_on_api_errors
def tokens_expire(token_id) -> None:
    """Expire a token for good."""
    tokens.change_status(tokens.get_token(token_id), "expire", CLI_ACTOR)
    db.session.commit()


COMMANDS = (init_command, users_group, tokens_group)
