"""Compare authenticated GET /api/user (long-life token) with GET /api/health on one server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

TARGET = 0.7
FAIRHUB_APP = "wsgi:app"


def fairhub_cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run `python -m fairhub ARGS` on the bench instance and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "fairhub", *args], cwd=str(harness.REPO_ROOT),
        env=harness.child_env(env), input=stdin, capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        raise harness.BenchError(f"fairhub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def main() -> int:
    """Serve fairhub once and measure both routes on it, health first."""
    harness.require_wrk()
    with harness.fresh_instance() as env:
        fairhub_cli(env, "users", "create", "bench@example.org", "--role", "data-manager",
                    stdin="bench-password-1\n")
        token = fairhub_cli(env, "tokens", "create", "bench@example.org", "--name", "bench",
                            "--role", "data-manager", "--valid-to", "2099-01-01",
                            "--reason", "benchmark")
        auth = {"Authorization": f"Bearer {token}"}
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
