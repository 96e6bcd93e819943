"""Tables as ``db.create_all()`` makes them, handed to the next test instead of made again.

Making the tables is a large share of what a short test costs, most of all on PostgreSQL
(about 0.1 s of DDL, and 25 ms to drop the schema after). What ``create_all`` makes depends
only on the models imported so far and the DDL listeners on their tables, so the tables made
for one test can stand in for another's when that :func:`signature` is the same:

- SQLite: the first database ``create_all`` makes for a signature is copied (SQLite's backup
  API, before the test touches it); a later test whose database file does not exist yet
  gets a copy of it, then ``create_all`` runs as before and finds every table there.
- PostgreSQL: a finished test's schema is kept for the next test when it is provably as
  ``create_all`` left it but for rows: the catalog's account of it (tables, columns, types,
  defaults, constraints, indexes, sequences, triggers, rules, row security, functions, text
  search objects) matches the one taken when it was made, and no connection made for it is
  busy or in a transaction (idle ones the test left behind are ended). Its rows are
  deleted, the rows ``create_all`` itself wrote are put back and its sequences reset; then
  it takes the place of the next test's (empty) schema, under that schema's name. Otherwise
  it is dropped, as it always was.

A test's database is still empty until its first ``make_app()`` (tests that migrate or
check for no tables see the same empty database), and nothing a test wrote is seen by the
next: the tables it gets hold exactly what ``create_all`` would have given it.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fairhub.testing import connection_name, drop_schema

# Schemas kept per signature; one is enough when tests take and give back one at a time.
KEEP_PER_SIGNATURE = 2

# What a schema holds, as the catalog tells it, named without the schema (so that two
# schemas made alike read the same). NULL for a schema that holds nothing.
FINGERPRINT = """
SELECT md5(string_agg(replace(part, :schema || '.', ''), '|' ORDER BY part)) FROM (
  SELECT concat_ws(':', 'c', c.relname, c.relkind) AS part
  FROM pg_class c WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'a', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = CAST(:schema AS regnamespace) AND a.attnum > 0
    AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(':', 'k', conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'i', pg_get_indexdef(i.indexrelid))
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 't', pg_get_triggerdef(t.oid), t.tgenabled)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = CAST(:schema AS regnamespace) AND NOT t.tgisinternal
  UNION ALL
  SELECT concat_ws(':', 'p', p.proname, pg_get_function_identity_arguments(p.oid),
                   md5(p.prosrc))
  FROM pg_proc p WHERE p.pronamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'm', c.cfgname, m.maptokentype, m.mapseqno, m.mapdict::regdictionary)
  FROM pg_ts_config c LEFT JOIN pg_ts_config_map m ON m.mapcfg = c.oid
  WHERE c.cfgnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'd', dictname, dictinitoption)
  FROM pg_ts_dict WHERE dictnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'y', typname, typtype)
  FROM pg_type WHERE typnamespace = CAST(:schema AS regnamespace) AND typtype NOT IN ('b', 'c')
  UNION ALL
  SELECT concat_ws(':', 's', c.relname, s.seqtypid, s.seqstart, s.seqincrement, s.seqmax,
                   s.seqmin, s.seqcache, s.seqcycle)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
  WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'r', c.relname, r.rulename, pg_get_ruledef(r.oid))
  FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
  WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
  SELECT concat_ws(':', 'l', c.relname, c.relrowsecurity, p.polname, p.polcmd,
                   pg_get_expr(p.polqual, p.polrelid))
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
  WHERE c.relnamespace = CAST(:schema AS regnamespace) AND (c.relrowsecurity OR p.oid IS NOT NULL)
) parts
"""


def signature() -> tuple:
    """What ``db.create_all()`` would make now: the tables of the models imported so far and
    the DDL listeners on them and on their metadata."""
    from fairhub import db

    def name(fn) -> str:
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"

    def listeners(target) -> tuple:
        return tuple(name(fn) for event in (
            target.dispatch.before_create, target.dispatch.after_create) for fn in event)

    return (listeners(db.metadata),
            *((name, listeners(table)) for name, table in sorted(db.metadata.tables.items())))


class Pristine:
    """A PostgreSQL schema as ``create_all`` left it: its fingerprint, the rows it wrote, the
    state of its sequences, and the order in which its tables can be emptied."""

    def __init__(self, connection, schema: str) -> None:
        from fairhub import db

        self.fingerprint = fingerprint(connection, schema)
        tables = list(db.metadata.sorted_tables)
        self.delete_order = [t.name for t in reversed(tables)]
        self.rows = {}
        for table in tables:
            rows = connection.execute(table.select()).mappings().all()
            if rows:
                self.rows[table] = [dict(row) for row in rows]
        self.sequences = connection.execute(text(
            "SELECT sequencename, start_value, last_value FROM pg_sequences "
            "WHERE schemaname = :schema"), {"schema": schema}).all()

    def restore(self, connection) -> None:
        """Empty the tables of the schema on the search path and put back what
        ``create_all`` left in them."""
        for name in self.delete_order:
            connection.execute(text(f'DELETE FROM "{name}"'))
        for table, rows in self.rows.items():
            connection.execute(table.insert(), rows)
        for name, start, last in self.sequences:
            connection.execute(text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                               {"name": f'"{name}"', "value": start if last is None else last,
                                "called": last is not None})


def fingerprint(connection, schema: str) -> str | None:
    """The schema's FINGERPRINT (None when it holds nothing)."""
    return connection.execute(text(FINGERPRINT), {"schema": schema}).scalar()


class FreshTables:
    """This worker's tables to hand out: SQLite template files, PostgreSQL kept schemas."""

    def __init__(self, directory, postgres_run_url: str | None) -> None:
        self.directory = directory
        self.templates: dict[tuple, str] = {}  # SQLite: signature -> template file
        self.pristine: dict[tuple, Pristine] = {}  # PostgreSQL: signature -> as made
        self.kept: dict[tuple, list[str]] = {}  # PostgreSQL: signature -> kept schemas
        self.made: dict[str, tuple] = {}  # PostgreSQL: test schema -> signature it was made to
        # One engine for statements of their own, one for what must happen all or not at all.
        self.admin = (create_engine(postgres_run_url, isolation_level="AUTOCOMMIT")
                      if postgres_run_url else None)
        self.engine = create_engine(postgres_run_url) if postgres_run_url else None

    # The test's database

    def create_all(self, database_url: str) -> None:
        """``db.create_all()`` in the current app, on ``database_url`` (this test's database),
        from kept tables when there are some for the current signature."""
        from fairhub import db

        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            self._create_all_sqlite(url.database)
            return
        schema = url.query["options"].removeprefix("-csearch_path=")
        key = signature()
        if self._take_kept(key, schema):
            db.create_all()  # finds every table there, as the next tests would
            self.made[schema] = key
            return
        with self.admin.connect() as connection:
            empty = fingerprint(connection, schema) is None
        db.create_all()
        if empty:  # made from nothing: as create_all leaves it, so it may be kept after
            self.made[schema] = key
            if key not in self.pristine:
                engine = create_engine(database_url)
                try:
                    with engine.connect() as connection:
                        self.pristine[key] = Pristine(connection, schema)
                finally:
                    engine.dispose()

    def _create_all_sqlite(self, path: str) -> None:
        from fairhub import db

        key = signature()
        new = not os.path.exists(path)
        if new and key in self.templates:
            shutil.copyfile(self.templates[key], path)
        db.create_all()
        if new and key not in self.templates:
            template = os.path.join(self.directory, f"tables-{len(self.templates)}.db")
            source, target = sqlite3.connect(path), sqlite3.connect(template)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            self.templates[key] = template

    def _take_kept(self, key: tuple, schema: str) -> bool:
        """Put a kept schema made to ``key`` in the place of the empty ``schema``."""
        kept = self.kept.get(key)
        if not kept:
            return False
        name = kept.pop()
        with self.engine.connect() as connection:
            try:
                with connection.begin():
                    # No CASCADE: a schema that is not empty any more keeps its place.
                    connection.execute(text(f'DROP SCHEMA "{schema}"'))
                    connection.execute(text(f'ALTER SCHEMA "{name}" RENAME TO "{schema}"'))
            except Exception:
                kept.append(name)
                return False
        return True

    def release(self, schema: str) -> None:
        """At the end of a test: keep its schema for the next if it may be, else drop it."""
        key = self.made.pop(schema, None)
        pristine = self.pristine.get(key)
        if pristine is not None and len(self.kept.get(key, ())) < KEEP_PER_SIGNATURE:
            name = f"kept_{uuid.uuid4().hex[:12]}"
            try:
                with self.engine.begin() as connection:
                    connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                    # What follows names the schema's tables and sequences unqualified.
                    connection.execute(text(f'SET LOCAL search_path = "{schema}"'))
                    # A connection the test left open and busy, or in a transaction, means
                    # the schema is not kept; idle ones are ended (had the schema been
                    # dropped, they would have had nothing to work on either).
                    others = ("FROM pg_stat_activity WHERE application_name = :name"
                              " AND pid <> pg_backend_pid()")
                    about = {"name": connection_name(schema)}
                    busy = connection.execute(text(
                        f"SELECT count(*) {others} AND state IS DISTINCT FROM 'idle'"),
                        about).scalar()
                    if busy or fingerprint(connection, schema) != pristine.fingerprint:
                        raise LookupError("not as made")
                    connection.execute(text(f"SELECT pg_terminate_backend(pid) {others}"),
                                       about)
                    pristine.restore(connection)
                    connection.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{name}"'))
            except Exception:
                pass
            else:
                self.kept.setdefault(key, []).append(name)
                return
        with self.admin.connect() as connection:
            drop_schema(connection, schema)

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()  # the kept schemas go with the run's database
            self.engine.dispose()
