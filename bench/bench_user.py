"""Compare authenticated GET /api/user (long-life token) with GET /api/health on one server."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

TARGET = 0.7
FAIRHUB_APP = "wsgi:app"


def main() -> int:
    """Serve fairhub once and measure both routes on it, health first."""
    harness.require_wrk()
    with harness.fresh_instance() as env:
        auth = harness.token_header(env, "data-manager")
        with harness.serve(FAIRHUB_APP, env=env) as base:
            if harness.WARMUP > 0:
                harness.run_wrk(base + "/api/health", duration=harness.WARMUP)
                harness.run_wrk(base + "/api/user", duration=harness.WARMUP, headers=auth)
            health = harness.run_wrk(base + "/api/health")
            user = harness.run_wrk(base + "/api/user", headers=auth)
    harness.describe("health", health)
    harness.describe("user (token)", user)
    ok = harness.report(
        "user/health", user["requests_per_sec"], health["requests_per_sec"], target=TARGET
    )
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_user: {exc}", file=sys.stderr)
        sys.exit(1)
