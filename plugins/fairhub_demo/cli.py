"""``fairhub demo``: a handful of made-up datasets to browse, search, load and request.

The examples are package data (``data/``): ``datasets.json`` holds the datasets as
``POST /api/datasets`` takes them; ``tables/<dictionary code>.csv`` the rows of a dictionary's
table and ``attachments/<dataset code>/`` a dataset's attachments. Everything goes through
the plugins' services, as the API's requests do, so the search index, the audit log and the
grants follow. The datasets plugin is needed; the files plugin, when enabled, loads the tables
and uploads the attachments.
"""
from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from fairhub import Actor, ApiError, User, db

DATA = resources.files(__package__) / "data"


@click.command("demo")
@click.option("--owner", metavar="EMAIL",
              help="The user who owns the example datasets (default FAIRHUB_ADMIN_EMAIL, the "
                   "administrator `fairhub init` creates).")
@with_appcontext
def demo(owner: str | None) -> None:
    """Load made-up example datasets to try fairhub with.

    Five datasets of invented research data: catalogue entries, dictionaries with fields of
    every type and lookups, tables loaded from CSV files, attachments, each visibility, and
    access requests open on one. A dataset whose code exists is skipped, so running the
    command again adds nothing. Needs the datasets plugin; without the files plugin the
    tables stay empty and the attachments are left out.
    """
    enabled = current_app.extensions["fairhub"].plugin_names()
    if "datasets" not in enabled:
        raise click.ClickException("fairhub demo needs the datasets plugin, which is not "
                                   "enabled (see FAIRHUB_PLUGINS).")
    user = _owner(owner or current_app.config["ADMIN_EMAIL"], given=owner is not None)
    with_files = "files" in enabled
    if not with_files:
        click.echo("The files plugin is not enabled: the datasets come without their tables' "
                   "rows and attachments.", err=True)
    actor = Actor.of(user, via="cli")
    outcomes = [_add(actor, record, with_files)
                for record in json.loads((DATA / "datasets.json").read_text("utf-8"))]
    created = outcomes.count("created")
    if created:
        click.echo(f"Created {created} example datasets owned by {user.email}: list them at "
                   "/api/datasets" + (", or search them at /api/search/search?index="
                                      "fair-index&query=asthma" if "search" in enabled else "")
                   + ".")
    elif "failed" not in outcomes:
        click.echo("Nothing to do: the example datasets exist already.")
    if "failed" in outcomes:
        raise SystemExit(1)


def _owner(email: str, given: bool) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        hint = "" if given else ": run `fairhub init` first, or name the owner with --owner"
        raise click.ClickException(f"No user has the email {email!r}{hint}.")
    return user


def _add(actor: Actor, record: dict, with_files: bool) -> str:
    """Create one example dataset with its tables and attachments: 'created', 'skipped' or
    'failed', said on the way."""
    from fairhub_datasets import Dataset, create_dataset

    code = record["code"]
    if db.session.scalar(select(Dataset.id).where(Dataset.code == code)) is not None:
        click.echo(f"Skipped {code}: a dataset with this code exists.")
        return "skipped"
    try:
        dataset = db.session.get(Dataset, create_dataset(actor, record))
        db.session.commit()
    except ApiError as error:  # a dictionary code taken by another dataset, say
        db.session.rollback()
        click.echo(f"Could not create {code}: {error.message}", err=True)
        return "failed"
    about = [dataset.visibility] + (["access requests open"] if dataset.workflow_key else [])
    if with_files:
        about += _add_files(actor, dataset)
    click.echo(f"Created {code} ({', '.join(about)}).")
    return "created"


def _add_files(actor: Actor, dataset) -> list[str]:
    """Load the tables of ``dataset``'s dictionaries and upload its attachments; what was
    done, in words."""
    from fairhub_files.cli import attach_file, describe_failure, load_csv_file

    done = []
    for dictionary in dataset.dictionaries:
        table = DATA / "tables" / f"{dictionary.code}.csv"
        if table.is_file():
            with resources.as_file(table) as path:
                load = load_csv_file(actor, dictionary, path)
            if load.status != "complete":
                raise click.ClickException(describe_failure(load))  # example data is valid
            done.append(f"{load.rows} rows in {dictionary.code}")
    for attachment in _files(DATA / "attachments" / dataset.code):
        with resources.as_file(attachment) as path:
            attach_file(actor, dataset, path)
        done.append(f"attachment {attachment.name}")
    return done


def _files(folder: Traversable) -> list[Traversable]:
    if not folder.is_dir():
        return []
    return sorted((item for item in folder.iterdir() if item.is_file()),
                  key=lambda item: item.name)
