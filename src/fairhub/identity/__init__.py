"""Identity: users, groups, roles, sessions, API tokens and the audit log.

It has a plugin's rooms: ``views/`` (thin routes, a module per resource), ``schemas.py``,
``service/`` (the logic, a module per resource), ``models.py`` and ``cli.py``, with
``authn.py`` checking each request's credentials and permissions. Its hook implementations
are the core's own, in :mod:`fairhub.core`.
"""
