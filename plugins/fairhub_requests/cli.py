"""``fairhub requests`` and ``fairhub outbox``: operator commands of the requests plugin."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from fairhub import db, echo_table

from .models import OutboxMessage


@click.group("requests")
def requests() -> None:
    """Data access requests."""


@requests.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Purge requests archived longer ago than this (default "
                   "REQUESTS_PURGE_AFTER_DAYS).")
@with_appcontext
def purge(days: int | None) -> None:
    """Delete archived requests past their keeping time now (a job does it daily); their
    grants and counts stay."""
    from .purge import purge_archived

    days = current_app.config["REQUESTS_PURGE_AFTER_DAYS"] if days is None else days
    purged = purge_archived(days)
    db.session.commit()
    click.echo(f"Purged {len(purged)} archived requests.")


@click.group("outbox", invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="Also list mail already sent.")
@click.pass_context
@with_appcontext
def outbox(ctx: click.Context, everything: bool) -> None:
    """List the notification mail not yet sent (with --all, every mail)."""
    if ctx.invoked_subcommand is not None:
        return
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if not everything:
        query = query.where(OutboxMessage.sent_at.is_(None))
    echo_table(("ID", "KIND", "REQUEST", "TO", "SUBJECT", "STATE"), (
        (message.id, message.kind, message.request_code, ", ".join(message.recipients),
         message.subject, _state(message))
        for message in db.session.scalars(query)),
        "No mail." if everything else "No unsent mail.")


def _state(message: OutboxMessage) -> str:
    if message.sent_at:
        return f"sent {message.sent_at:%Y-%m-%d %H:%M}"
    tried = f"unsent, {message.attempts} attempts"
    return f"{tried}: {message.last_error}" if message.last_error else tried


@outbox.command("send")
@with_appcontext
def send() -> None:
    """Send every unsent mail through REQUESTS_SMTP_URL; failures stay for the next try."""
    from .notices import send as send_mail

    if not current_app.config.get("REQUESTS_SMTP_URL"):
        raise click.ClickException("Set FAIRHUB_REQUESTS_SMTP_URL to send mail.")
    sent, failed = send_mail()
    click.echo(f"Sent {sent} messages; {failed} failed.")
    if failed:
        raise SystemExit(1)
