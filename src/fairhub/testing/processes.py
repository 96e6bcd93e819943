"""The test kit's processes: the command line and gunicorn on a test's database (see
``fairhub.testing``)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from .apps import CHEAP_PASSWORDS, NO_PERIODIC_JOBS, dispose_app

def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fairhub_env(empty_database_url: str, tmp_path, fairhub_plugins) -> dict:
    """Environment for a ``fairhub`` process (server or command) on this test's database,
    which is therefore an empty one that the process may migrate."""
    return {
        **os.environ,
        "FAIRHUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "FAIRHUB_DATABASE_URL": empty_database_url,
        "FAIRHUB_SECRET_KEY": "live-" + uuid.uuid4().hex,
        **({"FAIRHUB_PLUGINS": ",".join(fairhub_plugins)} if fairhub_plugins else {}),
        **{f"FAIRHUB_{name}": json.dumps(value)
           for name, value in {**CHEAP_PASSWORDS, **NO_PERIODIC_JOBS}.items()},
        # Child processes import what the tests import (plugins living in the test tree).
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


@pytest.fixture
def fairhub_command(fairhub_env: dict) -> Callable[..., str]:
    """Run ``python -m fairhub ARGS`` on this test's database; return stdout, fail on error."""

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "fairhub", *args], env=fairhub_env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"fairhub {' '.join(args)} failed:\n{done.stderr}", pytrace=False)
        return done.stdout.strip()

    return run


@pytest.fixture
def fairhub_cli(fairhub_env: dict) -> Callable[..., Any]:
    """Run ``fairhub ARGS`` in this process on this test's database, migrated first."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from fairhub.cli import cli

    runner = CliRunner(env={k: v for k, v in fairhub_env.items() if k.startswith("FAIRHUB_")})

    def run(*args: str, input: str = "") -> Any:
        apps = []  # the app the command builds, as ``fairhub`` itself builds it
        info = ScriptInfo(create_app=lambda: apps.append(cli.create_app()) or apps[-1])
        try:
            return runner.invoke(cli, list(args), input=input, obj=info)
        finally:
            for built in apps:
                dispose_app(built)

    migrated = run("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    return run


class LiveServers:
    """The ``live_server`` fixture: ``live_server(workers=2, env=None)`` starts fairhub under
    gunicorn on 127.0.0.1 (migrated first) and returns its base URL; ``master(url)`` and
    ``workers(url)`` give the process ids serving it, for tests that signal them."""

    def __init__(self, fairhub_env: dict, fairhub_command: Callable[..., str], logs: Path):
        self.env, self.command, self.logs = fairhub_env, fairhub_command, logs
        self.servers: dict[str, subprocess.Popen] = {}

    def __call__(self, workers: int = 2, env: dict | None = None) -> str:
        port = free_port()
        self.command("db", "upgrade")
        log = open(self.logs / f"gunicorn-{port}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "5", "fairhub.wsgi:app"],
            env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        self.servers[url] = process
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return url
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 30 seconds")

    def master(self, url: str) -> int:
        """The process id of the gunicorn master serving ``url``."""
        return self.servers[url].pid

    def workers(self, url: str) -> list[int]:
        """The process ids of the gunicorn workers serving ``url`` now."""
        master, found = self.master(url), []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master and fields[0] != "Z":
                found.append(int(pid))
        return found

    def stop_all(self) -> None:
        for process in self.servers.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def live_server(fairhub_env: dict, fairhub_command, tmp_path) -> Iterator[LiveServers]:
    """Start fairhub under gunicorn: ``live_server(workers=2, env={...})`` returns the base
    URL (see :class:`LiveServers`); give it callers with ``live_token``. Servers are stopped
    when the test ends."""
    servers = LiveServers(fairhub_env, fairhub_command, tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture
def live_token(fairhub_command) -> Callable[..., str]:
    """``live_token(role="standard", email=None)``: an approved user with ``role``, made with
    the command line as an operator would, and the secret of an API token of theirs."""

    def make(role: str = "standard", email: str | None = None) -> str:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        fairhub_command("users", "create", email, "--role", role, "--approved",
                        stdin="a-long-password\n")
        return fairhub_command("tokens", "create", email, "--name", "live", "--role", role,
                               "--valid-to", "2099-01-01", "--reason", "test")

    return make
