"""The app factory: where configuration comes from, the secret key, the database URL."""
from __future__ import annotations

import stat

import pytest

from fairhub import create_app
from fairhub.config import database_url


def test_config_precedence_defaults_instance_environment_test_config(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "DEFAULT_PAGE_SIZE = 10\nMAX_PAGE_SIZE = 50\nLOG_LEVEL = 'WARNING'\n"
        "SECRET_KEY = 'from-instance'\n"
    )
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FAIRHUB_MAX_PAGE_SIZE", "60")
    monkeypatch.setenv("FAIRHUB_LOG_LEVEL", "ERROR")
    app = create_app({"LOG_LEVEL": "DEBUG"}, plugins=[])
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024  # default
    assert app.config["DEFAULT_PAGE_SIZE"] == 10  # instance config
    assert app.config["MAX_PAGE_SIZE"] == 60  # environment, parsed as JSON
    assert app.config["LOG_LEVEL"] == "DEBUG"  # test config
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.instance_path == str(instance)


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FAIRHUB_DATABASE_URL", raising=False)
    app = create_app(plugins=[])
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'fairhub.db'}"


def test_database_url_from_environment_uses_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("FAIRHUB_DATABASE_URL", "postgres://u@db.example/fh")
    app = create_app(plugins=[])
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/fh"


@pytest.mark.parametrize("url", ["postgresql://u@h/d", "postgres://u@h/d",
                                 "postgresql+psycopg://u@h/d"])
def test_postgres_urls_are_normalised(url):
    class App:
        config = {"DATABASE_URL": url}
        instance_path = "/nowhere"

    assert database_url(App) == "postgresql+psycopg://u@h/d"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FAIRHUB_SECRET_KEY", raising=False)
    first = create_app(plugins=[]).config["SECRET_KEY"]
    second = create_app(plugins=[]).config["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".secret_key")]


def test_secret_key_from_environment_wins_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("FAIRHUB_SECRET_KEY", "k" * 40)
    assert create_app(plugins=[]).config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_empty_secret_key_file_stops_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FAIRHUB_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        create_app(plugins=[])


def test_the_app_creates_no_tables_behind_the_migrations_back(make_app, empty_database_url):
    from sqlalchemy import inspect

    from fairhub import db

    app = make_app(create_tables=False)
    app.test_client().get("/api/health")
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(make_app, fairhub_backend):
    if fairhub_backend != "sqlite":
        pytest.skip("SQLite pragmas")
    from fairhub import db

    with make_app().app_context():
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") >= 1000


def test_strings_gives_a_list_of_strings_as_it_is_and_serializes_anything_else():
    import marshmallow as ma

    from fairhub.api import Strings

    class Listing(ma.Schema):
        names = Strings(allow_none=True)

    assert Listing().dump({"names": ("a", "b")}) == {"names": ["a", "b"]}
    assert Listing().dump({"names": ["a", 2]}) == {"names": ["a", "2"]}
    assert Listing().dump({"names": None}) == {"names": None}
