"""A bare Flask app with one JSON health route, used as the benchmark baseline."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/api/health")
def health() -> dict[str, str]:
    """Return the same body as fairhub's health endpoint."""
    return {"status": "ok"}
