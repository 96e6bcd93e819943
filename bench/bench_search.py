"""Search throughput on a catalogue of generated records (100,000 by default), against
Datasette's JSON API searching the same records with FTS5.

A few hundred distinct queries drawn from the corpus (single words, two words, prefixes, fuzzy
terms, phrases, and words with a record's number) are sent in turn at 16 connections to
fairhub (gunicorn, 2 workers, a data-manager's token) and to Datasette (its own server, FTS5
over a flat table of the same records' title, description, keywords, publisher, license and
visibility). Datasette runs twice:

- doing fairhub's work: it counts every match and computes the facets fairhub's answer holds
  (keyword as an array, publisher, license, accessRights, visibility; facet suggestions off, time limits
  raised so no facet is cut short);
- lean: no count (``_nocount=1``) and no facets.

Datasette has no fuzzy search: its share of the set searches the word as written correctly.
So many distinct queries keep any cache of a handful of answers from deciding the figure.
Set BENCH_DATASETS for another size and BENCH_DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
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
from bench.generate_datasets import WORDS  # noqa: E402

TARGETS = {"same work": 5.0, "lean": 2.0}
FAIRHUB_APP = "wsgi:app"
WRK_TIMEOUT = 30  # seconds
FACETS = ("publisher", "license", "accessRights", "visibility")  # and keyword, an array
FACET_SIZE = 20  # fairhub's FAIRHUB_SEARCH_FACET_SIZE


def _typo(word: str, rng: random.Random) -> str:
    """``word`` with two neighbouring letters swapped or one letter changed."""
    at = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return word[:at] + rng.choice("aeioursnt") + word[at + 1:]


def queries(seed: int = 7) -> list[tuple[str, str]]:
    """(fairhub query, Datasette query) pairs, distinct, drawn from the generated corpus."""
    rng = random.Random(seed)
    pairs = [(a, b) for a in WORDS for b in WORDS if a < b]
    chosen = [(w, w) for w in WORDS]
    chosen += [(f"{a} {b}", f"{a} {b}") for a, b in rng.sample(pairs, 60)]
    chosen += [(w[:n] + "*", w[:n] + "*") for w in WORDS for n in (3, 5)]
    chosen += [(_typo(w, rng) + "~", w) for w in WORDS for _ in range(2)]
    chosen += [(f'"{a} {b}"', f'"{a} {b}"') for a, b in rng.sample(pairs, 40)]
    chosen += [(f"{w} {n}", f"{w} {n}") for w, n in
               zip(rng.choices(WORDS, k=100), rng.sample(range(COUNT), min(100, COUNT)))]
    return list(dict.fromkeys(chosen))


QUERIES = queries()


def fairhub_paths() -> list[str]:
    return ["/api/search/search?" + urlencode({"index": "fair-index", "query": q})
            for q, _ in QUERIES]


def datasette_paths(lean: bool) -> list[str]:
    extra = [("_nocount", "1")] if lean else [("_facet_array", "keyword")] + [
        ("_facet", name) for name in FACETS]
    return ["/flat/flat.json?" + urlencode([("_search", q), ("_searchmode", "raw"),
                                            ("_shape", "objects"), ("_size", "25"), *extra])
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
                "keyword": json.dumps(catalogue.get("keyword", [])),
                "publisher": (catalogue.get("publisher") or {}).get("name", ""),
                "license": catalogue.get("license"),
                "accessRights": catalogue.get("accessRights"), "visibility": record["visibility"],
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
               "--port", str(port), "--setting", "sql_time_limit_ms", "10000",
               "--setting", "facet_time_limit_ms", "10000", "--setting", "suggest_facets", "off",
               "--setting", "default_facet_size", str(FACET_SIZE)]
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
            peers = {"same work": load(base, datasette_paths(lean=False)),
                     "lean": load(base, datasette_paths(lean=True))}
        with harness.fresh_instance() as env:
            timed([sys.executable, "-m", "fairhub", "datasets", "import", str(records)], env)
            auth = harness.token_header(env, "data-manager")
            with harness.serve(FAIRHUB_APP, env=env) as base:
                ours = load(base, fairhub_paths(), auth)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"catalogue of {COUNT} datasets on "
          f"{'PostgreSQL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'}")
    print(f"{len(QUERIES)} distinct queries")
    for label, peer in peers.items():
        harness.describe(f"datasette {label}", peer)
    harness.describe("fairhub search", ours)
    results = [harness.report(f"search/datasette ({label})", ours["requests_per_sec"],
                              peer["requests_per_sec"], target=TARGETS[label])
               for label, peer in peers.items()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_search: {exc}", file=sys.stderr)
        sys.exit(1)
