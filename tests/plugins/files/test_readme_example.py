"""The README's tuspy example, run as written against fairhub under gunicorn."""
from __future__ import annotations

import re
from pathlib import Path

import requests

from fairhub.testing import bearer

README = (Path(__file__).parents[3] / "README.md").read_text()


def test_the_readme_upload_example_names_the_file(live_server, live_token, tmp_path,
                                                  monkeypatch):
    (example,) = [block for block in re.findall(r"```python\n(.*?)```", README, flags=re.S)
                  if "tusclient" in block]
    base = live_server(workers=1)
    secret = live_token("data-manager")
    auth = bearer(secret)
    created = requests.post(f"{base}/api/datasets", headers=auth, timeout=10, json={
        "code": "asthma", "catalogue": {"title": "Asthma", "description": "Made up."}})
    assert created.status_code == 201, created.text
    monkeypatch.chdir(tmp_path)
    (tmp_path / "protocol.pdf").write_bytes(b"%PDF-1.4\n" + b"x" * 1000)

    exec(example.replace("http://127.0.0.1:5000", base).replace("fh_...", secret), {})

    listed = requests.get(f"{base}/api/files/datasets/asthma/attachments", headers=auth,
                          timeout=10).json()
    assert [item["filename"] for item in listed["items"]] == ["protocol.pdf"]
