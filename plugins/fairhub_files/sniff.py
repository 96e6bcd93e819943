"""A stored file's content type, read from its first bytes rather than taken from the client."""
from __future__ import annotations

import filetype

HEAD_BYTES = 8192
# Text files by extension; anything else that is text is text/plain. Types a browser would run
# (HTML, SVG) are never derived from a name.
TEXT_TYPES = {"csv": "text/csv", "tsv": "text/tab-separated-values", "json": "application/json",
              "md": "text/markdown", "txt": "text/plain"}
BINARY = "application/octet-stream"


def sniff(head: bytes, filename: str) -> str:
    """The content type of a file starting with ``head``, named ``filename``."""
    guessed = filetype.guess(head) if head else None
    if guessed is not None:
        return guessed.mime
    if _is_text(head):
        extension = filename.rpartition(".")[2].lower() if "." in filename else ""
        return TEXT_TYPES.get(extension, "text/plain")
    return BINARY


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A character cut at the end of the sample is still text.
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True
