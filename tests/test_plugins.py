"""The plugin host: discovery, order, what plugins declare, and their CLI commands."""
from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from fairhub import Actor, Blueprint, Event, Permission, emit, hookimpl
from fairhub.cli import cli
from fairhub.plugins import PluginError
from fairhub.testing import signed_in
from sample_plugin import SAMPLE


@pytest.fixture
def client(app):
    """Here the test client is signed in as a standard user, who may create sample notes."""
    return signed_in(app)


@pytest.fixture
def sample_entry_point(tmp_path, monkeypatch):
    """Install the sample plugin under the ``fairhub`` entry-point group, as pip would."""
    dist = tmp_path / "site" / "fairhub_sample-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fairhub-sample\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[fairhub]\nnotes = {SAMPLE}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return "notes"


def test_installed_plugins_are_discovered_through_entry_points(make_app, sample_entry_point):
    app = make_app(plugins=None)
    host = app.extensions["fairhub"]
    assert "notes" in host.plugin_names()
    assert host.plugin_names()[-1] == "core"
    assert app.test_client().get("/api/notes").status_code == 200


def test_plugins_setting_chooses_the_enabled_set(make_app, sample_entry_point, monkeypatch):
    monkeypatch.setenv("FAIRHUB_PLUGINS", "")
    assert make_app(plugins=None).extensions["fairhub"].plugin_names() != ["core"]
    app = make_app({"PLUGINS": "notes"}, plugins=None)
    assert app.extensions["fairhub"].plugin_names() == ["notes", "core"]


def test_plugins_setting_can_disable_everything_but_the_core(make_app, sample_entry_point):
    app = make_app(plugins=[])
    assert app.extensions["fairhub"].plugin_names() == ["core"]
    assert app.test_client().get("/api/notes").status_code == 404
    assert app.test_client().get("/api/health").status_code == 200


class Recorder:
    """A plugin object whose hooks note the order they ran in."""

    def __init__(self, name: str, calls: list):
        self.FAIRHUB_PLUGIN_NAME = name
        self.calls = calls

    @hookimpl
    def fairhub_init_app(self, app):
        self.calls.append(self.FAIRHUB_PLUGIN_NAME)


def test_plugin_hooks_run_in_the_configured_order(make_app):
    calls: list = []
    make_app(plugins=[Recorder("first", calls), Recorder("second", calls)])
    assert calls == ["first", "second"]


def test_unknown_plugin_stops_start_up_naming_it(make_app):
    with pytest.raises(PluginError, match="'nope' is not installed"):
        make_app(plugins=["nope"])
    with pytest.raises(PluginError, match="cannot be imported"):
        make_app(plugins=["no.such.module"])


def test_plugin_enabled_twice_stops_start_up(make_app):
    with pytest.raises(PluginError, match="enabled twice"):
        make_app(plugins=[SAMPLE, SAMPLE])


class Declares:
    def __init__(self, name, permissions=(), config=None, blueprint=None, command=None):
        self.FAIRHUB_PLUGIN_NAME = name
        self._permissions, self._config = list(permissions), config or {}
        self._blueprint, self._command = blueprint, command

    @hookimpl
    def fairhub_permissions(self):
        return self._permissions

    @hookimpl
    def fairhub_config_defaults(self):
        return self._config

    @hookimpl
    def fairhub_blueprints(self):
        return [self._blueprint] if self._blueprint else []

    @hookimpl
    def fairhub_commands(self, cli):
        if self._command:
            cli.command(self._command)(lambda: None)


@pytest.mark.parametrize(
    "other, message",
    [
        (Declares("x", permissions=[Permission("notes/create", "again")]),
         "Permission 'notes/create' of plugin 'x' is already declared by plugin 'notes'"),
        (Declares("x", config={"NOTES_MAX_LENGTH": 1}),
         "Config key 'NOTES_MAX_LENGTH' of plugin 'x' is already declared by plugin 'notes'"),
        (Declares("x", config={"MAX_PAGE_SIZE": 1}),
         "Config key 'MAX_PAGE_SIZE' of plugin 'x' is already declared by plugin 'core'"),
        (Declares("x", blueprint=Blueprint("notes", __name__)),
         "Blueprint 'notes' of plugin 'x' is already registered by plugin 'notes'"),
        (Declares("x", command="notes-count"), "Command 'notes-count' of plugin 'x'"),
        (Declares("x", command="db"), "Command 'db' of plugin 'x'"),
    ],
)
def test_duplicate_declarations_stop_start_up(make_app, other, message):
    with pytest.raises(PluginError, match=message):
        make_app(plugins=[SAMPLE, other])


def test_permission_names_must_be_category_slash_action():
    with pytest.raises(ValueError, match="category/action"):
        Permission("Create Things", "bad")


def test_plugin_permissions_and_config_defaults_reach_the_app(make_app):
    app = make_app({"NOTES_MAX_LENGTH": 7})
    host = app.extensions["fairhub"]
    assert host.permissions["notes/create"].default_roles == ("standard",)
    assert host.permission_owners["notes/create"] == "notes"
    assert app.config["NOTES_MAX_LENGTH"] == 7  # an operator's value beats the default
    response = signed_in(app).post("/api/notes", json={"code": "a", "text": "12345678"})
    assert response.status_code == 422


def test_plugin_event_listener_receives_events(app, client):
    client.post("/api/notes", json={"code": "n", "text": "t"})
    assert app.extensions["notes"]["events"][-1] == "note.create"


class Failing:
    FAIRHUB_PLUGIN_NAME = "failing"

    @hookimpl
    def fairhub_event(self, event):
        raise RuntimeError("listener bug")


def test_a_failing_listener_does_not_stop_the_others(make_app, caplog):
    app = make_app(plugins=[Failing(), SAMPLE])
    with app.test_request_context():
        emit(Event("thing", "happen"))
    assert app.extensions["notes"]["events"] == ["thing.happen"]
    assert "Listener failing failed on event thing.happen" in caplog.text


class Authenticates:
    """A plugin answering for requests that carry its own header, and only those."""

    FAIRHUB_PLUGIN_NAME = "header-auth"

    @hookimpl
    def fairhub_authenticate(self, request):
        if request.headers.get("X-Robot") != "r2":
            return None
        return Actor(user_id=1, profile={}, permissions=frozenset({"users/read"}), via="robot")


def test_a_plugin_authenticates_before_the_core(make_app):
    client = make_app(plugins=[Authenticates()]).test_client()
    assert client.get("/api/users", headers={"X-Robot": "r2"}).status_code == 200
    assert client.get("/api/users").status_code == 401
    assert client.get("/api/users", headers={"X-Robot": "r2", "Authorization": "Bearer x"}
                      ).status_code == 200


def run_cli(args, env):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


@pytest.fixture
def cli_env(tmp_path, empty_database_url):
    return {
        "FAIRHUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "FAIRHUB_DATABASE_URL": empty_database_url,
        "FAIRHUB_PLUGINS": SAMPLE,
    }


def test_plugins_command_lists_each_plugin_and_its_hooks(cli_env):
    result = run_cli(["plugins", "--json"], cli_env)
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["notes"]["module"] == SAMPLE
    assert rows["notes"]["hooks"] == [
        "fairhub_blueprints", "fairhub_commands", "fairhub_config_defaults", "fairhub_event",
        "fairhub_init_app", "fairhub_permissions",
    ]
    assert "fairhub_blueprints" in rows["core"]["hooks"]
    table = run_cli(["plugins"], cli_env).output
    assert "notes" in table and "fairhub_commands" in table


def test_plugin_command_runs_under_the_fairhub_cli(cli_env):
    assert run_cli(["db", "upgrade"], cli_env).exit_code == 0
    result = run_cli(["notes-count"], cli_env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0"
    assert "notes-count" in run_cli(["--help"], cli_env).output


def test_routes_command_lists_plugin_routes(cli_env):
    output = run_cli(["routes"], cli_env).output
    assert "/api/notes" in output and "/api/health" in output


def test_a_module_level_plugin_in_a_new_package_needs_no_core_change(tmp_path, make_app,
                                                                     monkeypatch):
    package = tmp_path / "pkgs" / "hello_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent('''
        from flask.views import MethodView
        from fairhub import Blueprint, hookimpl

        blp = Blueprint("hello", __name__, url_prefix="/api/hello")

        @blp.route("")
        class Hello(MethodView):
            @blp.public
            @blp.response(200)
            def get(self):
                """Say hello."""
                return {"hello": "world"}

        @hookimpl
        def fairhub_blueprints():
            return [blp]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    client = make_app(plugins=["hello_plugin"]).test_client()
    assert client.get("/api/hello").get_json() == {"hello": "world"}


def test_a_route_that_says_neither_public_nor_a_permission_stops_start_up(make_app, tmp_path,
                                                                          monkeypatch):
    package = tmp_path / "pkgs" / "open_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent('''
        from flask.views import MethodView
        from fairhub import Blueprint, hookimpl

        blp = Blueprint("open", __name__, url_prefix="/api/open")

        @blp.route("")
        class Open(MethodView):
            @blp.response(200)
            def get(self):
                """Forgot to say who may call this."""
                return {}

        @hookimpl
        def fairhub_blueprints():
            return [blp]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    with pytest.raises(PluginError, match="GET /api/open"):
        make_app(plugins=["open_plugin"])
