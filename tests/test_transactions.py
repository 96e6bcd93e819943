"""Work tied to a commit: ``before_commit`` writes inside the transaction, ``after_commit``
runs once it committed; both follow one rule for savepoints and rollbacks."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from fairhub import after_commit, before_commit, db

from test_db_writes import tables, things  # noqa: F401  (a fixture)


def written(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(things.c.name).order_by(things.c.id)))


def insert(session, names: list[str]) -> None:
    """A ``before_commit`` write: the queue's items as rows, in one statement."""
    session.execute(things.insert(), [{"name": name} for name in names])


class Work:
    """Both kinds of work, named: rows written before the commit, names noted after it."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def queue(self, name: str) -> None:
        before_commit("transactions_things", name, insert)
        after_commit(lambda: self.done.append(name))


def test_work_waits_for_the_outermost_commit_and_follows_savepoints(tables):
    work = Work()
    with tables.app_context():
        work.queue("kept")
        with db.session.begin_nested():
            work.queue("released")
        assert work.done == [] and written(tables) == []  # a release is no commit
        with pytest.raises(RuntimeError), db.session.begin_nested():
            work.queue("rolled-back")
            raise RuntimeError
        with db.session.begin_nested() as savepoint:
            work.queue("rolled-back-by-hand")
            savepoint.rollback()
        work.queue("after-savepoints")
        db.session.commit()
        assert work.done == ["kept", "released", "after-savepoints"]
    assert written(tables) == work.done


def test_an_outermost_rollback_or_close_drops_everything(tables):
    work = Work()
    with tables.app_context():
        work.queue("rolled-back")
        with db.session.begin_nested():
            work.queue("released-rolled-back")
        db.session.rollback()
        work.queue("closed")  # no transaction was open: this begins one
        db.session.close()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        assert work.done == []
        work.queue("next")
        db.session.commit()
    assert work.done == ["next"] and written(tables) == ["next"]


def test_nested_savepoints_take_their_work_with_them(tables):
    work = Work()
    with tables.app_context():
        with pytest.raises(RuntimeError), db.session.begin_nested():
            work.queue("outer-rolled-back")
            with db.session.begin_nested():
                work.queue("inner-released")
            raise RuntimeError
        with db.session.begin_nested():
            work.queue("outer-released")
            with pytest.raises(RuntimeError), db.session.begin_nested():
                work.queue("inner-rolled-back")
                with db.session.begin_nested():
                    work.queue("innermost-released")
                raise RuntimeError
            work.queue("outer-released-2")
        db.session.commit()
    assert work.done == ["outer-released", "outer-released-2"]
    assert written(tables) == work.done


def test_queues_are_written_in_order_of_first_use_and_last_ones_after(tables):
    writes = []

    def writer(name):
        return lambda session, items: writes.append((name, items))

    with tables.app_context():
        before_commit("transactions_counter", 1, writer("counter"), last=True)
        before_commit("transactions_things", "a", writer("rows"))
        before_commit("transactions_audit", "x", writer("audit"))
        before_commit("transactions_counter", 2, writer("counter"), last=True)
        before_commit("transactions_things", "b", writer("rows"))
        assert writes == []
        db.session.commit()
    assert writes == [("rows", ["a", "b"]), ("audit", ["x"]), ("counter", [1, 2])]


def test_a_write_may_queue_more_and_a_failing_write_fails_the_commit(tables):
    def queue_more(session, names):
        insert(session, names)
        before_commit("transactions_more", [f"{name}-more" for name in names], lambda s, lists:
                      insert(s, [name for names in lists for name in names]))

    def fail(_session, _items):
        raise RuntimeError("the write failed")

    done = []
    with tables.app_context():
        before_commit("transactions_first", "a", queue_more)
        db.session.commit()
        before_commit("transactions_things", "never", insert)
        before_commit("transactions_failing", "x", fail)
        after_commit(lambda: done.append("never"))
        with pytest.raises(RuntimeError, match="the write failed"):
            db.session.commit()
        db.session.rollback()
        db.session.commit()
    assert written(tables) == ["a", "a-more"] and done == []


def test_a_failing_callback_is_logged_and_the_others_still_run(tables, caplog):
    done = []

    def broken():
        raise RuntimeError("no queue")

    with tables.app_context():
        before_commit("transactions_things", "committed", insert)
        after_commit(broken)
        after_commit(lambda: done.append("ran"))
        db.session.commit()  # does not raise: the commit stands
    assert done == ["ran"] and written(tables) == ["committed"]
    (failure,) = [r for r in caplog.records if r.name == "fairhub.transactions"]
    assert failure.levelno == logging.ERROR and str(failure.exc_info[1]) == "no queue"
