"""The tus 1.0.0 protocol's headers: what a client sends, parsed strictly, and what we answer.

Only parsing lives here; :mod:`.service` does the work and :mod:`.views` the routing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from datetime import datetime, timezone
from email.utils import format_datetime

from fairhub import ApiError, BadRequest, PreconditionFailed

from .models import FILENAME_LENGTH

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
CONTENT_TYPE = "application/offset+octet-stream"
# Headers the FAIR clients send with an upload; kept with the upload's metadata.
FAIR_HEADERS = {"ARIDHIA-FAIR-Parent-Model-ID": "parent_model_id", "filetype": "filetype"}

MAX_METADATA_PAIRS = 32
MAX_METADATA_VALUE = 4096
_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
MAX_BYTES = 2**63 - 1  # the largest size or offset the databases store


class ChecksumMismatch(ApiError):
    status = 460
    code = "checksum_mismatch"


class Locked(ApiError):
    status = 423
    code = "locked"


class Gone(ApiError):
    status = 410
    code = "gone"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class InsufficientStorage(ApiError):
    status = 507
    code = "insufficient_storage"


class TooLarge(ApiError):
    status = 413
    code = "too_large"


def base_headers() -> dict[str, str]:
    """Headers every tus answer carries."""
    return {"Tus-Resumable": VERSION}


def options_headers(max_size: int) -> dict[str, str]:
    """What OPTIONS advertises."""
    return {"Tus-Version": VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(max_size),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)}


def http_date(moment: datetime) -> str:
    """An RFC 7231 date, as Upload-Expires wants it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def integer_header(headers, name: str) -> int:
    """A required non-negative integer header."""
    value = headers.get(name)
    if value is None:
        raise BadRequest(f"The {name} header is required.")
    if not _DIGITS.match(value.strip()) or int(value) > MAX_BYTES:
        raise BadRequest(f"The {name} header must be an integer from 0 to {MAX_BYTES}, not "
                         f"{value[:40]!r}.")
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode Upload-Metadata: comma-separated ``key base64(value)`` pairs, the value optional."""
    metadata: dict[str, str] = {}
    if not header or not header.strip():
        return metadata
    pairs = header.split(",")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise BadRequest(f"Upload-Metadata may carry at most {MAX_METADATA_PAIRS} pairs.")
    for pair in pairs:
        parts = pair.strip().split(" ")
        key = parts[0]
        if len(parts) > 2 or not _KEY.match(key):
            raise BadRequest("Upload-Metadata must be comma-separated pairs of a key and a "
                             "base64 value separated by one space.")
        if key in metadata:
            raise BadRequest(f"Upload-Metadata names {key!r} twice.")
        metadata[key] = _decode(key, parts[1]) if len(parts) == 2 else ""
    return metadata


def _decode(key: str, value: str) -> str:
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text.") \
            from None
    if len(text) > MAX_METADATA_VALUE:
        raise BadRequest(f"Upload-Metadata value of {key!r} is longer than "
                         f"{MAX_METADATA_VALUE} characters.")
    return text


def encode_metadata(metadata: dict[str, str]) -> str:
    """Upload-Metadata for a HEAD answer."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
                    for key, value in metadata.items())


def parse_checksum(header: str | None):
    """The hasher and expected digest of Upload-Checksum (``<algorithm> <base64 digest>``),
    or None when the header is absent."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise BadRequest(f"Upload-Checksum algorithm {algorithm[:20]!r} is not supported; use "
                         f"one of {', '.join(CHECKSUMS)}.")
    try:
        expected = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum must be an algorithm and a base64 digest.") from None
    return CHECKSUMS[algorithm](), expected


def safe_filename(name: str | None) -> str:
    """A file name fit to show and to offer in a download: its last path segment, normalised,
    without control or format characters, at most 255 characters; "upload" when nothing is left.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if not name:
        return "upload"
    if len(name) > FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[:FILENAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:FILENAME_LENGTH]
    return name


def require_version(headers) -> None:
    """412 unless the client speaks our version of the protocol."""
    if headers.get("Tus-Resumable") != VERSION:
        raise PreconditionFailed(f"Send Tus-Resumable: {VERSION}; it is the version this "
                                 "server speaks.", headers={"Tus-Version": VERSION})
