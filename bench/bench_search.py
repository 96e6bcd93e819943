"""Search throughput on a catalogue of generated records (100,000 by default), against
Datasette's JSON API searching the same records with FTS5.

A mixed query set (single words, two words, prefix, fuzzy, phrase) is sent in turn at 16
connections to fairhub (gunicorn, 2 workers, a data-manager's token) and to Datasette (its own
server, FTS5 over a flat table of the same records' title, description, keywords and
publisher). Datasette has no fuzzy search: its share of the set searches the plain word.
Target: fairhub at least 5 times Datasette's throughput on SQLite.

Set BENCH_DATASETS for another size and BENCH_DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.bench_datasets import COUNT, timed, write_records  # noqa: E402

TARGET = 5.0
FAIRHUB_APP = "wsgi:app"
WRK_TIMEOUT = 30  # seconds
# (fairhub query, Datasette query): words, two words, prefix, fuzzy, phrase.
QUERIES = [
    ("asthma", "asthma"), ("sleep", "sleep"), ("asthma cohort", "asthma cohort"),
    ("genomic registry", "genomic registry"), ("spiro*", "spiro*"), ("diab*", "diab*"),
    ("asthna~", "asthma"), ("registy~", "registry"), ('"sleep registry"', '"sleep registry"'),
]


def fairhub_paths() -> list[str]:
    return ["/api/search/search?" + urlencode({"index": "fair-index", "query": q})
            for q, _ in QUERIES]


def datasette_paths() -> list[str]:
    return ["/flat/flat.json?" + urlencode({"_search": q, "_searchmode": "raw",
                                            "_shape": "objects", "_size": 25})
            for _, q in QUERIES]


def flat_records(records: Path, folder: Path) -> Path:
    """The records as one flat row each: what Datasette searches."""
    flat = folder / "flat.jsonl"
    with records.open(encoding="utf-8") as source, flat.open("w", encoding="utf-8") as out:
        for line in source:
            record = json.loads(line)
            catalogue = record["catalogue"]
            out.write(json.dumps({
                "code": record["code"], "title": catalogue["title"],
                "description": catalogue["description"],
                "keyword": " ".join(catalogue.get("keyword", [])),
                "publisher": (catalogue.get("publisher") or {}).get("name", ""),
            }) + "\n")
    return flat


def build_datasette_db(records: Path, folder: Path) -> Path:
    tool = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    if tool is None or shutil.which("datasette", path=str(Path(sys.executable).parent)) is None:
        raise harness.BenchError("sqlite-utils or datasette is missing: pip install -e '.[bench]'")
    database = folder / "flat.db"
    timed([tool, "insert", str(database), "flat", str(flat_records(records, folder)), "--nl",
           "--pk", "code"])
    timed([tool, "enable-fts", str(database), "flat", "title", "description", "keyword",
           "publisher", "--fts5"])
    return database


@contextmanager
def datasette(database: Path):
    port = harness.free_port()
    command = [str(Path(sys.executable).parent / "datasette"), "serve", str(database),
               "--port", str(port), "--setting", "sql_time_limit_ms", "10000"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(base + "/-/versions.json", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def load(base: str, paths: list[str], headers: dict | None = None) -> dict:
    for path in paths:  # every query answers, before any is timed
        response = requests.get(base + path, headers=headers, timeout=60)
        if response.status_code != 200:
            raise harness.BenchError(f"{path} answered {response.status_code}: "
                                     f"{response.text[:300]}")
    # Under 16 connections Datasette answers broad searches of a large catalogue in about
    # two seconds, wrk's default timeout; slow answers must count, not fail.
    options = {"headers": headers, "paths": paths, "timeout": WRK_TIMEOUT,
               "max_error_ratio": 0.0}
    if harness.WARMUP > 0:
        harness.run_wrk(base + paths[0], duration=harness.WARMUP, **options)
    return harness.run_wrk(base + paths[0], **options)


def main() -> int:
    harness.require_wrk()
    folder = Path(tempfile.mkdtemp(prefix="fairhub-bench-search-"))
    try:
        records = write_records(folder)
        database = build_datasette_db(records, folder)
        with datasette(database) as base:
            peer = load(base, datasette_paths())
        with harness.fresh_instance() as env:
            timed([sys.executable, "-m", "fairhub", "datasets", "import", str(records)], env)
            auth = harness.token_header(env, "data-manager")
            with harness.serve(FAIRHUB_APP, env=env) as base:
                ours = load(base, fairhub_paths(), auth)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"catalogue of {COUNT} datasets on "
          f"{'PostgreSQL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'}")
    harness.describe("datasette", peer)
    harness.describe("fairhub search", ours)
    ok = harness.report("search/datasette", ours["requests_per_sec"], peer["requests_per_sec"],
                        target=TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_search: {exc}", file=sys.stderr)
        sys.exit(1)
