"""The demo plugin's hook implementations: the ``fairhub demo`` command, nothing else."""
from __future__ import annotations

from fairhub import hookimpl

FAIRHUB_PLUGIN_NAME = "demo"


@hookimpl
def fairhub_commands(cli):
    from .cli import demo

    cli.add_command(demo)
