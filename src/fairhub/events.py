"""Domain events, fanned out to every plugin's ``fairhub_event`` listener."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app

from fairhub.auth import current_actor
from fairhub.plugins import call_each


@dataclass(frozen=True)
class Event:
    """Something that happened: ``type`` and ``action`` (``dataset``/``create``), who, to what.

    ``actor`` defaults to the caller of the current request. Events with ``audit`` set are
    written to the audit log in the same transaction; set it False for routine events
    (a search performed) that other listeners count.

    ``subject`` is the changed thing as the emitter wrote it, for listeners in this process
    that would otherwise read it back (the search index of an import's new datasets); its
    shape is the emitter's to document. It is never audited or sent anywhere.
    """

    type: str
    action: str
    actor: Any = None
    target: dict | None = None
    details: dict = field(default_factory=dict)
    audit: bool = True
    subject: Any = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"{self.type}.{self.action}"


def emit(event: Event) -> Event:
    """Deliver ``event`` to every listener; one listener failing does not stop the others.

    Call it before committing the change the event describes, so listeners that write (the
    audit log) commit with it.
    """
    if event.actor is None:
        event = replace(event, actor=current_actor())
    call_each(current_app.extensions["fairhub"].pm.hook.fairhub_event, "Listener",
              f"event {event.name}", event=event)
    return event
