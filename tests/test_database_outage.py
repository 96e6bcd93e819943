"""A PostgreSQL server of the test's own, stopped and started under the app: while it is down
the API answers 503 in its error shape with Retry-After, and once it is back no request
fails on a connection the restart left dead."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from fairhub.testing import assert_error, bearer, build_app, dispose_app, free_port
from sample_plugin import SAMPLE


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        return Path(subprocess.run([found, "--bindir"], capture_output=True, text=True,
                                   check=True).stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return versions[-1] if versions else None


class Server:
    """A throwaway PostgreSQL cluster on 127.0.0.1, run as the postgres user when the tests
    run as root (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path) -> None:
        # Not in pytest's folders: they are closed to the postgres user.
        self.folder = Path(tempfile.mkdtemp(prefix="fairhub-outage-"))
        self.data, self.bindir, self.port = self.folder / "data", bindir, free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.data / "log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")


@pytest.fixture
def server(fairhub_backend):
    if fairhub_backend != "postgresql":
        pytest.skip("a PostgreSQL server of the test's own is stopped and started")
    bindir = _bindir()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.fail("PostgreSQL's initdb and pg_ctl are needed (apt-get install postgresql)")
    server = Server(bindir)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # the test left it stopped
        shutil.rmtree(server.folder, ignore_errors=True)


def test_while_the_database_is_down_requests_get_503_and_then_work_again(server, tmp_path):
    app = build_app(server.url, tmp_path / "instance", {"TOKENS_CACHE_SECONDS": 0}, [SAMPLE])
    try:
        _outage_and_back(app, server)
    finally:
        dispose_app(app)


def _outage_and_back(app, server) -> None:
    from fairhub import db, utcnow
    from fairhub.identity.service import tokens, users

    with app.app_context():
        user = users.create_user({"email": "mia@example.org", "role": "data-steward",
                                  "approved": True}, None)
        _token, secret = tokens.issue_token(user, role="data-steward", name="t", reason="t",
                                            valid_to=utcnow().replace(year=utcnow().year + 1))
        db.session.commit()
    client, headers = app.test_client(), bearer(secret)
    for _ in range(3):  # the pool holds connections from before the outage
        assert client.get("/api/user", headers=headers).status_code == 200
        assert client.get("/api/notes", headers=headers).status_code == 200

    server.stop()
    for method, path, body in (("get", "/api/user", None), ("get", "/api/notes", None),
                               ("post", "/api/notes", {"code": "n1", "text": "x"})):
        response = getattr(client, method)(path, headers=headers, json=body)
        assert_error(response, 503, "service_unavailable", "try again")
        assert response.headers["Retry-After"] == "5"
    health = client.get("/api/health")
    assert health.status_code == 503 and health.get_json()["database"]["status"] == "unavailable"

    server.start()
    assert client.get("/api/user", headers=headers).status_code == 200  # the first one too
    created = client.post("/api/notes", headers=headers, json={"code": "n2", "text": "back"})
    assert created.status_code == 201, created.get_json()
    assert client.get("/api/health").status_code == 200
