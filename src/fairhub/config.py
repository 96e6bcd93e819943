"""Core configuration: the defaults, where values come from, and the secret key.

Values are read in this order, later ones winning: the defaults below, then
``<instance>/config.py``, then ``FAIRHUB_*`` environment variables (``FAIRHUB_MAX_PAGE_SIZE=50``
sets ``MAX_PAGE_SIZE``; values are parsed as JSON when they parse), then the ``test_config``
given to :func:`fairhub.create_app`. Plugin defaults (``DATASETS_*``...) fill in what is still
unset.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "FAIRHUB"


@dataclass(frozen=True)
class Setting:
    """One configuration key, its default and a one-sentence description."""

    name: str
    default: Any
    doc: str


CORE_SETTINGS = [
    Setting("INSTANCE_PATH", None, "Instance folder for config, secrets and the SQLite files "
            "(environment only; default `instance/` in the working directory, beside `wsgi.py`)."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL of the database; default a SQLite file "
            "`fairhub.db` in the instance folder. `postgresql://...` uses psycopg 3."),
    Setting("SECRET_KEY", None, "Key that signs session tokens; default read from "
            "`<instance>/secret_key`, generated there on first start."),
    Setting("PLUGINS", None, "Comma-separated plugins to enable, in order (entry-point names "
            "or `module.path`); default every installed plugin."),
    Setting("MAX_CONTENT_LENGTH", 5 * 1024 * 1024, "Largest request body in bytes; "
            "larger bodies get 413."),
    Setting("DEFAULT_PAGE_SIZE", 25, "Items per page of a list when `page_size` is not given."),
    Setting("MAX_PAGE_SIZE", 200, "Largest `page_size` a list honours; larger asks are capped."),
    Setting("LOG_FORMAT", "text", "`text` or `json` (one JSON object a line, with the request id)."),
    Setting("LOG_LEVEL", "INFO", "Level of the `fairhub` loggers."),
    Setting("TRUSTED_PROXIES", 0, "How many reverse-proxy hops in front of fairhub to trust "
            "for `X-Forwarded-For`; 0 uses the socket peer, so forged headers are ignored."),
    Setting("PUBLIC_MODE", False, "Let anonymous callers in with the `guest` role "
            "(public datasets only)."),
    Setting("USERS_AUTO_APPROVE", False, "Approve new users on creation."),
    Setting("USERS_DEFAULT_ROLE", "standard", "Role of a new user when none is given."),
    Setting("AUTH_SESSION_MINUTES", 60, "Lifetime of a session access token from login."),
    Setting("AUTH_LOGIN_MAX_FAILURES", 5, "Failed logins for one email before it is locked."),
    Setting("AUTH_LOGIN_MAX_FAILURES_PER_IP", 50, "Failed logins from one address before "
            "it is locked."),
    Setting("AUTH_LOGIN_WINDOW_SECONDS", 900, "Window in which failed logins are counted."),
    Setting("AUTH_LOGIN_LOCKOUT_SECONDS", 900, "How long a locked email or address must wait "
            "(429 with Retry-After)."),
    Setting("AUTH_PASSWORD_TIME_COST", 3, "Argon2id passes per password hash."),
    Setting("AUTH_PASSWORD_MEMORY_KIB", 65536, "Argon2id memory per password hash, in KiB."),
    Setting("TOKENS_MAX_LIFETIME_DAYS", 365, "Longest life of an API token; later `valid_to` "
            "dates are capped to it."),
    Setting("TOKENS_CACHE_SECONDS", 1.0, "How long each worker reuses a passed check of a "
            "reusable API token (the token, its owner, their roles and groups) before reading "
            "it again: a token revoked, an owner archived or a role or group edited through "
            "another worker counts here within this time; 0 reads at every request."),
    Setting("TOKENS_USAGE_FLUSH_SECONDS", 1.0, "How often each worker writes API tokens' "
            "use counts and last use; 0 writes on every use."),
    Setting("ADMIN_EMAIL", "admin@example.org", "Email of the administrator `fairhub init` "
            "creates on an empty instance."),
    Setting("JOBS_URL", None, "Where the job queue lives: default a SQLite file `jobs.db` in "
            "the instance folder; `redis://host:6379/0` for one queue shared by several hosts."),
    Setting("JOBS_QUEUE", "fairhub", "Name of the job queue; instances sharing one Redis "
            "server need different names."),
    Setting("JOBS_IN_PROCESS", True, "Run jobs on threads of each web process; turn off where "
            "`fairhub worker` runs them."),
    Setting("JOBS_WORKERS", 2, "Threads that run jobs, in each web process or in "
            "`fairhub worker`."),
    Setting("JOBS_POLL_SECONDS", 1.0, "Longest wait between two looks at an idle SQLite queue "
            "(Redis wakes at once)."),
    Setting("JOBS_PERIODIC", True, "Let this process's job threads (or `fairhub worker`) queue "
            "periodic jobs when due; each due run is claimed in the database, so it runs once "
            "however many processes look."),
]


def apply_core_defaults(app: Flask) -> None:
    """Put the core defaults and the Flask settings fairhub relies on into ``app.config``."""
    for setting in CORE_SETTINGS:
        app.config[setting.name] = setting.default
    app.config.update(
        API_TITLE="fairhub",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs/",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
    )


def load_config(app: Flask, test_config: dict | None) -> None:
    """Apply defaults, the instance ``config.py``, the environment, then ``test_config``."""
    apply_core_defaults(app)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(ENV_PREFIX)
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def database_url(app: Flask) -> str:
    """The configured database URL, normalised so PostgreSQL uses the psycopg 3 driver."""
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "fairhub.db")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance: Path) -> str:
    """Read ``<instance>/secret_key``, creating it with a random key if it does not exist.

    The key is written to a private temporary file and hard-linked into place, so workers
    starting at once agree on one key and never read a half-written file.
    """
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"The secret key file {path} is empty; delete it to make a new one.")
    return key


def plugin_list(value: Any) -> list[str] | None:
    """Parse the ``PLUGINS`` setting: a comma-separated string or a list; None for all."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]
