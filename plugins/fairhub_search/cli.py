"""``fairhub search reindex``: rebuild the index from the datasets."""
from __future__ import annotations

import click
from fairhub_datasets import Dataset
from flask.cli import with_appcontext
from sqlalchemy import delete, select

from fairhub import db, progress

from . import indexer
from .models import SearchDocument, SearchEntry, SearchFacetValue, SearchGram, SearchWord


@click.group("search")
def search() -> None:
    """Manage the search index."""


@search.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the search index of every dataset."""
    for model in (SearchDocument, SearchEntry, SearchFacetValue, SearchWord, SearchGram):
        db.session.execute(delete(model))
    codes = list(db.session.scalars(select(Dataset.code).order_by(Dataset.id)))
    with progress("Indexing", total=len(codes)) as bar:
        for start in range(0, len(codes), indexer.BATCH):
            indexer.write(db.session(), codes[start:start + indexer.BATCH])
            db.session.commit()
            bar.update(len(codes[start:start + indexer.BATCH]))
    click.echo(f"{len(codes)} datasets indexed.", err=True)
