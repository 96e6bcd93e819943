"""The README stays true: its tables follow the code."""
from __future__ import annotations

import re
from pathlib import Path

from fairhub import hookspecs
from fairhub.config import CORE_SETTINGS
from fairhub_datasets.config import SETTINGS as DATASETS_SETTINGS
from fairhub_files.config import SETTINGS as FILES_SETTINGS
from fairhub_requests.config import SETTINGS as REQUESTS_SETTINGS
from fairhub_search.config import SETTINGS as SEARCH_SETTINGS

README = (Path(__file__).parent.parent / "README.md").read_text()


def table_column(first_cell_pattern: str) -> set[str]:
    return set(re.findall(rf"^\| `({first_cell_pattern})[`(]", README, flags=re.M))


def test_every_setting_is_in_a_configuration_table():
    documented = table_column(r"FAIRHUB_[A-Z_]+")
    settings = (CORE_SETTINGS + DATASETS_SETTINGS + SEARCH_SETTINGS + FILES_SETTINGS
                + REQUESTS_SETTINGS)
    assert documented == {f"FAIRHUB_{s.name}" for s in settings}


def test_the_hook_table_matches_the_hookspecs():
    specs = {name for name in dir(hookspecs) if name.startswith("fairhub_")}
    assert table_column(r"fairhub_[a-z_]+") == specs


def test_the_quickstart_is_two_make_commands():
    quickstart = README.split("## Quickstart")[1].split("##")[0]
    commands = re.findall(r"^make \w+", quickstart, flags=re.M)
    assert commands == ["make run", "make test"]


def test_the_role_matrices_match_the_permissions(make_app):
    from fairhub.identity.service.roles import managed_permissions

    header = re.search(r"^\| permission \| (.+) \|$", README, flags=re.M).group(1).split(" | ")
    rows = re.findall(r"^\| `([a-z-]+/[a-z-]+)` \| (.*) \|$", README, flags=re.M)
    app = make_app(plugins=None)  # the core and every built-in plugin
    with app.app_context():
        declared = set(app.extensions["fairhub"].permissions)
        assert {name for name, _ in rows} == declared
        for name, cells in rows:
            marks = [cell.strip() == "✓" for cell in cells.split("|")]
            assert marks == [name in managed_permissions(role) for role in header], name


def test_the_license_file_is_the_one_the_package_declares():
    import tomllib

    root = Path(__file__).parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    words = (root / "LICENSE").read_text().split()
    assert words[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "Apache-2.0" in README and "LICENSE" in README
