"""Compare GET /api/health throughput of fairhub against a bare Flask app under gunicorn."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

TARGET = 0.8
BARE_APP = "bench.bare_app:app"
FAIRHUB_APP = "wsgi:app"


def main() -> int:
    """Run both servers in turn and report fairhub's throughput as a ratio of the bare app's."""
    harness.require_wrk()
    with harness.fresh_instance() as env:
        bare = harness.measure(BARE_APP, "/api/health")
        fairhub = harness.measure(FAIRHUB_APP, "/api/health", env=env)
    harness.describe("bare", bare)
    harness.describe("fairhub", fairhub)
    ok = harness.report(
        "health/bare", fairhub["requests_per_sec"], bare["requests_per_sec"], target=TARGET
    )
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_health: {exc}", file=sys.stderr)
        sys.exit(1)
