"""``fairhub datasets import|export``: move catalogues in and out as JSON."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from fairhub import User, db, progress

from . import importer
from .models import Dataset

RECORD_KEYS = ("code", "name", "visibility", "workflow_key", "catalogue")
DICTIONARY_KEYS = ("code", "name", "description", "fields", "lookups")


@click.group("datasets")
def datasets() -> None:
    """Import and export datasets."""


@datasets.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--update", is_flag=True,
              help="Patch datasets whose code exists (else they are reported as errors).")
@click.option("--owner", metavar="EMAIL", help="Make this user the owner of new datasets.")
@click.option("--jobs", "-j", type=click.IntRange(min=0),
              help="Processes validating records besides the one writing them (default one "
                   "per CPU up to 4, none on a single CPU; 0 validates in the writing process).")
@with_appcontext
def import_command(path: Path, update: bool, owner: str | None, jobs: int | None) -> None:
    """Import datasets from PATH: a JSON file (one dataset or a list), a JSON-lines file
    (.jsonl, one per line) or a folder of JSON files."""
    batch = current_app.config["DATASETS_IMPORT_BATCH"]
    if type(batch) is not int or batch < 1:
        raise click.ClickException(f"DATASETS_IMPORT_BATCH must be a whole number of at "
                                   f"least 1, not {batch!r}.")
    with importer.checker(jobs) as check:  # before any database connection is opened
        owner_id = _owner_id(owner)
        counts = Counter()
        records, expected = _records(path)
        results = importer.import_checked(check(records), update, owner_id)
        with progress("Importing", total=expected) as bar:
            for where, outcome in bar.iterate(results):
                if outcome in ("created", "updated"):
                    counts[outcome] += 1
                else:
                    counts["failed"] += 1
                    bar.echo(f"{where}: {outcome}")
    if counts["created"] + counts["updated"] >= current_app.config["DATASETS_ANALYZE_AFTER"]:
        importer.refresh_statistics()
    click.echo(f"{counts['created']} created, {counts['updated']} updated, "
               f"{counts['failed']} failed.", err=True)
    if counts["failed"]:
        raise SystemExit(1)


@datasets.command("export")
@click.argument("codes", nargs=-1)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default standard output).")
@with_appcontext
def export_command(codes: tuple[str, ...], output: Any) -> None:
    """Export datasets (all, or those CODES) as a JSON list that `import` reads back.

    A CODE that names no dataset fails the export before anything is written.
    """
    query = (select(Dataset).order_by(Dataset.id)
             .options(selectinload(Dataset.dictionaries)).execution_options(yield_per=500))
    count = select(func.count(Dataset.id))
    if codes:
        _check_exist(codes)
        query = query.where(Dataset.code.in_(codes))
        count = count.where(Dataset.code.in_(codes))
    with progress("Exporting", total=db.session.scalar(count)) as bar:
        output.write("[")
        for number, dataset in enumerate(bar.iterate(db.session.scalars(query))):
            output.write(("," if number else "") + "\n" + json.dumps(export_record(dataset),
                                                                      ensure_ascii=False))
        output.write("\n]\n")


def _check_exist(codes: Iterable[str]) -> None:
    found = set(db.session.scalars(select(Dataset.code).where(Dataset.code.in_(codes))))
    missing = sorted(set(codes) - found)
    if len(missing) == 1:
        raise click.ClickException(f"Dataset {missing[0]!r} does not exist; nothing was "
                                   "exported.")
    if missing:
        raise click.ClickException(f"Datasets {', '.join(map(repr, missing))} do not exist; "
                                   "nothing was exported.")


def _records(path: Path) -> tuple[Iterable, int | None]:
    """The records under ``path``, and how many to expect where that costs little: a JSON
    file's are in memory anyway, a JSON-lines file's lines are counted (blank ones too, so it
    is an estimate); a folder's are not known before its files are read."""
    records = importer.read_records(path)
    if path.is_dir():
        return records, None
    if path.suffix in (".jsonl", ".ndjson"):
        return records, _count_lines(path)
    records = list(records)
    return records, len(records)


def _count_lines(path: Path) -> int | None:
    lines, last = 0, b"\n"
    try:
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None  # reading the records will say what is wrong
    return lines + (last != b"\n")


def export_record(dataset: Dataset) -> dict:
    """A dataset in the form POST and ``import`` accept."""
    record = {key: getattr(dataset, key) for key in RECORD_KEYS}
    record["dictionaries"] = [{key: getattr(d, key) for key in DICTIONARY_KEYS}
                              for d in dataset.dictionaries]
    return record


def _owner_id(email: str | None) -> int | None:
    if email is None:
        return None
    user_id = db.session.scalar(select(User.id).where(User.email == email.strip().lower()))
    if user_id is None:
        raise click.ClickException(f"User {email!r} does not exist.")
    return user_id
