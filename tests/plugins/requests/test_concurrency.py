"""Two approvers deciding one request at the same moment: exactly one wins, the other 409.

Both decisions are held at the request's row (another connection has it locked) until both
have read the request as pending, then let go together; run with --fairhub-db=postgresql for
the multi-worker case the conditional UPDATE exists for.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import select, text

from fairhub import db


def decide_together(app, code: str, deciders: list) -> list[int]:
    """Have each (headers, verb) decide request ``code`` while its row is locked; statuses."""
    statuses: list[int] = []
    with app.app_context():
        holder = db.engine.connect()
        holder.execute(text("UPDATE access_requests SET updated_at = updated_at "
                            "WHERE code = :code"), {"code": code})

        def decide(headers: dict, verb: str) -> None:
            answer = app.test_client().post(f"/api/requests/{code}/{verb}",
                                            json={"reason": "Decided."}, headers=headers)
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=decide, args=d) for d in deciders]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # both are now waiting for the row
        holder.commit()
        holder.close()
        for thread in threads:
            thread.join(timeout=30)
    return sorted(statuses)


def test_one_of_two_approvals_wins(app, client, cast, ask, person, share):
    second = person("data-manager")
    share(cast["owner"], cast["dataset"], second, "reviewer")
    for verbs in (("approve", "approve"), ("approve", "deny"), ("deny", "return")):
        code = ask(cast["researcher"], cast["dataset"]).get_json()["code"]
        statuses = decide_together(app, code, [(cast["reviewer"].headers, verbs[0]),
                                               (second.headers, verbs[1])])
        assert statuses == [200, 409], verbs
        body = client.get(f"/api/requests/{code}", headers=cast["researcher"].headers).get_json()
        decisions = [h for h in body["history"] if h["action"] in ("approve", "deny", "return")]
        assert len(decisions) == 1
        with app.app_context():
            from fairhub_requests.models import AccessGrant

            grants = db.session.scalars(select(AccessGrant).where(
                AccessGrant.request_code == code)).all()
            assert len(grants) == (2 if body["status"] == "approved" else 0)
