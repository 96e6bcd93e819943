"""The requests plugin's background jobs: mail sent once its change commits, the daily purge."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from huey.consumer import Scheduler
from sqlalchemy import select, update

from fairhub import Job, db, utcnow
from fairhub.jobs import queue_of
from fairhub.testing import assert_error
from fairhub_requests.models import AccessRequest
from fairhub_requests.notices import deliver

from .test_lifecycle import action
from .test_notifications import MAIL_JOBS, ask_for_access, smtp  # noqa: F401  (a fixture)


def test_mail_is_sent_by_a_job_once_the_change_commits(make_app, smtp, person, make_dataset):
    app = make_app({"REQUESTS_SMTP_URL": smtp.url, "JOBS_IN_PROCESS": False, **MAIL_JOBS})
    owner, _researcher, created = ask_for_access(app, person, make_dataset)
    queue = queue_of(app)
    (task,) = queue.huey.pending()  # the request did not send the mail: a job will
    assert task.args[0] == Job(deliver).name
    time.sleep(0.2)
    assert smtp.received == []
    queue.start()
    (to, message), = smtp.wait_for(1)
    assert to == [owner.email] and created["code"] in message["Subject"]


def test_requests_archived_long_ago_are_purged_daily_at_three(make_app, client, cast, ask):
    code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
    assert action(client, cast["owner"], code, "archive").status_code == 200
    app = make_app({"JOBS_PERIODIC": True, "JOBS_IN_PROCESS": False}, create_tables=False)
    huey = queue_of(app).huey

    def look_at_schedules(moment: datetime) -> None:
        Scheduler(huey, threading.Event(), 1, True).enqueue_periodic_tasks(moment)

    with app.app_context():
        db.session.execute(update(AccessRequest).values(
            archived_at=utcnow() - timedelta(days=app.config["REQUESTS_PURGE_AFTER_DAYS"] + 1)))
        db.session.commit()
    look_at_schedules(datetime(2030, 1, 1, 2, 59))
    assert huey.pending_count() == 0
    look_at_schedules(datetime(2030, 1, 1, 3, 0))
    huey.execute(huey.dequeue())
    assert_error(client.get(f"/api/requests/{code}", headers=cast["researcher"].headers), 404)
    with app.app_context():
        assert db.session.scalars(select(AccessRequest)).all() == []
