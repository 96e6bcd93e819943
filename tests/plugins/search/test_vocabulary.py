"""The vocabulary fuzzy terms are matched to: each word once, with its letter pairs once."""
from __future__ import annotations

import re
import threading
import time

import pytest
from fairhub import db
from fairhub_search.indexer import MAX_WORD, _add_words, fold, words_of
from fairhub_search.query import grams
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text


def vocabulary(connection) -> tuple[list, list]:
    return (sorted(connection.execute(text("SELECT word FROM search_words")).scalars()),
            sorted(connection.execute(text("SELECT gram, word FROM search_grams")).all()))


def pairs(*words: str) -> list[tuple[str, str]]:
    return sorted((gram, word) for word in words for gram in grams(word))


def test_words_already_known_add_no_pairs_again(app):
    with app.app_context(), db.engine.connect() as connection:
        _add_words(connection, {"zebra", "okapi"})
        _add_words(connection, {"zebra", "lion"})
        assert vocabulary(connection) == (["lion", "okapi", "zebra"],
                                          pairs("lion", "okapi", "zebra"))


@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
def test_a_word_two_writers_add_at_once_gets_its_pairs_once(app, fairhub_backend, first_ends):
    """The second writer waits for the first; it writes the pairs of a word only if the
    first did not keep it."""
    if fairhub_backend != "postgresql":
        pytest.skip("SQLite takes one writer at a time")
    with app.app_context(), db.engine.connect() as first, db.engine.connect() as second:
        _add_words(first, {"zebra", "okapi"})
        failed = []

        def add_then_commit():
            try:
                _add_words(second, {"zebra", "lion"})
                second.commit()
            except Exception as error:  # reported below, in the test's thread
                failed.append(error)

        writer = threading.Thread(target=add_then_commit)
        writer.start()
        pid = second.connection.driver_connection.info.backend_pid
        with db.engine.connect() as watcher:
            for _ in range(100):  # until the second writer waits on the first one's word
                if watcher.scalar(text("SELECT wait_event_type FROM pg_stat_activity "
                                       "WHERE pid = :pid"), {"pid": pid}) == "Lock":
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second writer never waited for the first")
        getattr(first, first_ends)()
        writer.join(10)
        assert not failed
        kept = ("lion", "okapi", "zebra") if first_ends == "commit" else ("lion", "zebra")
        assert vocabulary(first) == (sorted(kept), pairs(*kept))


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=127)) | st.text())
@example("Made-up DATA, number 1: x_1\ty-z\x00(w) " + "w" * 65)
@example("Café au lait\u00a0x_1 ÉTÉ")
def test_the_words_of_ascii_text_are_those_of_any_text(text):
    """ASCII text takes a shortcut to its words; it finds what the regular expression finds."""
    folded = fold(text)
    assert words_of(text) == {w for w in re.findall(r"\w+", folded) if len(w) <= MAX_WORD}
