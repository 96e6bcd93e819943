"""The requests plugin's settings (``REQUESTS_*``), each overridable as
``FAIRHUB_REQUESTS_*``."""
from __future__ import annotations

from fairhub import Setting

SETTINGS = [
    Setting("REQUESTS_PURGE_AFTER_DAYS", 90,
            "Days an archived request is kept before the daily purge (or `fairhub requests "
            "purge`) deletes it."),
    Setting("REQUESTS_MAIL_FROM", "fairhub@localhost", "Sender address of notification mail."),
    Setting("REQUESTS_MAIL_TEMPLATES", {},
            "Notification templates replacing the built-in ones, by kind (`submitted`, "
            "`approved`, `denied`, `returned`, `archived`): `{\"subject\": ..., \"body\": ...}`, "
            "rendered in a sandbox."),
    Setting("REQUESTS_SMTP_URL", None,
            "Where notification mail goes: `smtp://[user:password@]host[:port]` "
            "(`?starttls=true` to upgrade) or `smtps://...`; unset keeps mail in the outbox."),
    Setting("REQUESTS_SMTP_TIMEOUT_SECONDS", 10.0, "How long one SMTP delivery may take."),
]
