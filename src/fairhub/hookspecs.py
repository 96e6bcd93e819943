"""The hooks a fairhub plugin can implement.

Hooks are always called with keyword arguments; an implementation may accept fewer arguments
than its specification. Bodies here are documentation only.
"""
from __future__ import annotations

import pluggy

PROJECT = "fairhub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def fairhub_config_defaults():
    """Return a dict of the plugin's configuration defaults, keys carrying the plugin's prefix.

    Defaults are applied with ``setdefault`` after the instance config and the environment, so
    an operator's value always wins. Two plugins declaring the same key stop start-up.
    """


@hookspec
def fairhub_init_app(app):
    """Bind the plugin to a new app: models, extensions, signals, hooks of its own."""


@hookspec
def fairhub_permissions():
    """Return a list of :class:`fairhub.Permission` the plugin checks.

    Names are ``category/action``; a name declared twice stops start-up.
    """


@hookspec
def fairhub_blueprints():
    """Return a list of :class:`fairhub.Blueprint` to mount under ``/api/``.

    Two blueprints with the same name stop start-up.
    """


@hookspec
def fairhub_commands(cli):
    """Add subcommands to the ``fairhub`` command line group ``cli``."""


@hookspec(firstresult=True)
def fairhub_authenticate(request):
    """Return the :class:`fairhub.Actor` making ``request``, or None if the request is not yours.

    The first non-None answer wins. Raise :class:`fairhub.Unauthorized` when the credentials
    are yours to judge but invalid, so that a bad token never falls through to anonymous.
    """


@hookspec
def fairhub_event(event):
    """Receive a domain :class:`fairhub.Event` (a dataset created, a token used...).

    Called inside the transaction of the action, before it commits: add rows to the session to
    have them commit with it. Must not raise; an exception is logged and the next listener runs.
    """


@hookspec
def fairhub_jobs():
    """Return a list of :class:`fairhub.Job`: functions the background workers run.

    ``Job(fn)`` runs when queued with :func:`fairhub.enqueue`; ``Job(fn, schedule=crontab(...))``
    also runs when its schedule (UTC) is due, once per due minute however many processes look.
    A job (named ``module:qualname``) declared twice stops start-up.
    """
