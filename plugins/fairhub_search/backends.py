"""The full-text index of each database, behind one interface.

- SQLite: an FTS5 table over ``search_documents`` (external content, kept by triggers),
  tokenized with Porter stemming over ``unicode61`` with accents removed; ranked by ``bm25``
  with the configured weights.
- PostgreSQL: a ``tsvector`` column of ``search_entries`` kept by a trigger from the entry's
  document (English stemming over ``unaccent``, stop words kept as SQLite keeps them, each
  kind of text weighted A to D), with a GIN index; ranked by ``ts_rank``. It sits in the
  narrow entries, beside what a search filters and counts by, so a search reads one row per
  match. (Revision search_0001 kept it in ``search_documents``, without stop words.)

Both compile the same query tree (:mod:`.query`) into a condition with bound parameters only,
and answer the entries of the matches with a ``score``.
"""
from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection

from .models import COLUMNS, SearchDocument, SearchEntry
from .query import And, Node, Not, Or, Phrase, Term, to_fts5, words

# Which document columns a ``field:`` term searches.
FIELD_COLUMNS = {"title": "title", "description": "description", "keyword": "keyword",
                 "publisher": "publisher", "dictionary": "dictionary",
                 "field": "field_names field_text"}
# PostgreSQL weight labels of the document columns (A counts most).
PG_LABELS = {"title": "A", "keyword": "B", "publisher": "B", "creator": "B", "description": "C",
             "dictionary": "C", "field_names": "D", "field_text": "D", "extra": "D"}
Expand = Callable[[str, int], list[str]]
# PostgreSQL text search configurations (see _pg_ddl): English stemming without stop words,
# and the same over unaccent for highlights, so that ts_headline marks "Café" for "cafe"
# while showing the text as it is.
TEXT_CONFIG, HEADLINE_CONFIG = "search_english", "search_headline"
# Where the database marks a matched word; the text is HTML-escaped, then these become <em>.
OPEN, CLOSE = "\ue000", "\ue001"


def marked(text: str | None) -> str | None:
    """Highlighted text as HTML: the dataset's own text escaped, the matched words in <em>."""
    if text is None:
        return None
    return html.escape(text).replace(OPEN, "<em>").replace(CLOSE, "</em>")


def create_index(connection: Connection) -> None:
    """Create the index over ``search_documents`` as revision search_0001 made it."""
    for statement in (_SQLITE_DDL if connection.dialect.name == "sqlite" else _PG_DDL_0001):
        connection.execute(text(statement))


def drop_index(connection: Connection) -> None:
    """Drop what :func:`create_index` made but the tables."""
    for statement in (_SQLITE_DROP if connection.dialect.name == "sqlite" else _PG_DROP_0001):
        connection.execute(text(statement))


def move_vectors(connection: Connection) -> None:
    """PostgreSQL: move the vectors from ``search_documents`` to ``search_entries`` (revision
    search_0002; SQLite's index stays as it is). Entries written afterwards get theirs."""
    if connection.dialect.name != "sqlite":
        for statement in [*_PG_DROP_0001, *_PG_DDL]:
            connection.execute(text(statement))


def move_vectors_back(connection: Connection) -> None:
    """Undo :func:`move_vectors`, refilling the vectors of ``search_documents``."""
    if connection.dialect.name != "sqlite":
        for statement in [*_PG_DROP, *_PG_DDL_0001,
                          "UPDATE search_documents SET dataset_id = dataset_id"]:
            connection.execute(text(statement))


def _sqlite_ddl() -> list[str]:
    columns = ", ".join(COLUMNS)
    new = ", ".join(f"new.{c}" for c in COLUMNS)
    old = ", ".join(f"old.{c}" for c in COLUMNS)
    add = f"INSERT INTO search_fts(rowid, {columns}) VALUES (new.dataset_id, {new});"
    remove = (f"INSERT INTO search_fts(search_fts, rowid, {columns}) "
              f"VALUES ('delete', old.dataset_id, {old});")
    return [
        f"CREATE VIRTUAL TABLE search_fts USING fts5({columns}, content='search_documents', "
        "content_rowid='dataset_id', tokenize='porter unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN {add} END",
        f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN {remove} END",
        f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents "
        f"BEGIN {remove} {add} END",
    ]


def _vector(config: str, row: str) -> str:
    """The weighted vector of the document ``row`` as SQL."""
    return " || ".join(
        f"setweight(to_tsvector('{config}', public.unaccent(coalesce({row}.{c}, ''))), "
        f"'{label}')" for c, label in PG_LABELS.items())


_WORD_TYPES = "asciihword, asciiword, hword, hword_asciipart, hword_part, word"


def _pg_ddl() -> list[str]:
    return [
        "CREATE TEXT SEARCH DICTIONARY search_stem (TEMPLATE = snowball, Language = english)",
        f"CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = pg_catalog.english)",
        f"ALTER TEXT SEARCH CONFIGURATION {TEXT_CONFIG} ALTER MAPPING FOR {_WORD_TYPES} "
        "WITH search_stem",
        f"CREATE TEXT SEARCH CONFIGURATION {HEADLINE_CONFIG} (COPY = pg_catalog.english)",
        f"ALTER TEXT SEARCH CONFIGURATION {HEADLINE_CONFIG} ALTER MAPPING FOR {_WORD_TYPES} "
        "WITH public.unaccent, search_stem",
        "ALTER TABLE search_entries ADD COLUMN tsv tsvector",
        "CREATE INDEX ix_search_entries_tsv ON search_entries USING gin (tsv)",
        "CREATE FUNCTION search_entries_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"SELECT {_vector(TEXT_CONFIG, 'd')} INTO NEW.tsv FROM search_documents d "
        "WHERE d.dataset_id = NEW.dataset_id; RETURN NEW; END $$",
        "CREATE TRIGGER search_entries_tsv BEFORE INSERT OR UPDATE ON search_entries "
        "FOR EACH ROW EXECUTE FUNCTION search_entries_tsv()",
    ]


def _pg_ddl_0001() -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public",
        "ALTER TABLE search_documents ADD COLUMN tsv tsvector",
        "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
        "CREATE FUNCTION search_documents_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.tsv := {_vector('english', 'NEW')}; RETURN NEW; END $$",
        "CREATE TRIGGER search_documents_tsv BEFORE INSERT OR UPDATE ON search_documents "
        "FOR EACH ROW EXECUTE FUNCTION search_documents_tsv()",
        f"CREATE TEXT SEARCH CONFIGURATION {HEADLINE_CONFIG} (COPY = pg_catalog.english)",
        f"ALTER TEXT SEARCH CONFIGURATION {HEADLINE_CONFIG} ALTER MAPPING FOR {_WORD_TYPES} "
        "WITH public.unaccent, english_stem",
    ]


_SQLITE_DDL, _PG_DDL, _PG_DDL_0001 = _sqlite_ddl(), _pg_ddl(), _pg_ddl_0001()
_SQLITE_DROP = ["DROP TABLE IF EXISTS search_fts"]
_PG_DROP_0001 = ["DROP TRIGGER IF EXISTS search_documents_tsv ON search_documents",
                 "DROP FUNCTION IF EXISTS search_documents_tsv()",
                 "ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv",
                 f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {HEADLINE_CONFIG}"]
_PG_DROP = ["DROP TRIGGER IF EXISTS search_entries_tsv ON search_entries",
            "DROP FUNCTION IF EXISTS search_entries_tsv()",
            "ALTER TABLE search_entries DROP COLUMN IF EXISTS tsv",
            f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {HEADLINE_CONFIG}",
            f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {TEXT_CONFIG}",
            "DROP TEXT SEARCH DICTIONARY IF EXISTS search_stem"]


# Matching


class SqliteIndex:
    """FTS5: the tree compiles to one MATCH expression (a bound parameter)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = [float(weights.get(c, 1.0)) for c in COLUMNS]

    def found(self, node: Node, expand: Expand, columns: Sequence) -> Select | None:
        """``columns`` of the entries of the documents matching ``node``, and their ``score``;
        None when nothing can match."""
        expression = to_fts5(node, expand, FIELD_COLUMNS)
        if expression is None:
            return None
        weights = ", ".join(str(w) for w in self.weights)
        hits = (text(f"SELECT rowid AS dataset_id, -bm25(search_fts, {weights}) AS score "
                     "FROM search_fts WHERE search_fts MATCH :match")
                .bindparams(match=expression)
                .columns(literal_column("dataset_id"), literal_column("score"))
                .subquery("hits"))
        return (select(*columns, hits.c.score)
                .join(hits, hits.c.dataset_id == SearchEntry.dataset_id))

    def highlights(self, connection: Connection, node: Node, expand: Expand,
                   ids: list[int]) -> dict[int, dict]:
        """Title and description of each of ``ids`` with the matched words marked."""
        expression = to_fts5(node, expand, FIELD_COLUMNS)
        if expression is None or not ids:
            return {}
        # FTS5 looks each rowid up on its own, and for a prefix it gathers the words of the
        # prefix again at each look-up: then one pass over the matches costs less.
        rowid = "+rowid" if _prefixes(node) else "rowid"
        rows = connection.execute(text(
            "SELECT rowid, highlight(search_fts, 0, :open, :close), "
            "snippet(search_fts, 1, :open, :close, '…', 24) FROM search_fts "
            f"WHERE search_fts MATCH :match AND {rowid} IN :ids").bindparams(
                bindparam("ids", expanding=True)),
            {"match": expression, "ids": ids, "open": OPEN, "close": CLOSE}).all()
        return {row[0]: {"catalogue__title": marked(row[1]),
                         "catalogue__description": marked(row[2])} for row in rows}


class PostgresIndex:
    """PostgreSQL: the tree compiles to ``tsvector @@ tsquery`` conditions, every word quoted
    after ``unaccent`` (bound parameters only)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        top = {label: max(float(weights.get(c, 1.0)) for c, of in PG_LABELS.items() if of == label)
               for label in "ABCD"}
        scale = max(top.values()) or 1.0
        self.rank_weights = "{" + ",".join(f"{top[label] / scale:.4f}" for label in "DCBA") + "}"

    def found(self, node: Node, expand: Expand, columns: Sequence) -> Select | None:
        """``columns`` of the entries of the documents matching ``node``, and their ``score``;
        None when nothing can match."""
        condition = self._compile(node, expand)
        if condition is None or not words(node):
            return None
        rank = func.ts_rank(text(f"'{self.rank_weights}'::float4[]"), TSV,
                            _once(func.to_tsquery(TEXT_CONFIG, self._any(node, expand))))
        found = select(*columns, rank.label("score")).where(condition)
        if _fields(node):  # field: terms read the document's own columns
            found = found.join(SearchDocument,
                               SearchDocument.dataset_id == SearchEntry.dataset_id)
        return found

    def highlights(self, connection: Connection, node: Node, expand: Expand,
                   ids: list[int]) -> dict[int, dict]:
        if not words(node) or not ids:
            return {}
        query = _once(func.to_tsquery(HEADLINE_CONFIG, self._any(node, expand)))
        marks = f'StartSel="{OPEN}", StopSel="{CLOSE}"'
        options = f"{marks}, MaxWords=35, MinWords=15"
        rows = connection.execute(select(
            SearchDocument.dataset_id,
            func.ts_headline(HEADLINE_CONFIG, SearchDocument.title, query,
                             f"HighlightAll=true, {marks}"),
            func.ts_headline(HEADLINE_CONFIG, SearchDocument.description, query, options),
        ).where(SearchDocument.dataset_id.in_(ids))).all()
        return {row[0]: {"catalogue__title": marked(row[1]),
                         "catalogue__description": marked(row[2])} for row in rows}

    def _compile(self, node: Node, expand: Expand) -> ColumnElement | None:
        """The condition of ``node``: what has no ``field:`` term is one tsquery (so stop words
        drop out of it, and the GIN index serves it); ``field:`` terms match their columns."""
        query = self._query(node, expand)
        if query is not None:
            return TSV.bool_op("@@")(_once(query))
        if isinstance(node, (Term, Phrase)):
            return self._field_match(node, expand)
        if isinstance(node, Not):
            inner = self._compile(node.node, expand)
            return None if inner is None else not_(inner)
        if isinstance(node, Or):
            return or_(*(self._compile(child, expand) for child in node.nodes))
        plain = [q for q in (self._query(c, expand) for c in node.nodes) if q is not None]
        rest = [self._compile(c, expand) for c in node.nodes if self._query(c, expand) is None]
        if plain:
            rest.insert(0, TSV.bool_op("@@")(_once(functools.reduce(func.tsquery_and, plain))))
        return and_(*rest)

    def _query(self, node: Node, expand: Expand) -> ColumnElement | None:
        """``node`` as one tsquery, or None if it holds a ``field:`` term."""
        if isinstance(node, Term):
            return None if node.field else func.to_tsquery(TEXT_CONFIG, self._terms(node, expand))
        if isinstance(node, Phrase):
            return None if node.field else self._phrase(node)
        if isinstance(node, Not):
            inner = self._query(node.node, expand)
            return None if inner is None else func.tsquery_not(inner)
        parts = [self._query(child, expand) for child in node.nodes]
        if any(part is None for part in parts):
            return None
        return functools.reduce(func.tsquery_and if isinstance(node, And) else func.tsquery_or,
                                parts)

    def _field_match(self, node: Term | Phrase, expand: Expand) -> ColumnElement:
        columns = [getattr(SearchDocument, c) for c in FIELD_COLUMNS[node.field].split()]
        document = func.to_tsvector(TEXT_CONFIG,
                                    func.public.unaccent(func.concat_ws(" ", *columns)))
        query = (self._phrase(node) if isinstance(node, Phrase)
                 else func.to_tsquery(TEXT_CONFIG, self._terms(node, expand)))
        return document.bool_op("@@")(_once(query))

    @staticmethod
    def _phrase(node: Phrase) -> ColumnElement:
        return func.phraseto_tsquery(TEXT_CONFIG, func.public.unaccent(
            bindparam("w", " ".join(node.words), unique=True)))

    def _terms(self, term: Term, expand: Expand) -> ColumnElement:
        """The to_tsquery text of a term: the word, or its fuzzy variants, ORed."""
        variants = [term.text] + (expand(term.text, term.fuzzy) if term.fuzzy else [])
        return func.concat_ws(" | ", *(_operand(v, term.prefix) for v in variants))

    def _any(self, node: Node, expand: Expand) -> ColumnElement:
        """The to_tsquery text of any positive word of ``node`` (prefixes and fuzzy variants
        included): what ranks and what is highlighted."""
        def operands(node: Node):
            if isinstance(node, Term):
                yield self._terms(node, expand)
            elif isinstance(node, Phrase):
                yield from (_operand(word) for word in node.words)
            elif isinstance(node, (And, Or)):
                for child in node.nodes:
                    yield from operands(child)
        return func.concat_ws(" | ", *operands(node))


TSV = literal_column("search_entries.tsv")


def _once(query: ColumnElement) -> ColumnElement:
    """``query`` computed once per statement, not once per row (``unaccent`` is not constant
    for the planner, so a tsquery built with it would be parsed again for every row)."""
    return select(query).scalar_subquery()


def _fields(node: Node | None) -> bool:
    """Whether ``node`` holds a ``field:`` term or phrase."""
    return _holds(node, lambda leaf: leaf.field is not None)


def _prefixes(node: Node | None) -> bool:
    """Whether ``node`` holds a prefix term."""
    return _holds(node, lambda leaf: isinstance(leaf, Term) and leaf.prefix)


def _holds(node: Node | None, test: Callable[[Term | Phrase], bool]) -> bool:
    if isinstance(node, (Term, Phrase)):
        return test(node)
    if isinstance(node, Not):
        return _holds(node.node, test)
    return isinstance(node, (And, Or)) and any(_holds(child, test) for child in node.nodes)


def _operand(word: str, prefix: bool = False) -> ColumnElement:
    """``word`` as a to_tsquery operand: accents removed, then quoted, so that what unaccent
    makes of it (``x⑴`` is ``x(1)``, ``aʼb`` is ``a'b``) is never tsquery syntax."""
    folded = func.public.unaccent(bindparam("w", word, unique=True))
    quoted = func.replace(func.replace(folded, "\\", "\\\\"), "'", "''")
    return func.concat("'", quoted, "':*" if prefix else "'")


def index_for(dialect: str, weights: Mapping[str, float]):
    """The index of a database dialect."""
    return SqliteIndex(weights) if dialect == "sqlite" else PostgresIndex(weights)
