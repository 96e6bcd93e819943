"""What the files plugin's tests share besides fixtures: tus headers, raw HTTP."""
from __future__ import annotations

import base64
import http.client
from pathlib import Path
from urllib.parse import urlparse

EXAMPLES = Path(__file__).parents[1] / "datasets" / "examples"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    """An Upload-Metadata header."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                    for key, value in values.items())


def raw_request(base: str, method: str, path: str, headers: dict) -> tuple[int, list, bytes]:
    """Status, header lines as the server sent them (repeats kept) and body of one request."""
    address = urlparse(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def dates_of_downloads(base: str, path: str, headers: dict, data: bytes, etag: str) -> None:
    """Assert that every kind of answer of download ``path`` (of ``data``, tagged ``etag``)
    carries exactly one Date header."""
    for method, extra, status, body in (
            ("GET", {}, 200, data), ("HEAD", {}, 200, b""),
            ("GET", {"Range": "bytes=10-19"}, 206, data[10:20]),
            ("GET", {"If-None-Match": etag}, 304, b""),
            ("GET", {"Range": f"bytes={len(data) + 10}-"}, 416, None)):
        got, lines, sent = raw_request(base, method, path, {**headers, **extra})
        assert got == status, (method, extra, got, sent[:200])
        dates = [value for name, value in lines if name.lower() == "date"]
        assert len(dates) == 1 and dates[0].endswith(" GMT"), (method, extra, lines)
        if body is not None:
            assert sent == body, (method, extra)
