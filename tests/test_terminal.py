"""What commands show: aligned lists under a header, and progress, plain when piped and a
bar on a terminal."""
from __future__ import annotations

import io
import os
import re
import select

import click
import click.testing
import pytest

from fairhub import echo_table, progress


def test_plain_progress_lines_count_and_end_with_the_time_taken():
    out = io.StringIO()
    with progress("Loading", total=4, interval=0, file=out) as bar:
        for _ in range(3):
            bar.update()
        bar.echo("row 3: a note")
        bar.update()
    lines = out.getvalue().splitlines()
    assert [re.sub(r"\d+:\d\d:\d\d", "T", line) for line in lines] == [
        "Loading: 1/4 (25%), T left", "Loading: 2/4 (50%), T left",
        "Loading: 3/4 (75%), T left", "row 3: a note", "Loading: 4/4 (100%), T left",
        "Loading: 4/4 (100%) in T"]


def test_plain_progress_reports_at_most_once_an_interval():
    out = io.StringIO()
    with progress("Indexing", total=1000, interval=3600, file=out) as bar:
        for _ in range(1000):
            bar.update()
    assert re.fullmatch(r"Indexing: 1000/1000 \(100%\) in 0:00:0\d\n", out.getvalue())


def test_an_estimated_total_gives_way_to_the_count_done():
    out = io.StringIO()
    with progress("Rows", total=2, interval=0, file=out) as bar:
        bar.advance_to(3)
    assert out.getvalue().splitlines()[0].startswith("Rows: 3/3 (100%)")
    short = io.StringIO()
    with progress("Rows", total=10, interval=3600, file=short) as bar:
        bar.advance_to(7)
    assert short.getvalue().startswith("Rows: 7/7 (100%) in ")


def test_an_unknown_total_counts_without_a_share():
    out = io.StringIO()
    with progress("Reading", interval=0, file=out) as bar:
        assert list(bar.iterate("abc")) == ["a", "b", "c"]
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == [
        "Reading: 1", "Reading: 2", "Reading: 3"]
    assert lines[3].startswith("Reading: 3/3 (100%) in ")


def test_a_failure_leaves_no_closing_line():
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with progress("Loading", total=5, interval=3600, file=out) as bar:
            bar.update(2)
            raise RuntimeError("stop")
    assert out.getvalue() == ""
    abandoned = io.StringIO()
    with progress("Loading", total=5, interval=3600, file=abandoned) as bar:
        bar.update(2)
        bar.abandon()  # the work failed without raising: the caller says so
    assert abandoned.getvalue() == ""


def test_progress_goes_to_standard_error_by_default():
    @click.command()
    def work():
        with progress("Working", total=2) as bar:
            bar.update(2)
        click.echo("the output")

    result = click.testing.CliRunner().invoke(work)
    assert result.stdout == "the output\n"
    assert result.stderr.startswith("Working: 2/2 (100%) in ")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_progress_is_a_bar_with_counts():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        with progress("Loading", total=3, file=terminal) as bar:
            bar.update()
            bar.echo("a note")
            bar.update(2)
    shown = b""
    while select.select([leader], [], [], 0.5)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # Linux: the terminal's other end is closed and everything read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    shown = shown.decode()
    assert "Loading  [" in shown and "1/3" in shown and "3/3  100%" in shown
    assert "\x1b[Ka note\r\n" in shown  # the note clears the bar's line, which comes back
    assert shown.rstrip().count("3/3") == 1 and "in 0:" not in shown  # no plain line


def test_tables_align_their_columns_under_a_header(capsys):
    echo_table(("NAME", "ROLE"), [("ada@example.org", "observer"), ("bo", None),
                                  ("tab\there", "line\nbreak")], "Nobody.")
    out = capsys.readouterr().out.splitlines()
    assert out == ["NAME             ROLE",
                   "ada@example.org  observer",
                   "bo               -",
                   "tab here         line break"]


def test_an_empty_table_says_so_on_standard_error(capsys):
    echo_table(("NAME",), [], "Nobody.")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "Nobody.\n"
