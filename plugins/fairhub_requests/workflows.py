"""Workflows and their request forms, and checking a request's answers against a form.

The built-in workflow ``basic_access_request`` has a default form; holders of
``workflows/update`` replace it (the replacement is stored in ``workflow_forms``).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from fairhub import Actor, Event, NotFound, ValidationError, db, emit, utcnow

from .models import WorkflowForm

BASIC = "basic_access_request"
WORKFLOWS = {
    BASIC: {"name": "Basic access request",
            "description": "The requester describes the project; the dataset's approvers "
                           "approve, deny or return the request."},
}
SECTIONS = ("project", "about")
TYPES = ("label", "text", "string", "markdown", "phone", "date")
# The longest answer of each type when the form sets no maximum.
MAXIMUM = {"string": 500, "phone": 32, "date": 10, "text": 10_000, "markdown": 10_000}
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{2,31}$")
DEFAULT_FORM = {
    "project": [
        {"name": "project_name", "type": "string", "label": "Project name",
         "placeholder": "A short title for your project", "defaultValue": None,
         "validation": {"required": True, "maximum": 500}},
    ],
    "about": [
        {"name": "position", "type": "string", "label": "Your position",
         "placeholder": "Research fellow, PhD student...", "defaultValue": None,
         "validation": {"required": False, "maximum": 200}},
    ],
}


def get_workflow(key: str) -> dict:
    """The workflow ``key`` with its current form; 404 if there is none."""
    if key not in WORKFLOWS:
        raise NotFound(f"Workflow {key!r} does not exist.")
    stored = db.session.get(WorkflowForm, key)
    return {"key": key, **WORKFLOWS[key], "form": stored.form if stored else DEFAULT_FORM,
            "updated_at": stored.updated_at if stored else None}


def list_workflows() -> list[dict]:
    """Every workflow, by key."""
    return [get_workflow(key) for key in sorted(WORKFLOWS)]


def replace_form(actor: Actor, key: str, form: dict) -> dict:
    """Replace the form of workflow ``key`` with ``form`` (sections of validated fields)."""
    get_workflow(key)
    _check_form(form)
    stored = db.session.get(WorkflowForm, key) or WorkflowForm(key=key)
    stored.form = {section: form.get(section, []) for section in SECTIONS}
    stored.updated_by, stored.updated_at = actor.user_id, utcnow()
    db.session.add(stored)
    emit(Event("workflow", "update", actor=actor, target={"type": "workflow", "code": key}))
    db.session.flush()
    return get_workflow(key)


def _check_form(form: dict) -> None:
    """422 unless field names are unique and the project section asks for ``project_name``."""
    names = [field["name"] for section in SECTIONS for field in form.get(section, [])]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        _fail("form", f"Field names must be unique; repeated: {', '.join(repeated)}.")
    project = {f["name"]: f for f in form.get("project", [])}
    if project.get("project_name", {}).get("type") not in ("string", "text"):
        _fail("form", "The project section must ask for `project_name` as a string or text.")


def check_answers(form: dict, answers: dict, complete: bool) -> dict:
    """``answers`` checked against ``form``: only its fields, strings of the field's type
    within its maximum, and (when ``complete``) every required field answered.

    Returns the answers by section with blanks dropped; 422 with per-field messages otherwise.
    """
    errors: dict[str, dict[str, list[str]]] = {}
    cleaned: dict[str, dict[str, str]] = {}
    for section in set(answers) - set(SECTIONS):
        errors[section] = {"_schema": [f"Unknown section; use {' or '.join(SECTIONS)}."]}
    for section in SECTIONS:
        given = answers.get(section) or {}
        fields = {f["name"]: f for f in form.get(section, []) if f["type"] != "label"}
        problems = {name: ["Unknown field."] for name in given if name not in fields}
        cleaned[section] = {}
        for name, field in fields.items():
            message = _problem(field, given.get(name), complete)
            if message:
                problems[name] = [message]
            elif isinstance(given.get(name), str) and given[name].strip():
                cleaned[section][name] = given[name].strip()
        if problems:
            errors[section] = problems
    if errors:
        raise ValidationError("Some answers do not fit the request form.",
                              details={"json": {"answers": errors}})
    return cleaned


def _problem(field: dict, value: Any, complete: bool) -> str | None:
    """What is wrong with ``value`` as the answer to ``field``, or None."""
    validation = field.get("validation") or {}
    if value is None or (isinstance(value, str) and not value.strip()):
        return "This field is required." if complete and validation.get("required") else None
    if not isinstance(value, str):
        return "Give the answer as a string."
    value = value.strip()
    maximum = validation.get("maximum") or MAXIMUM[field["type"]]
    if len(value) > maximum:
        return f"Longer than {maximum} characters."
    if field["type"] == "phone" and not PHONE.match(value):
        return "Not a telephone number."
    if field["type"] == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "Not a date (YYYY-MM-DD)."
    return None


def _fail(field: str, message: str) -> None:
    raise ValidationError(message, details={"json": {field: [message]}})


def current_form(key: str) -> dict:
    """The form of workflow ``key`` (the default one for a key no longer known)."""
    stored = db.session.scalar(select(WorkflowForm).where(WorkflowForm.key == key))
    return stored.form if stored else DEFAULT_FORM
