"""Helpers to serve WSGI apps under gunicorn on 127.0.0.1 and load them with wrk."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}

Headers = Mapping[str, str] | Callable[[str], Mapping[str, str]] | None


class BenchError(RuntimeError):
    """Raised when a server or a load run does not behave as a benchmark needs."""


def require_wrk() -> str:
    """Return the path of wrk, or print how to install it and exit with status 2."""
    path = shutil.which("wrk")
    if path is None:
        print(
            "bench: `wrk` is not on PATH; install it with "
            "`apt-get update && apt-get install -y wrk` (see bench/README.md)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return os.environ plus `env`, with the repo root, src/ and plugins/ on PYTHONPATH."""
    merged = dict(os.environ)
    merged.update(env or {})
    paths = [str(REPO_ROOT), str(REPO_ROOT / "src"), str(REPO_ROOT / "plugins")]
    if merged.get("PYTHONPATH"):
        paths.append(merged["PYTHONPATH"])
    merged["PYTHONPATH"] = os.pathsep.join(paths)
    return merged


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Send SIGTERM to gunicorn's process group, then SIGKILL if it outlives `timeout`."""
    if proc.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def serve(
    app_spec: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    cwd: str | Path | None = None,
    tries: int = 200,
) -> Iterator[str]:
    """Run `gunicorn app_spec` on a free 127.0.0.1 port and yield its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "gunicorn",
        "-w", str(workers),
        "-b", f"127.0.0.1:{port}",
        "--log-level", "warning",
        app_spec,
    ]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            cmd,
            cwd=str(cwd or REPO_ROOT),
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            up = False
            for _ in range(tries):
                if proc.poll() is not None:
                    break
                try:
                    requests.get(base + "/", timeout=1)
                    up = True
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            if not up:
                _stop(proc)
                stderr.seek(0)
                log = stderr.read().decode(errors="replace")
                raise BenchError(
                    f"gunicorn {app_spec} did not answer on {base} within {tries} tries "
                    f"(exit code {proc.returncode}); its output:\n{log}"
                )
            yield base
        finally:
            _stop(proc)


def _ms(value: str, unit: str) -> float:
    """Convert one of wrk's latency figures to milliseconds."""
    return float(value) * _UNITS_MS[unit]


def parse_wrk(out: str) -> dict[str, Any]:
    """Parse the text wrk --latency prints into a dict of figures."""

    def find(pattern: str) -> re.Match[str] | None:
        """Return the first multiline match of `pattern` in the output."""
        return re.search(pattern, out, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    p99 = find(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    total = find(r"^\s+(\d+) requests in ")
    if not (rps and p50 and p99 and total):
        raise BenchError(f"could not parse wrk output:\n{out}")
    sock = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    non2xx = find(r"Non-2xx or 3xx responses: (\d+)")
    return {
        "requests_per_sec": float(rps.group(1)),
        "p50_ms": _ms(*p50.groups()),
        "p99_ms": _ms(*p99.groups()),
        "requests": int(total.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(n) for n in sock.groups()) if sock else 0,
    }


def run_wrk(
    url: str,
    duration: int | None = None,
    connections: int | None = None,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    expect_status_ok: bool = True,
    max_error_ratio: float = 0.01,
    paths: list[str] | None = None,
    timeout: int | None = None,
) -> dict[str, Any]:
    """Load `url` with wrk --latency and return requests_per_sec, p50_ms, p99_ms, non_2xx,
    errors. With `paths`, requests cycle through those paths on `url`'s server; `timeout`
    (seconds) replaces wrk's 2 s socket timeout, so slow answers count instead of failing."""
    wrk = require_wrk()
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"benchmarks only target 127.0.0.1, not {url}")
    duration = DURATION if duration is None else duration
    connections = CONNECTIONS if connections is None else connections
    cmd = [wrk, "--latency", "-t", str(min(threads, connections)),
           "-c", str(connections), "-d", f"{duration}s"]
    if timeout is not None:
        cmd += ["--timeout", f"{timeout}s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if paths:
            script.write(_cycle_script(paths))
            script.flush()
            cmd += ["-s", script.name]
        cmd.append(url)
        done = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=duration + 60 + (timeout or 0))
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if expect_status_ok and result["non_2xx"] > 0:
        raise BenchError(f"{result['non_2xx']} non-2xx/3xx responses from {url}:\n{done.stdout}")
    if result["errors"] > max_error_ratio * max(result["requests"], 1):
        raise BenchError(f"{result['errors']} socket errors from {url}:\n{done.stdout}")
    return result


def _cycle_script(paths: list[str]) -> str:
    """A wrk script sending the paths in turn (each wrk thread cycles through them)."""
    quoted = ", ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    return (f"local paths = {{{quoted}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            "  return wrk.format(nil, paths[i])\nend\n")


def measure(
    app_spec: str,
    path: str,
    env: Mapping[str, str] | None = None,
    headers: Headers = None,
    workers: int = 2,
    cwd: str | Path | None = None,
) -> dict[str, Any]:
    """Serve `app_spec`, warm it up, then return run_wrk's figures for `path`."""
    with serve(app_spec, env=env, workers=workers, cwd=cwd) as base:
        sent = headers(base) if callable(headers) else headers
        if WARMUP > 0:
            run_wrk(base + path, duration=WARMUP, headers=sent)
        return run_wrk(base + path, headers=sent)


@contextmanager
def fresh_instance() -> Iterator[dict[str, str]]:
    """Make a temp instance folder, run `python -m fairhub db upgrade` in it, and yield the env."""
    folder = tempfile.mkdtemp(prefix="fairhub-bench-")
    env = {"FAIRHUB_INSTANCE_PATH": folder}
    if os.environ.get("BENCH_DATABASE_URL"):
        # An empty PostgreSQL database of the bench's own, e.g. one made with createdb.
        env["FAIRHUB_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fairhub", "db", "upgrade"],
            cwd=str(REPO_ROOT),
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise BenchError(
                f"`python -m fairhub db upgrade` failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}"
            )
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fairhub_cli(env: Mapping[str, str], *args: str, stdin: str = "",
                timeout: int = 120) -> str:
    """Run `python -m fairhub ARGS` on a bench instance and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "fairhub", *args], cwd=str(REPO_ROOT), env=child_env(env),
        input=stdin, capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode != 0:
        raise BenchError(f"fairhub {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def token_header(env: Mapping[str, str], role: str) -> dict[str, str]:
    """Create a user with ``role`` and a long-life token; return its Authorization header."""
    email = f"bench-{role}@example.org"
    fairhub_cli(env, "users", "create", email, "--role", role, "--approved",
                stdin="bench-password-1\n")
    token = fairhub_cli(env, "tokens", "create", email, "--name", "bench", "--role", role,
                        "--valid-to", "2099-01-01", "--reason", "benchmark")
    return {"Authorization": f"Bearer {token}"}


def describe(label: str, result: Mapping[str, Any]) -> None:
    """Print one line with a run's throughput and p50/p99 latency."""
    print(
        f"{label:<16} {result['requests_per_sec']:9.1f} req/s"
        f"  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
    )


def report(name: str, value: float, baseline: float, target: float | None = None) -> bool:
    """Print value/baseline as a ratio against an optional target; return False if below it."""
    ratio = value / baseline if baseline else 0.0
    line = f"{name}  ratio {ratio:.2f}  ({value:.1f} vs {baseline:.1f} req/s)"
    ok = target is None or ratio >= target
    if target is not None:
        line += f"  target >= {target:.2f}  {'OK' if ok else 'BELOW TARGET'}"
    print(line)
    return ok
