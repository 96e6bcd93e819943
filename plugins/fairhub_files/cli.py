"""``fairhub files``: operator commands of the files plugin."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .cleanup import clean, clean_job
from .jobs import enqueue, worker


@click.group("files")
def files() -> None:
    """Uploaded files, table loads and the background jobs that run them."""


@files.command("cleanup")
@click.option("--queue", "queued", is_flag=True,
              help="Queue the clean-up as a background job instead of running it here.")
@with_appcontext
def cleanup(queued: bool) -> None:
    """Delete expired uploads and orphaned bytes; queue stalled table loads again."""
    if queued:
        enqueue(clean_job)
        click.echo("Clean-up queued.")
        return
    counts = clean(current_app._get_current_object())
    click.echo(f"Deleted {counts['expired']} expired uploads and {counts['orphans']} "
               f"orphaned stored files; queued {counts['requeued']} stalled table loads again.")


files.add_command(worker)
