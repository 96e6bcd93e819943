"""What the requests plugin's tests and fixtures share: request answers, dataset bodies."""
from __future__ import annotations

ANSWERS = {"project": {"project_name": "Asthma phenotypes"}, "about": {"position": "Fellow"}}


def dataset_body(code: str, tables: int = 2, workflow: str | None = "basic_access_request",
                 visibility: str = "internal", rights: str | None = None) -> dict:
    catalogue = {"id": code, "title": f"Dataset {code}", "description": "Made up.",
                 "versionInfo": "2.1"}
    if rights:
        catalogue["rights"] = rights
    return {"catalogue": catalogue, "visibility": visibility, "workflow_key": workflow,
            "dictionaries": [{"code": f"{code}_t{i}", "name": f"Table {i}", "fields": [
                {"name": "id", "label": "Id", "type": "integer"}], "lookups": {}}
                for i in range(1, tables + 1)]}
