"""``fairhub search reindex``: its progress, piped."""
from __future__ import annotations

from fairhub.testing import signed_in


def test_reindex_reports_progress_in_plain_lines_on_stderr(fairhub_cli, make_app):
    steward = signed_in(make_app(create_tables=False), "data-steward")
    for number in range(3):
        created = steward.post("/api/datasets", json={"code": f"d{number}", "catalogue": {
            "title": f"Dataset {number}", "description": "About it."}})
        assert created.status_code == 201, created.data
    result = fairhub_cli("search", "reindex")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Indexing: 3/3 (100%) in 0:00:")
    assert lines[1:] == ["3 datasets indexed."]
