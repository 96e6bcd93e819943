"""fairhub under gunicorn, called over real HTTP as client scripts do."""
from __future__ import annotations

import subprocess
import sys
import time

import requests

from fairhub.testing import bearer, free_port


def test_gunicorn_serves_health_docs_errors_and_plugin_routes(live_server, live_token):
    base = live_server(workers=2)
    auth = bearer(live_token("data-manager"))
    health = requests.get(f"{base}/api/health", timeout=10)
    assert health.status_code == 200 and health.json()["database"]["status"] == "ok"
    assert requests.get(f"{base}/api/docs/", timeout=10).status_code == 200
    assert requests.get(f"{base}/api/openapi.json", timeout=10).json()["openapi"].startswith("3.")
    created = requests.post(f"{base}/api/notes/", json={"code": "live", "text": "over HTTP"},
                            headers=auth, timeout=10)
    assert created.status_code == 201
    listed = requests.get(f"{base}/api/notes", timeout=10, allow_redirects=False)
    assert listed.status_code == 200 and listed.json()["paging"]["total"] == 1
    missing = requests.get(f"{base}/api/nothing", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["message"]
    too_big = requests.post(f"{base}/api/notes", data=b"x" * (6 * 1024 * 1024),
                            headers={"Content-Type": "application/json", **auth}, timeout=30)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_entity_too_large"


def test_fairhub_serve_serves(fairhub_env, fairhub_command):
    """`make run` ends in `fairhub serve`: the development server must really answer."""
    fairhub_command("db", "upgrade")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "fairhub", "serve", "--port", str(port)],
                              env=fairhub_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("fairhub serve never answered")
        assert response.status_code == 200 and response.json()["status"] == "ok"
        server.terminate()  # a service manager's SIGTERM ends it as Ctrl-C does
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()
        server.wait(timeout=10)
