"""Migrations: ``fairhub db upgrade`` builds the schema of the core and every enabled plugin."""
from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from fairhub import db
from fairhub.cli import cli
from fairhub.migrations import enabled_tables, modelled, version_locations
from fairhub.testing import every_plugin, signed_in
from sample_plugin import SAMPLE


def upgrade(tmp_path, database_url, plugins=SAMPLE):
    env = {"FAIRHUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "FAIRHUB_DATABASE_URL": database_url, "FAIRHUB_PLUGINS": plugins}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_upgrade_creates_each_enabled_plugins_tables(tmp_path, empty_database_url, make_app):
    upgrade(tmp_path, empty_database_url)
    app = make_app(create_tables=False)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"sample_notes", "alembic_version"} <= tables
        heads = MigrationContext.configure(db.engine.connect()).get_current_heads()
        assert set(heads) == {"core_0003", "notes_0001"}  # the core's head and the plugin's
    assert signed_in(app).post("/api/notes", json={"code": "a", "text": "b"}).status_code == 201


def test_upgrade_is_idempotent(tmp_path, empty_database_url):
    upgrade(tmp_path, empty_database_url)
    upgrade(tmp_path, empty_database_url)


def test_migrated_schema_matches_the_models(tmp_path, empty_database_url, make_app):
    """Every plugin's migrations build exactly what its models declare."""
    upgrade(tmp_path, empty_database_url, plugins=",".join(every_plugin(SAMPLE)))
    app = make_app(create_tables=False, plugins=every_plugin(SAMPLE))
    with app.app_context(), db.engine.connect() as connection:
        tables = enabled_tables(app)
        assert {"sample_notes", "datasets", "search_documents"} <= tables
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_object": lambda obj, name, kind, reflected, other: (
                (kind != "table" or name in tables)
                and modelled(obj, name, kind, reflected, other)),
        })
        assert compare_metadata(context, db.metadata) == []


def test_only_enabled_plugins_contribute_revisions(make_app):
    with make_app(plugins=[]).app_context() as ctx:
        assert len(version_locations(ctx.app)) == 1
    app = make_app()
    assert any(path.endswith("sample_plugin/migrations") for path in version_locations(app))


ROOT = Path(__file__).parent.parent
REVISIONS = sorted([*ROOT.glob("src/fairhub/migrations/versions/*.py"),
                    *ROOT.glob("plugins/*/migrations/*.py"),
                    *ROOT.glob("tests/sample_plugin/migrations/*.py")])


def imported(path: Path) -> set[str]:
    """The modules a Python file imports, wherever it imports them."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_no_revision_imports_fairhub():
    """A revision is frozen: it carries what it needs, so that changing the models or a
    plugin's code never changes what an old revision does."""
    assert len(REVISIONS) >= 9  # the core's, every built-in plugin's and the sample's
    importing = {str(path.relative_to(ROOT)): sorted(
        name for name in imported(path)
        if name.split(".")[0].startswith("fairhub") or name.startswith("."))
        for path in REVISIONS}
    assert {path: names for path, names in importing.items() if names} == {}
