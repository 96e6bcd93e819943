from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from fairhub import Blueprint, Conflict, Event, NotFound, PageArgsSchema, db, emit, list_schema, paginate

from .models import Note

blp = Blueprint("notes", __name__, url_prefix="/api/notes", description="Sample notes.")


class NoteSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9_]{1,64}$"))
    text = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(dump_only=True)

    @ma.validates("text")
    def text_length(self, value: str, **_) -> None:
        limit = current_app.config["NOTES_MAX_LENGTH"]
        if len(value) > limit:
            raise ma.ValidationError(f"Longer than {limit} characters.")


@blp.route("")
class Notes(MethodView):
    @blp.public
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(NoteSchema))
    def get(self, args):
        """List notes, oldest first."""
        return paginate(select(Note).order_by(Note.id), args["page"], args["page_size"])

    @blp.require_permission("notes/create")
    @blp.arguments(NoteSchema)
    @blp.response(201, NoteSchema)
    def post(self, data):
        """Create a note."""
        if db.session.scalar(select(Note.id).where(Note.code == data["code"])) is not None:
            raise Conflict(f"Note {data['code']!r} already exists.")
        note = Note(**data)
        db.session.add(note)
        db.session.flush()
        emit(Event("note", "create", target={"type": "note", "code": note.code}))
        db.session.commit()
        return note


@blp.route("/<code>")
class NoteByCode(MethodView):
    @blp.public
    @blp.response(200, NoteSchema)
    def get(self, code):
        """Read one note."""
        note = db.session.scalar(select(Note).where(Note.code == code))
        if note is None:
            raise NotFound(f"Note {code!r} does not exist.")
        return note

