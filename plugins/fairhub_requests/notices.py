"""Mail about requests: written to the outbox with the change it tells of, sent over SMTP
once that change is committed (when ``SMTP_URL`` is set), kept for ``fairhub outbox``
otherwise or when sending fails.

Templates are rendered by jinja2's sandbox from plain dicts and strings, so a template (which
an administrator may write) cannot reach Python objects; one that fails to render falls back
to the built-in template of its kind.
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, g, has_request_context
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from fairhub import db, utcnow
from fairhub_datasets import Dataset, Dictionary, approvers_of

from .models import AccessRequest, OutboxMessage, RequestDictionary
from .present import people

log = logging.getLogger("fairhub.requests.mail")

_SANDBOX = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_QUEUED = "requests_outbox_ids"

TEMPLATES = {
    "submitted": {
        "subject": "Access request {{ request.code }} for {{ dataset.name }}",
        "body": "{{ requester.name or requester.email }} asks for access to "
                "{{ dictionaries | join(', ') }} of {{ dataset.name }} ({{ dataset.code }}) "
                "for the project \"{{ request.project_name }}\", as {{ request.output }} data.\n"
                "\nPlease review request {{ request.code }}.\n",
    },
    "approved": {
        "subject": "Your access request {{ request.code }} is approved",
        "body": "Your request {{ request.code }} for {{ dictionaries | join(', ') }} of "
                "{{ dataset.name }} is approved.\n\nReason: {{ request.reason }}\n",
    },
    "denied": {
        "subject": "Your access request {{ request.code }} is denied",
        "body": "Your request {{ request.code }} for {{ dataset.name }} is denied.\n\n"
                "Reason: {{ request.reason }}\n",
    },
    "returned": {
        "subject": "Your access request {{ request.code }} needs changes",
        "body": "Your request {{ request.code }} for {{ dataset.name }} was returned to you "
                "for changes; edit it and submit it again.\n\nComment: {{ request.reason }}\n",
    },
    "archived": {
        "subject": "Your access request {{ request.code }} is archived",
        "body": "Your request {{ request.code }} for {{ dataset.name }} was archived.\n",
    },
}
KINDS = tuple(TEMPLATES)


def render(kind: str, context: dict) -> tuple[str, str]:
    """Subject and body of a ``kind`` mail for ``context``, from the configured template or,
    if that is missing or fails in any way, the built-in one."""
    custom = (current_app.config.get("REQUESTS_MAIL_TEMPLATES") or {}).get(kind)
    if custom:
        try:
            return _render(custom, context)
        except Exception as error:  # a template that misbehaves must not stop the change
            log.warning("The %s mail template failed (%s); using the built-in one.",
                        kind, type(error).__name__)
    return _render(TEMPLATES[kind], context)


def _render(template: dict, context: dict) -> tuple[str, str]:
    subject = _SANDBOX.from_string(template["subject"]).render(context)
    body = _SANDBOX.from_string(template["body"]).render(context)
    return " ".join(subject.split())[:500], body


def context_of(request: AccessRequest) -> dict:
    """What a template may use: plain strings in dicts and lists, nothing else."""
    dataset = db.session.get(Dataset, request.dataset_id)
    names = list(db.session.scalars(select(Dictionary.name).join(
        RequestDictionary, RequestDictionary.dictionary_id == Dictionary.id).where(
        RequestDictionary.request_id == request.id).order_by(Dictionary.position)))
    requester = people({request.requester_id}).get(request.requester_id) or {}
    return {
        "request": {key: _text(getattr(request, key)) for key in (
            "code", "status", "project_name", "output", "reason")},
        "dataset": {"code": dataset.code, "name": dataset.name},
        "requester": {"email": requester.get("email", ""), "name": requester.get("name") or ""},
        "dictionaries": [str(name) for name in names],
    }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def recipients(kind: str, request: AccessRequest) -> list[str]:
    """Who a ``kind`` mail goes to: the approvers for a submission, else the requester."""
    if kind == "submitted":
        approvers = approvers_of([request.dataset_id]).get(request.dataset_id, [])
        return [approver["email"] for approver in approvers]
    requester = people({request.requester_id}).get(request.requester_id)
    return [requester["email"]] if requester else []


def queue_notice(kind: str, request: AccessRequest) -> None:
    """Write the ``kind`` mail about ``request`` to the outbox, in the current transaction;
    it is sent when the request that wrote it ends (see :func:`deliver_queued`)."""
    to = recipients(kind, request)
    if not to:
        log.info("No one to tell of %s request %s.", kind, request.code)
        return
    subject, body = render(kind, context_of(request))
    message = OutboxMessage(kind=kind, request_code=request.code, recipients=to,
                            subject=subject, body=body, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    if has_request_context():
        g.setdefault(_QUEUED, []).append(message.id)


def deliver_queued() -> None:
    """Send the mail this request wrote, if it was committed and SMTP is configured."""
    ids = g.pop(_QUEUED, None)
    if ids and current_app.config.get("SMTP_URL"):
        send(ids)


def send(ids: list[int] | None = None) -> tuple[int, int]:
    """Send unsent outbox mail (those of ``ids``, or all); (sent, failed). Each is committed
    on its own, so one failing leaves the others sent."""
    query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(
        OutboxMessage.id)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    sent = failed = 0
    for message in db.session.scalars(query).all():
        message.attempts += 1
        try:
            _smtp_send(message)
        except Exception as error:
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            log.warning("Mail %s to %s failed: %s", message.id, message.recipients,
                        message.last_error)
            failed += 1
        else:
            message.sent_at, message.last_error = utcnow(), None
            sent += 1
        db.session.commit()
    return sent, failed


def _smtp_send(message: OutboxMessage) -> None:
    url = urlsplit(current_app.config["SMTP_URL"])
    if url.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://.")
    timeout = float(current_app.config["SMTP_TIMEOUT_SECONDS"])
    kind = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with kind(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25),
              timeout=timeout) as smtp:
        if parse_qs(url.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(_email(message))


def _email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["REQUESTS_MAIL_FROM"]
    email["To"] = ", ".join(message.recipients)
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email
