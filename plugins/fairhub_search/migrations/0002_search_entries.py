"""Search: entries (visibility, facet values and, on PostgreSQL, the vector per dataset), facet values, letter pairs of words

Revision ID: search_0002
Revises: search_0001
Create Date: 2026-11-27
"""
import hashlib

import sqlalchemy as sa
from alembic import op


revision = 'search_0002'
down_revision = 'search_0001'
branch_labels = None
depends_on = None

BATCH = 1000

# What this revision builds, as it builds it (frozen: the plugin's own code may change, this
# may not). PostgreSQL: the vector moves from search_documents to search_entries, with stop
# words kept; SQLite's index stays as it is.
PG_LABELS = {'title': 'A', 'keyword': 'B', 'publisher': 'B', 'creator': 'B', 'description': 'C',
             'dictionary': 'C', 'field_names': 'D', 'field_text': 'D', 'extra': 'D'}
WORD_TYPES = 'asciihword, asciiword, hword, hword_asciipart, hword_part, word'
ENTRY_COLUMNS = {'keyword': 'keywords', 'publisher': 'facets', 'license': 'facets',
                 'accessRights': 'facets', 'visibility': 'facets'}


def vector(config, row):
    """The weighted vector of the document ``row`` as SQL."""
    return ' || '.join(
        f"setweight(to_tsvector('{config}', public.unaccent(coalesce({row}.{c}, ''))), "
        f"'{label}')" for c, label in PG_LABELS.items())


def pg_entries_ddl():
    return [
        'CREATE TEXT SEARCH DICTIONARY search_stem (TEMPLATE = snowball, Language = english)',
        'CREATE TEXT SEARCH CONFIGURATION search_english (COPY = pg_catalog.english)',
        f'ALTER TEXT SEARCH CONFIGURATION search_english ALTER MAPPING FOR {WORD_TYPES} '
        'WITH search_stem',
        'CREATE TEXT SEARCH CONFIGURATION search_headline (COPY = pg_catalog.english)',
        f'ALTER TEXT SEARCH CONFIGURATION search_headline ALTER MAPPING FOR {WORD_TYPES} '
        'WITH public.unaccent, search_stem',
        'ALTER TABLE search_entries ADD COLUMN tsv tsvector',
        'CREATE INDEX ix_search_entries_tsv ON search_entries USING gin (tsv)',
        'CREATE FUNCTION search_entries_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
        f"SELECT {vector('search_english', 'd')} INTO NEW.tsv FROM search_documents d "
        'WHERE d.dataset_id = NEW.dataset_id; RETURN NEW; END $$',
        'CREATE TRIGGER search_entries_tsv BEFORE INSERT OR UPDATE ON search_entries '
        'FOR EACH ROW EXECUTE FUNCTION search_entries_tsv()',
    ]


def pg_documents_ddl():
    """The vector of search_documents as revision search_0001 made it."""
    return [
        'CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public',
        'ALTER TABLE search_documents ADD COLUMN tsv tsvector',
        'CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)',
        'CREATE FUNCTION search_documents_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ '
        f"BEGIN NEW.tsv := {vector('english', 'NEW')}; RETURN NEW; END $$",
        'CREATE TRIGGER search_documents_tsv BEFORE INSERT OR UPDATE ON search_documents '
        'FOR EACH ROW EXECUTE FUNCTION search_documents_tsv()',
        'CREATE TEXT SEARCH CONFIGURATION search_headline (COPY = pg_catalog.english)',
        f'ALTER TEXT SEARCH CONFIGURATION search_headline ALTER MAPPING FOR {WORD_TYPES} '
        'WITH public.unaccent, english_stem',
    ]


PG_DROP_DOCUMENTS = ['DROP TRIGGER IF EXISTS search_documents_tsv ON search_documents',
                     'DROP FUNCTION IF EXISTS search_documents_tsv()',
                     'ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv',
                     'DROP TEXT SEARCH CONFIGURATION IF EXISTS search_headline']
PG_DROP_ENTRIES = ['DROP TRIGGER IF EXISTS search_entries_tsv ON search_entries',
                   'DROP FUNCTION IF EXISTS search_entries_tsv()',
                   'ALTER TABLE search_entries DROP COLUMN IF EXISTS tsv',
                   'DROP TEXT SEARCH CONFIGURATION IF EXISTS search_headline',
                   'DROP TEXT SEARCH CONFIGURATION IF EXISTS search_english',
                   'DROP TEXT SEARCH DICTIONARY IF EXISTS search_stem']


def run_on_postgresql(statements):
    if op.get_context().dialect.name != 'sqlite':
        for statement in statements:
            op.execute(statement)


def facet_values(visibility, catalogue):
    """A dataset's ``(facet, value)`` pairs, each once."""
    publisher = catalogue.get('publisher')
    values = {'keyword': catalogue.get('keyword') or (),
              'publisher': [publisher.get('name')] if isinstance(publisher, dict) else (),
              'license': [catalogue.get('license')],
              'accessRights': [catalogue.get('accessRights')],
              'visibility': [visibility]}
    return list(dict.fromkeys((facet, value) for facet, found in values.items()
                              for value in found if isinstance(value, str)))


def value_key(facet, value):
    """The key of a facet's value: a hash of both."""
    text = f'{facet}\x00{value}'.encode('utf-8', 'surrogatepass')
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def entry(dataset_id, visibility, value_ids):
    """The search entry of a dataset: its visibility and the ids of its facet values."""
    columns = {'facets': [], 'keywords': []}
    for facet, value_id in value_ids:
        columns[ENTRY_COLUMNS[facet]].append(str(value_id))
    return {'dataset_id': dataset_id, 'visibility': visibility,
            **{column: f" {' '.join(ids)} " for column, ids in columns.items()}}


def grams(word):
    """The pairs of adjacent letters of ``^word$``."""
    padded = f'^{word}$'
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


def upgrade():
    entries = op.create_table('search_entries',
    sa.Column('dataset_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('facets', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['search_documents.dataset_id'], name=op.f('fk_search_entries_dataset_id_search_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_search_entries'))
    )
    values = op.create_table('search_facet_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('facet', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_facet_values')),
    sa.UniqueConstraint('key', name=op.f('uq_search_facet_values_key')),
    sqlite_autoincrement=True
    )
    letter_pairs = op.create_table('search_grams',
    sa.Column('gram', sa.String(length=2), nullable=False),
    sa.Column('word', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('gram', 'word', name=op.f('pk_search_grams')),
    sqlite_with_rowid=False
    )
    run_on_postgresql([*PG_DROP_DOCUMENTS, *pg_entries_ddl()])
    _fill(op.get_bind(), entries, values, letter_pairs)


def _fill(connection, entries, values, letter_pairs):
    """Index what is already there: every dataset's entry, every word's letter pairs."""
    datasets = sa.table('datasets', sa.column('id', sa.Integer), sa.column('visibility'),
                        sa.column('catalogue', sa.JSON))
    ids, last = {}, 0
    while rows := connection.execute(sa.select(datasets).where(datasets.c.id > last)
                                     .order_by(datasets.c.id).limit(BATCH)).all():
        facets = {row.id: facet_values(row.visibility, row.catalogue) for row in rows}
        new = {value_key(*pair): pair for pairs in facets.values() for pair in pairs
               if pair not in ids}
        if new:
            before = max(ids.values(), default=0)
            connection.execute(values.insert(), [{'key': k, 'facet': f, 'value': v}
                                                 for k, (f, v) in sorted(new.items())])
            found = sa.select(values.c.key, values.c.id).where(values.c.id > before)
            ids.update((new[key], id_) for key, id_ in connection.execute(found))
        connection.execute(entries.insert(), [
            entry(row.id, row.visibility, [(pair[0], ids[pair]) for pair in facets[row.id]])
            for row in rows])
        last = rows[-1].id
    words = sa.table('search_words', sa.column('word', sa.String))
    last = ''
    while found := connection.execute(sa.select(words.c.word).where(words.c.word > last)
                                      .order_by(words.c.word).limit(BATCH)).scalars().all():
        connection.execute(letter_pairs.insert(), [{'gram': g, 'word': w} for w in found
                                            for g in sorted(grams(w))])
        last = found[-1]


def downgrade():
    # The vectors of search_documents are refilled by touching every document.
    run_on_postgresql([*PG_DROP_ENTRIES, *pg_documents_ddl(),
                       'UPDATE search_documents SET dataset_id = dataset_id'])
    op.drop_table('search_grams')
    op.drop_table('search_facet_values')
    op.drop_table('search_entries')
