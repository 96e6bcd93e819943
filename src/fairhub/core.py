"""The core's own hook implementations, registered before every plugin and run last."""
from __future__ import annotations

from fairhub import health
from fairhub.hookspecs import hookimpl


@hookimpl(trylast=True)
def fairhub_blueprints():
    return [health.blp]
