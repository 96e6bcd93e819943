"""Datasets on a catalogue of generated records (100,000 by default):

- bulk import rate of `fairhub datasets import` against `sqlite-utils insert` of the same
  records into one flat table, run before and after the import (target 0.2);
- `GET /api/datasets/{code}` with a token against the bare Flask app (target 0.5);
- the first page of `GET /api/datasets` against the bare Flask app (target 0.3).

The reads are measured in BENCH_ROUNDS (3) rounds, each with the bare app measured just
before, and the median round's ratio counts. Set BENCH_DATASETS for another catalogue size
and BENCH_DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.generate_datasets import generate  # noqa: E402

COUNT = int(os.environ.get("BENCH_DATASETS", "100000"))
BARE_APP = "bench.bare_app:app"
FAIRHUB_APP = "wsgi:app"
TARGETS = {"import": 0.2, "get": 0.5, "list": 0.3}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def write_records(folder: Path) -> Path:
    import json

    path = folder / "datasets.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for record in generate(COUNT):
            out.write(json.dumps(record) + "\n")
    return path


def timed(command: list[str], env: dict | None = None) -> float:
    """Seconds ``command`` takes; fail the bench if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=str(harness.REPO_ROOT), env=harness.child_env(env),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise harness.BenchError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def sqlite_utils_seconds(records: Path, database: Path) -> float:
    tool = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent)) or shutil.which(
        "sqlite-utils")
    if tool is None:
        raise harness.BenchError("sqlite-utils is not installed: pip install -e '.[bench]'")
    return timed([tool, "insert", str(database), "flat", str(records), "--nl"])


def fairhub_import_rate(records: Path, env: dict) -> float:
    seconds = timed([sys.executable, "-m", "fairhub", "datasets", "import", str(records)], env)
    return COUNT / seconds


def read_rounds(env: dict, auth: dict) -> list[dict]:
    """``ROUNDS`` rounds of the bare app, a dataset and the first list page, measured in turn:
    each round's ratios use the bare app measured just before them, so a machine whose speed
    drifts within minutes (a shared one does, by a fifth) moves both sides of a ratio."""
    code = f"ds_{COUNT // 2:06d}"  # generated records are internal nine times in ten
    paths = {"get dataset": f"/api/datasets/{code}", "list page 1": "/api/datasets"}
    rounds = []
    with harness.serve(FAIRHUB_APP, env=env) as base:
        for _ in range(ROUNDS):
            measured = {"bare": harness.measure(BARE_APP, "/api/health")}
            for label, path in paths.items():
                if harness.WARMUP > 0:
                    harness.run_wrk(base + path, duration=harness.WARMUP, headers=auth)
                measured[label] = harness.run_wrk(base + path, headers=auth)
            rounds.append(measured)
    return rounds


def median_ratio(rounds: list[dict], label: str) -> tuple[float, float]:
    """The round whose ``label`` / bare ratio is the median: (its rate, its bare rate)."""
    ranked = sorted(rounds, key=lambda r: r[label]["requests_per_sec"]
                    / r["bare"]["requests_per_sec"])
    middle = ranked[len(ranked) // 2]
    return middle[label]["requests_per_sec"], middle["bare"]["requests_per_sec"]


def main() -> int:
    harness.require_wrk()
    folder = Path(tempfile.mkdtemp(prefix="fairhub-bench-datasets-"))
    try:
        records = write_records(folder)
        # sqlite-utils runs before and after the import, each into a new file, and the mean
        # of its two times counts: a machine whose speed drifts over the import's minute
        # moves both sides of the ratio.
        flat_seconds = [sqlite_utils_seconds(records, folder / "before.db")]
        with harness.fresh_instance() as env:
            imported = fairhub_import_rate(records, env)
            flat_seconds.append(sqlite_utils_seconds(records, folder / "after.db"))
            rounds = read_rounds(env, harness.token_header(env, "data-manager"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"catalogue of {COUNT} datasets on "
          f"{'PostgreSQL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'}")
    flat = COUNT / (sum(flat_seconds) / len(flat_seconds))
    print(f"import           {imported:9.1f} records/s  sqlite-utils {flat:9.1f} records/s "
          f"(before {COUNT / flat_seconds[0]:.1f}, after {COUNT / flat_seconds[1]:.1f})")
    for number, measured in enumerate(rounds, start=1):
        for label, result in measured.items():
            harness.describe(f"{label} ({number})", result)
    for label in ("get dataset", "list page 1"):
        ratios = ", ".join(f"{r[label]['requests_per_sec'] / r['bare']['requests_per_sec']:.2f}"
                           for r in rounds)
        print(f"{label} / bare by round: {ratios}")
    results = [
        harness.report("import/sqlite-utils", imported, flat, TARGETS["import"]),
        harness.report("get/bare (median round)", *median_ratio(rounds, "get dataset"),
                       TARGETS["get"]),
        harness.report("list/bare (median round)", *median_ratio(rounds, "list page 1"),
                       TARGETS["list"]),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_datasets: {exc}", file=sys.stderr)
        sys.exit(1)
