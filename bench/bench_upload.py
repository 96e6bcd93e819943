"""A large tus upload with tuspy (5 MiB chunks) to fairhub under gunicorn, against a plain
Python loop writing the same bytes to the same disk, with the server's peak memory growth."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

TARGET_RATIO = 0.3
TARGET_GROWTH_MIB = 64
MIB = 1024 * 1024
CHUNK = 5 * MIB
SIZE_MIB = int(os.environ.get("BENCH_UPLOAD_MIB", "1024"))
DATASET = {"code": "bench_upload", "catalogue": {
    "title": "Upload benchmark", "description": "Holds the benchmark's upload.",
    "publisher": {"name": "fairhub"}}}


def make_source(folder: str) -> str:
    """A file of SIZE_MIB MiB of made-up bytes."""
    path = os.path.join(folder, "source.bin")
    block = os.urandom(MIB)
    with open(path, "wb") as file:
        for _ in range(SIZE_MIB):
            file.write(block)
    return path


def plain_copy(source: str, folder: str) -> float:
    """Seconds a Python loop takes to copy ``source`` in 5 MiB chunks, synced at the end."""
    target = os.path.join(folder, "copy.bin")
    start = time.perf_counter()
    with open(source, "rb") as read, open(target, "wb") as write:
        while chunk := read.read(CHUNK):
            write.write(chunk)
        write.flush()
        os.fsync(write.fileno())
    elapsed = time.perf_counter() - start
    os.remove(target)
    return elapsed


def server_pids(port: int) -> list[int]:
    """The gunicorn processes (master and workers) serving ``port``."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in command and f"127.0.0.1:{port}".encode() in command:
            pids.append(int(pid))
    return pids


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class PeakMemory(threading.Thread):
    """Samples the servers' total resident memory until stopped."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, rss_mib(pids), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_mib(self.pids))


def upload(base: str, auth: dict, source: str) -> tuple[float, float, str]:
    """Seconds tuspy takes to upload ``source``, the memory growth, and the stored sha256."""
    from tusclient import client

    pids = server_pids(int(base.rsplit(":", 1)[1]))
    before = rss_mib(pids)
    watch = PeakMemory(pids)
    watch.start()
    tus = client.TusClient(f"{base}/api/files/datasets/{DATASET['code']}/attachments",
                           headers=auth)
    with open(source, "rb") as file:
        uploader = tus.uploader(file_stream=file, chunk_size=CHUNK,
                                metadata={"filename": "source.bin"})
        start = time.perf_counter()
        uploader.upload()
        elapsed = time.perf_counter() - start
    watch.done.set()
    watch.join()
    answer = requests.get(base + "/api/files/uploads/" + uploader.url.rsplit("/", 1)[1],
                          headers=auth, timeout=60).json()
    return elapsed, watch.peak - before, answer["sha256"]


def main() -> int:
    with harness.fresh_instance() as env, tempfile.TemporaryDirectory(
            dir=env["FAIRHUB_INSTANCE_PATH"]) as folder:
        auth = harness.token_header(env, "data-manager")
        source = make_source(folder)
        baseline = plain_copy(source, folder)
        with harness.serve("wsgi:app", env=env) as base:
            created = requests.post(f"{base}/api/datasets", json=DATASET, headers=auth,
                                    timeout=60)
            if created.status_code != 201:
                raise harness.BenchError(f"creating the dataset failed: {created.text}")
            elapsed, growth, digest = upload(base, auth, source)
        expected = _sha256(source)
    if digest != expected:
        raise harness.BenchError("the stored file's sha256 differs from the source's")
    size = SIZE_MIB * MIB
    print(f"plain copy       {size / baseline / MIB:9.1f} MiB/s")
    print(f"tuspy upload     {size / elapsed / MIB:9.1f} MiB/s")
    ratio = baseline / elapsed
    ok_ratio = ratio >= TARGET_RATIO
    print(f"upload/plain  ratio {ratio:.2f}  ({SIZE_MIB} MiB in {elapsed:.1f} s vs "
          f"{baseline:.1f} s)  target >= {TARGET_RATIO:.2f}  "
          f"{'OK' if ok_ratio else 'BELOW TARGET'}")
    ok_memory = growth < TARGET_GROWTH_MIB
    print(f"server memory growth  {growth:.1f} MiB  target < {TARGET_GROWTH_MIB}  "
          f"{'OK' if ok_memory else 'ABOVE TARGET'}")
    return 0 if ok_ratio and ok_memory else 1


def _sha256(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"bench_upload: {exc}", file=sys.stderr)
        sys.exit(1)
