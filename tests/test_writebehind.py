"""fairhub.WriteBehind: what a worker keeps is written later, together, and survives a failed
write (the search log and token use counts are its users; see their tests too)."""
from __future__ import annotations

from sqlalchemy import text

from fairhub import WriteBehind


def test_items_under_one_key_fold_and_a_failed_write_keeps_them_oldest_first(app, caplog):
    written, refused = [], [True]

    def write(connection, items):
        connection.execute(text("SELECT 1"))  # in a transaction of its own
        if refused[0]:
            raise RuntimeError("the database is away\nmore detail")
        written.extend(items)

    behind = WriteBehind(app, write, interval=0, limit=10, items="counts",
                         place="the counts table", combine=lambda waiting, new: waiting + new)
    behind.keep(1, key="a")
    behind.keep(2, key="b")
    assert "Could not write 2 counts to the counts table (RuntimeError: the database is " \
           "away); they wait for the next write." in caplog.text
    refused[0] = False
    behind.keep(3, key="a")
    behind.keep(5)  # no key: its own item
    assert written == [4, 2, 5]


def test_beyond_its_limit_it_drops_and_says_what_is_lost(app, caplog):
    behind = WriteBehind(app, lambda connection, items: 1 / 0, interval=3600, limit=2,
                         items="things", place="the things table")
    for thing in ("one", "two", "three", "four"):
        behind.keep(thing)
    assert caplog.text.count("The things table has 2 things waiting, its limit: later ones "
                             "are dropped until it is written.") == 1
    behind.close()
    assert "4 things are lost: the things table could not be written" in caplog.text
    behind.close()  # nothing is said lost twice
    assert caplog.text.count("are lost") == 1
