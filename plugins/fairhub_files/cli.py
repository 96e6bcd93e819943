"""``fairhub files``: operator commands of the files plugin.

:func:`load_csv_file` and :func:`attach_file` put a local file on a dataset the way an upload
does; ``fairhub files load`` and ``fairhub demo`` use them.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from fairhub import Actor, Event, User, db, emit, enqueue, progress, utcnow
from fairhub_datasets import Dataset, Dictionary

from . import uploads
from .cleanup import clean, clean_job
from .loads import load_table
from .models import StoredFile
from .models import audit_target as target
from .sniff import HEAD_BYTES, sniff
from .storage import storage_for

CLI_ACTOR = Actor(via="cli")


@click.group("files")
def files() -> None:
    """Uploaded files and table loads."""


@files.command("cleanup")
@click.option("--queue", "queued", is_flag=True,
              help="Queue the clean-up as a background job instead of running it here.")
@with_appcontext
def cleanup(queued: bool) -> None:
    """Delete expired uploads and orphaned bytes; queue stalled table loads again."""
    if queued:
        enqueue(clean_job, at_once=True)
        click.echo("Clean-up queued.")
        return
    counts = clean(current_app._get_current_object())
    click.echo(f"Deleted {counts['expired']} expired uploads and {counts['orphans']} "
               f"orphaned stored files; queued {counts['requeued']} stalled table loads again.")


@files.command("load")
@click.argument("dictionary_code")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--uploader", metavar="EMAIL",
              help="Record this user as the load's uploader (default: none, the command line).")
@with_appcontext
def load(dictionary_code: str, csv_file: Path, uploader: str | None) -> None:
    """Load CSV_FILE into the table of dictionary DICTIONARY_CODE, replacing its rows.

    The load an upload to /api/files/dictionaries/CODE/data starts, run here and now rather
    than as a background job: the file is kept as a load of the dictionary, with its rows and
    report, and a failed load leaves the table as it was (exit status 1).
    """
    dictionary = db.session.scalar(select(Dictionary).where(Dictionary.code == dictionary_code))
    if dictionary is None:
        raise click.ClickException(f"Dictionary {dictionary_code!r} does not exist.")
    actor = CLI_ACTOR if uploader is None else Actor.of(_user(uploader), via="cli")
    loaded = load_csv_file(actor, dictionary, csv_file)
    if loaded.status != "complete":
        raise click.ClickException(describe_failure(loaded))
    click.echo(f"Loaded {loaded.rows} rows into the table of {dictionary_code} "
               f"(file {loaded.id}).")
    for line in describe_report(loaded.report):
        click.echo(f"  {line}")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user has the email {email!r}.")
    return user


def load_csv_file(actor: Actor, dictionary: Dictionary, path: Path) -> StoredFile:
    """Keep the CSV file ``path`` as a table load of ``dictionary`` by ``actor``, as a
    finished upload would, and load it now with the upload's job, showing progress; return
    the load with its outcome (``status``, ``rows``, ``report``)."""
    upload = _stage_table(actor, dictionary, path)
    with progress(f"Loading {path.name}", total=_data_lines(path)) as bar:
        load_table(upload.id, progress=bar.advance_to)
        db.session.expire_all()  # the job recorded the outcome with statements of its own
        if upload.status != "complete":
            bar.abandon()
    return upload


def _stage_table(actor: Actor, dictionary: Dictionary, path: Path) -> StoredFile:
    """A table upload of ``path``, its bytes stored and ``processing``, committed: what an
    upload's last chunk leaves for the load job, without queueing the job."""
    upload = uploads.create(actor, "table", dictionary.dataset, dictionary,
                            path.stat().st_size, {"filename": path.name}, {})
    digest, head, size = hashlib.sha256(), b"", 0
    with path.open("rb") as source, \
            storage_for(current_app).writer(upload.storage_key, 0) as stored:
        while block := source.read(uploads.BLOCK):
            head = head or block[:HEAD_BYTES]
            digest.update(block)
            stored.write(block)
            size += len(block)
    now = utcnow()
    upload.size = upload.offset = size
    upload.sha256, upload.content_type = digest.hexdigest(), sniff(head, upload.filename)
    upload.status, upload.completed_at, upload.expires_at, upload.updated_at = (
        "processing", now, None, now)
    emit(Event("file", "upload", actor=actor, target=target(upload),
               details={"kind": "table", "size": size, "sha256": upload.sha256}))
    db.session.commit()
    return upload


def _data_lines(path: Path) -> int:
    """The rows a CSV file holds, about: its lines but the header (a quoted cell may hold a
    line break, a blank line counts)."""
    lines, last = 0, b"\n"
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (last != b"\n") - 1, 0)


def attach_file(actor: Actor, dataset: Dataset, path: Path, kind: str = "attachment"
                ) -> StoredFile:
    """Upload the local file ``path`` to ``dataset`` as an attachment (or data file) by
    ``actor``, through the upload's own steps; return the file, complete."""
    upload = uploads.create(actor, kind, dataset, None, path.stat().st_size,
                            {"filename": path.name}, {})
    db.session.commit()  # a chunk is written under a lease taken in a transaction of its own
    with path.open("rb") as source:
        written = uploads.write(upload, 0, source, None)
    db.session.commit()
    if written.failure is not None:
        raise written.failure
    return upload


def describe_failure(load: StoredFile) -> str:
    """Why a table load failed, with the row, line, column and value when they are known."""
    error = (load.report or {}).get("error") or {}
    lines = [f"The load failed: {error.get('message') or 'no reason was recorded.'}"]
    lines += [f"  {key}: {error[key]}" for key in ("row", "line", "column", "value")
              if error.get(key) is not None]
    return "\n".join(lines)


def describe_report(report: dict | None) -> list[str]:
    """The report of a complete load as lines: the fields the file lacked, the columns
    widened, the values outside their lookup (and anything else a report holds)."""
    report = report or {}
    lines = []
    if report.get("missing"):
        lines.append(f"missing, loaded as NULL: {', '.join(report['missing'])}")
    if report.get("widened"):
        lines.append("widened: " + ", ".join(f"{column} to {kind}"
                                            for column, kind in report["widened"].items()))
    for column, outside in (report.get("outside_lookups") or {}).items():
        values = ", ".join(f"{value['value']!r} ({value['count']})"
                           for value in outside.get("values", ()))
        more = " and others" if outside.get("more_values") else ""
        cells = f"{outside.get('count')} cell{'' if outside.get('count') == 1 else 's'}"
        lines.append(f"outside lookup {outside.get('lookup')}: {cells} of {column}: "
                     f"{values}{more}")
    told = {"columns", "error", "missing", "widened", "outside_lookups"}
    lines += [f"{key}: {_plain(value)}" for key, value in report.items()
              if key not in told and value]
    return lines


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {_plain(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(map(_plain, value))
    return str(value)

