"""Write N made-up datasets as JSON lines, the same N records for the same seed.

    python bench/generate_datasets.py 100000 > datasets.jsonl

Each record is a dataset in the form ``POST /api/datasets`` and ``fairhub datasets import``
take: a catalogue entry and two dictionaries with a lookup each. Nine in ten are internal,
the rest private or public. No real person or study is described.
"""
from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator

WORDS = ("asthma", "cohort", "spirometry", "diabetes", "sleep", "registry", "trial", "cardiac",
         "renal", "imaging", "genomic", "survey", "children", "ageing", "nutrition", "stroke")
TYPES = ("integer", "decimal", "text", "date", "datetime", "boolean", "time")


def dataset(number: int, rng: random.Random) -> dict:
    """The ``number``-th made-up dataset."""
    words = rng.sample(WORDS, 3)
    code = f"ds_{number:06d}"
    return {
        "code": code,
        "visibility": rng.choices(("internal", "private", "public"), (90, 5, 5))[0],
        "catalogue": {
            "title": f"{' '.join(words).title()} study {number}",
            "description": f"Made-up {words[0]} data about {words[1]} and {words[2]}, "
                           f"number {number}, for benchmarks.",
            "keyword": words,
            "creator": f"Research group {rng.randrange(500)}",
            "contactPoint": f"group{rng.randrange(500)}@example.org",
            "publisher": {"name": f"Example University {rng.randrange(50)}",
                          "url": "https://example.org"},
            "license": "CC-BY-4.0",
            "versionInfo": str(rng.randrange(1, 5)),
            "language": ["en"],
            "issued": f"20{rng.randrange(10, 26)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
        },
        "dictionaries": [dictionary(f"{code}_{table}", rng) for table in ("people", "visits")],
    }


def dictionary(code: str, rng: random.Random) -> dict:
    fields = [{"name": "id", "label": "Identifier", "type": "integer",
               "description": "Row identifier", "constraints": None}]
    for index in range(rng.randrange(3, 8)):
        fields.append({"name": f"var_{index}", "label": f"Variable {index}",
                       "type": rng.choice(TYPES), "description": f"Measure {index}",
                       "constraints": None})
    fields.append({"name": "category", "label": "Category", "type": "text",
                   "description": "Coded category", "constraints": "CATEGORY"})
    options = [{"name": f"c{n}", "description": f"Category {n}"} for n in range(4)]
    return {"code": code, "name": code.replace("_", " ").title(), "description": "A table",
            "fields": fields, "lookups": {"CATEGORY": options}}


def generate(count: int, seed: int = 2026) -> Iterator[dict]:
    rng = random.Random(seed)
    for number in range(1, count + 1):
        yield dataset(number, rng)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for record in generate(count):
        sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
