"""What commands show people: lists as aligned columns under a header row, and the progress
of long work.

Progress goes to standard error, so that a command's output (``datasets export -o -``) stays
clean. On a terminal it is click's progress bar, with the count, the share done and the time
left; piped or redirected (a log, a CI job), it is a plain line every few seconds and one at
the end::

    with progress("Indexing", total=len(codes)) as bar:
        for batch in batches:
            write(batch)
            bar.update(len(batch))
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import click

PLAIN_EVERY_SECONDS = 5.0  # how often a piped run reports


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> None:
    """Print ``rows`` on standard output in columns aligned under ``headers``; with no rows,
    print the sentence ``empty`` to standard error instead (standard output stays empty)."""
    cells = [[_cell(value) for value in row] for row in rows]
    if not cells:
        click.echo(empty, err=True)
        return
    lines = [list(headers), *cells]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


def _cell(value: Any) -> str:
    """A value on one line: None as a dash, line breaks and tabs as spaces."""
    if value is None:
        return "-"
    text = str(value)
    return " ".join(text.split()) if any(c in text for c in "\t\r\n\v\f") else text


class Progress:
    """The progress of one piece of work: :meth:`update` or :meth:`advance_to` as it goes.

    ``total`` may be an estimate (a count of lines, say): the count shown never passes it
    while the work runs, and the end shows what was done.
    """

    def __init__(self, label: str, total: int | None, file: TextIO, interval: float) -> None:
        self.label, self.total, self.file, self.interval = label, total, file, interval
        self.done = 0
        self._abandoned = False
        self.started = self._reported = time.monotonic()
        self._bar = None
        if file.isatty():
            # A generator has no length: click then shows a count without a bar's end.
            self._bar = click.progressbar(
                length=total, iterable=None if total is not None else (x for x in ()),
                label=label, file=file, show_pos=True, show_eta=True, show_percent=True)
            self._bar.__enter__()

    def update(self, count: int = 1) -> None:
        """Count ``count`` more items done."""
        self.advance_to(self.done + count)

    def advance_to(self, done: int) -> None:
        """Count ``done`` items done in all."""
        step, self.done = done - self.done, done
        if self.total is not None and done > self.total:
            self.total = done  # the estimate was short
            if self._bar is not None:
                self._bar.length = done
        if self._bar is not None:
            self._bar.update(step)
        elif time.monotonic() - self._reported >= self.interval:
            self._reported = time.monotonic()
            self._line(self._status())

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``items``, counting each as done once the loop comes back for the next."""
        for item in items:
            yield item
            self.update()

    def echo(self, message: str) -> None:
        """Print a line of its own (a failure, a warning) without breaking the bar."""
        if self._bar is None:
            self._line(message)
            return
        self.file.write("\r\x1b[K")  # back to the start of the bar's line, and clear it
        self._line(message)
        self._bar._last_line = None  # click draws only a changed line: draw it again below
        self._bar.render_progress()

    def _status(self) -> str:
        elapsed = time.monotonic() - self.started
        if not self.total:
            return f"{self.label}: {self.done}, {_clock(elapsed)} so far"
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        return (f"{self.label}: {self.done}/{self.total} ({self.done * 100 // self.total}%), "
                + (f"{_clock(left)} left" if left is not None else "starting"))

    def finish(self) -> None:
        """Show the work as complete: the full bar, or a line with the count and the time."""
        if self._abandoned:
            return
        if self._bar is not None:
            self._bar.length = self.done  # an estimate ends where the work did
            self._bar.finished = True
            self._bar.render_progress()
            self._bar.__exit__(None, None, None)
            self._bar = None
            return
        elapsed = time.monotonic() - self.started
        self._line(f"{self.label}: {self.done}/{self.done} (100%) in {_clock(elapsed)}")

    def abandon(self) -> None:
        """End the bar's line after a failure, leaving the count where it stopped; nothing
        more is shown, not even at the end of the block."""
        self._abandoned = True
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def _line(self, text: str) -> None:
        click.echo(text, file=self.file)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@contextmanager
def progress(label: str, total: int | None = None, *, interval: float = PLAIN_EVERY_SECONDS,
             file: TextIO | None = None) -> Iterator[Progress]:
    """Report the progress of the work done in the block on standard error (or ``file``): a
    bar with the count and the time left on a terminal, else a line every ``interval``
    seconds and one at the end. ``total`` is how many items are to come, when it is known."""
    bar = Progress(label, total, file or sys.stderr, interval)
    try:
        yield bar
    except BaseException:
        bar.abandon()
        raise
    bar.finish()
