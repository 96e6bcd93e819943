"""The markdown receipt of an approved request."""
from __future__ import annotations

from fairhub import Conflict, timestamp
from fairhub_datasets import Dataset

from .models import AccessRequest


def receipt(request: AccessRequest, presented: dict, dataset: Dataset, base_url: str) -> str:
    """The receipt of ``request`` (``presented`` is its API answer) as markdown; 409 unless
    it was approved."""
    approvals = [h for h in presented["history"] if h["action"] == "approve"]
    if request.status != "approved" or not approvals:
        raise Conflict(f"Request {request.code!r} is {request.status}; only approved requests "
                       "have a receipt.")
    catalogue = dataset.catalogue or {}
    link = catalogue.get("identifier") or f"{base_url.rstrip('/')}/api/datasets/{dataset.code}"
    requester = presented["requester"] or {}
    lines = [
        f"# Access request receipt: {request.code}", "",
        f"- **Dataset:** {_plain(dataset.name)} ({dataset.code})",
        f"- **Version:** {_plain(catalogue.get('versionInfo') or 'not stated')}",
        f"- **Link:** <{link}>",
        f"- **Request:** {request.code}",
        f"- **Project:** {_plain(request.project_name or '')}",
        f"- **Requester:** {_plain(requester.get('name') or '')} <{requester.get('email', '')}>",
        f"- **Output:** {request.output}",
        f"- **Requested:** {timestamp(request.submitted_at)}",
        f"- **Approved:** {timestamp(approvals[-1]['created_at'])}",
        "", "## Dictionaries", "",
        *[f"- {_plain(d['name'])} ({d['code']})" for d in presented["dictionaries"]],
        "", "## Attachments", "",
        *([f"- {_plain(a['filename'])}" for a in request.attachments] or ["- none"]),
    ]
    return "\n".join(lines) + "\n"


def _plain(text: object) -> str:
    """``text`` on one line, its markdown characters escaped."""
    value = " ".join(str(text).split())
    for char in "\\`*[]<>#|":
        value = value.replace(char, "\\" + char)
    return value
