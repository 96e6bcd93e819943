"""The ``fairhub`` command group: its version, its options, how it tells errors, its lists."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from fairhub import ValidationError, __version__, hookimpl
from fairhub.cli import cli

from sample_plugin import SAMPLE


@pytest.fixture
def fairhub_plugins():
    """Two built-in plugins (installed entry points) and one enabled by module path."""
    return ["datasets", "search", SAMPLE]


def test_version_names_fairhub_and_each_enabled_plugin(fairhub_command):
    lines = fairhub_command("--version").splitlines()
    assert re.fullmatch(rf"fairhub {re.escape(__version__)} \(Python 3\.\d+\.\d+\S*\)", lines[0])
    # Built-in plugins share the distribution's version; the sample plugin declares none.
    assert [line.split() for line in lines[1:]] == [
        ["datasets", __version__], ["search", __version__], ["notes", "unknown"]]


def test_version_of_a_plugin_that_cannot_load_is_a_clean_error():
    result = CliRunner().invoke(cli, ["--version"], env={"FAIRHUB_PLUGINS": "nope"})
    assert result.exit_code == 1
    assert result.stdout.startswith(f"fairhub {__version__} ")
    assert result.stderr.startswith("Error: The enabled plugins cannot be loaded: Plugin "
                                    "'nope' is not installed")


def test_help_offers_only_options_that_work(fairhub_command):
    text = fairhub_command("--help")
    options = text.split("Options:")[1].split("Commands:")[0]
    assert re.findall(r"^  (-\S+|--\S+)", options, flags=re.M) == ["--version", "--help"]
    for flask_only in ("--env-file", "-e,", "--app", "-A,", "--debug", "Flask", "dotenv"):
        assert flask_only not in text
    assert "serve" in text and "notes-count" in text  # the core's and a plugin's commands


@pytest.mark.parametrize("args", [["-A", "wsgi:app", "routes"], ["-e", ".env", "routes"],
                                  ["--debug", "routes"]], ids=["app", "env-file", "debug"])
def test_flask_only_options_are_refused(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert f"No such option '{args[0]}'" in result.stderr


class Refusing:
    """A plugin whose command meets a service's refusal, with details."""

    FAIRHUB_PLUGIN_NAME = "refusing"

    @hookimpl
    def fairhub_commands(self, cli):
        @cli.command("refuse")
        def refuse():
            raise ValidationError("The thing is not valid.", details={"json": {
                "name": ["The thing is not valid."],
                "things": {"2": ["Too long.", "Not a word."]}, "code": "x1"},
                "missing": ["a/b", "c/d"]})


def test_a_service_refusal_is_an_error_sentence_with_readable_details(make_app):
    app = make_app(plugins=[SAMPLE, Refusing()])
    result = CliRunner().invoke(cli, ["refuse"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: The thing is not valid.",
        "  things.2: Too long. Not a word.",
        "  code: x1",
        "  missing: a/b, c/d",
    ]


def test_plugins_lists_under_a_header_row(fairhub_cli):
    lines = fairhub_cli("plugins").stdout.splitlines()
    assert re.split(r" {2,}", lines[0]) == ["PLUGIN", "MODULE", "HOOKS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ["datasets", "search", "notes", "core"]
    hooks_at = lines[0].index("HOOKS")
    assert all(line[hooks_at - 2:hooks_at] == "  " and line[hooks_at] != " "
               for line in lines[1:])
    assert "fairhub_commands" in rows["notes"][hooks_at:]
