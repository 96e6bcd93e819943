"""What the files plugin's tests share besides fixtures: tus headers."""
from __future__ import annotations

import base64
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "datasets" / "examples"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    """An Upload-Metadata header."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                    for key, value in values.items())
